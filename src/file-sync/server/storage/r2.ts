/**
 * The default storage: a Cloudflare R2 bucket (the `FILES_BUCKET` binding).
 *
 * R2 checks a SHA-256 itself on a single put, reads ranges, writes conditionally on an etag and
 * takes multipart uploads (parts of at least 5 MiB but the last, all the same size). Its refusals
 * come as error codes, turned here into StorageErrors (./types.ts).
 */
import { R2_ERROR, r2ErrorCode } from '../r2-errors.ts'
import { StorageError, type FileStorage, type StoredObject, type StoredObjectBody } from './types.ts'

const describe = (object: R2Object): StoredObject => ({
  key: object.key,
  size: object.size,
  uploaded: object.uploaded,
  contentType: object.httpMetadata?.contentType ?? 'application/octet-stream',
  customMetadata: object.customMetadata ?? {},
  etag: object.etag,
})

const refusal = (error: unknown): unknown => {
  switch (r2ErrorCode(error)) {
    case R2_ERROR.badDigest:
      return new StorageError('content-mismatch', 'content does not match its SHA-256')
    case R2_ERROR.noSuchUpload:
      return new StorageError('no-such-upload', 'no upload in progress with this uploadId for this key')
    case R2_ERROR.invalidPart:
      return new StorageError('invalid-part', 'a part is not among the uploaded parts')
    case R2_ERROR.entityTooSmall:
      return new StorageError('part-too-small', 'every part but the last must be at least 5 MiB (5242880 bytes)')
    case R2_ERROR.badUpload:
      return new StorageError('uneven-parts', 'every part but the last must have the same size, and the last may not be larger')
    default:
      return error
  }
}

const refused = (error: unknown): never => {
  throw refusal(error)
}

/** R2's largest single put: 5 GiB less 5 MiB. */
export const R2_MAX_PUT_BYTES = 5 * 1024 ** 3 - 5 * 1024 ** 2

/** `maxPutBytes` lower than R2's own lets a test publish in parts without 5 GiB of bytes. */
export const r2Storage = (bucket: R2Bucket, { maxPutBytes = R2_MAX_PUT_BYTES }: { maxPutBytes?: number } = {}): FileStorage => ({
  maxPutBytes,

  async head(key) {
    const object = await bucket.head(key)
    return object === null ? null : describe(object)
  },

  async get(key, { range } = {}) {
    let object: R2ObjectBody | null
    try {
      object = await bucket.get(key, range === undefined ? undefined : { range })
    } catch (error) {
      // A zero-byte object has no range to ask for: R2 refuses one (local R2 with an unspecified
      // error). It is read whole instead: there is nothing to read.
      if (range === undefined || (await bucket.head(key))?.size !== 0) throw error
      object = await bucket.get(key)
    }
    return object === null ? null : ({ ...describe(object), body: object.body } satisfies StoredObjectBody)
  },

  async put(key, body, { sha256, contentType, customMetadata, onlyIfEtag } = {}) {
    try {
      const stored = await bucket.put(key, body, {
        ...(sha256 === undefined ? {} : { sha256 }),
        ...(contentType === undefined ? {} : { httpMetadata: { contentType } }),
        ...(customMetadata === undefined ? {} : { customMetadata }),
        ...(onlyIfEtag === undefined ? {} : { onlyIf: { etagMatches: onlyIfEtag } }),
      })
      return stored === null ? null : describe(stored)
    } catch (error) {
      return refused(error)
    }
  },

  delete: (keys) => bucket.delete(keys),

  async list(prefix, { cursor, limit, startAfter } = {}) {
    // `include` is in R2's list API (for compatibility dates from 2022-08-04 on), not in the
    // default entry point of workers-types.
    const options = {
      prefix,
      ...(cursor === undefined ? {} : { cursor }),
      ...(limit === undefined ? {} : { limit }),
      ...(startAfter === undefined || cursor !== undefined ? {} : { startAfter }),
      include: ['httpMetadata', 'customMetadata'],
    } as R2ListOptions
    const page = await bucket.list(options)
    return { objects: page.objects.map(describe), ...(page.truncated ? { cursor: page.cursor } : {}) }
  },

  async createMultipartUpload(key, { contentType, customMetadata }) {
    const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType }, customMetadata })
    return { uploadId: upload.uploadId }
  },

  async uploadPart(key, uploadId, partNumber, body) {
    try {
      const part = await bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, body)
      return { partNumber: part.partNumber, etag: part.etag }
    } catch (error) {
      return refused(error)
    }
  },

  async completeMultipartUpload(key, uploadId, parts) {
    try {
      return describe(await bucket.resumeMultipartUpload(key, uploadId).complete(parts))
    } catch (error) {
      return refused(error)
    }
  },

  async abortMultipartUpload(key, uploadId) {
    try {
      await bucket.resumeMultipartUpload(key, uploadId).abort()
    } catch (error) {
      // An upload that is gone is what an abort wants; Miniflare answers its own 500 (internalError)
      // for an id it never issued. R2 aborts forgotten uploads itself after 7 days.
      const code = r2ErrorCode(error)
      if (code !== R2_ERROR.noSuchUpload && code !== R2_ERROR.internalError) throw error
    }
  },
})
