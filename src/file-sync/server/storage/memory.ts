/**
 * Storage in memory, for tests and for trying the file API without any bucket. It keeps the
 * rules R2 keeps (./r2.ts): a put with a SHA-256 refuses other bytes, writes can be conditional
 * on an etag, and multipart parts must be of one size (at least `minPartBytes`) but the last.
 */
import { StorageError, type FileStorage, type PutOptions, type StoredObject, type UploadedPart } from './types.ts'

interface Entry {
  bytes: Uint8Array
  object: StoredObject
}

interface Upload {
  key: string
  contentType: string
  customMetadata: Record<string, string>
  parts: Map<number, { bytes: Uint8Array; etag: string }>
}

const readAll = async (body: ReadableStream<Uint8Array> | Uint8Array | string): Promise<Uint8Array> => {
  if (typeof body === 'string') return new TextEncoder().encode(body)
  if (body instanceof Uint8Array) return body.slice()
  return new Uint8Array(await new Response(body).arrayBuffer())
}

const sha256Hex = async (bytes: Uint8Array): Promise<string> =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))].map((byte) => byte.toString(16).padStart(2, '0')).join('')

const streamOf = (bytes: Uint8Array): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes)
      controller.close()
    },
  })

export const memoryStorage = ({
  minPartBytes = 5 * 1024 * 1024,
  maxPutBytes,
}: {
  minPartBytes?: number
  maxPutBytes?: number
} = {}): FileStorage & {
  /** Every key held, sorted: what a test checks. */
  keys(): string[]
} => {
  const objects = new Map<string, Entry>()
  const uploads = new Map<string, Upload>()

  const store = (key: string, bytes: Uint8Array, contentType: string, customMetadata: Record<string, string>): StoredObject => {
    const object: StoredObject = { key, size: bytes.byteLength, uploaded: new Date(), contentType, customMetadata, etag: crypto.randomUUID() }
    objects.set(key, { bytes, object })
    return object
  }

  const uploadOf = (key: string, uploadId: string): Upload => {
    const upload = uploads.get(uploadId)
    if (upload === undefined || upload.key !== key) throw new StorageError('no-such-upload', `no upload ${uploadId} for ${key}`)
    return upload
  }

  return {
    ...(maxPutBytes === undefined ? {} : { maxPutBytes }),
    keys: () => [...objects.keys()].sort(),

    async head(key) {
      return objects.get(key)?.object ?? null
    },

    async get(key, { range } = {}) {
      const entry = objects.get(key)
      if (entry === undefined) return null
      const bytes = range === undefined ? entry.bytes : entry.bytes.subarray(range.offset, range.offset + range.length)
      return { ...entry.object, body: streamOf(bytes.slice()) }
    },

    async put(key, body, { sha256, contentType, customMetadata, onlyIfEtag }: PutOptions = {}) {
      const bytes = await readAll(body)
      if (sha256 !== undefined && (await sha256Hex(bytes)) !== sha256) {
        throw new StorageError('content-mismatch', 'content does not match its SHA-256')
      }
      if (onlyIfEtag !== undefined && objects.get(key)?.object.etag !== onlyIfEtag) return null
      return store(key, bytes, contentType ?? 'application/octet-stream', customMetadata ?? {})
    },

    async delete(keys) {
      for (const key of [keys].flat()) objects.delete(key)
    },

    async list(prefix, { cursor, limit = 1000, startAfter } = {}) {
      const after = cursor ?? startAfter
      const matching = [...objects.keys()].filter((key) => key.startsWith(prefix) && (after === undefined || key > after)).sort()
      const page = matching.slice(0, limit)
      const last = page.at(-1)
      return {
        objects: page.map((key) => (objects.get(key) as Entry).object),
        ...(matching.length > limit && last !== undefined ? { cursor: last } : {}),
      }
    },

    async createMultipartUpload(key, { contentType, customMetadata }) {
      const uploadId = crypto.randomUUID()
      uploads.set(uploadId, { key, contentType, customMetadata, parts: new Map() })
      return { uploadId }
    },

    async uploadPart(key, uploadId, partNumber, body) {
      const upload = uploadOf(key, uploadId)
      const etag = crypto.randomUUID()
      upload.parts.set(partNumber, { bytes: await readAll(body), etag })
      return { partNumber, etag }
    },

    async completeMultipartUpload(key, uploadId, parts: UploadedPart[]) {
      const upload = uploadOf(key, uploadId)
      const chosen = [...parts]
        .sort((a, b) => a.partNumber - b.partNumber)
        .map((part) => {
          const stored = upload.parts.get(part.partNumber)
          if (stored === undefined || stored.etag !== part.etag)
            throw new StorageError('invalid-part', `part ${part.partNumber} is not among the uploaded parts`)
          return stored.bytes
        })
      const size = chosen[0]?.byteLength ?? 0
      chosen.forEach((bytes, index) => {
        const last = index === chosen.length - 1
        if (!last && bytes.byteLength < minPartBytes) throw new StorageError('part-too-small', `every part but the last must be at least ${minPartBytes} bytes`)
        if (last ? bytes.byteLength > size : bytes.byteLength !== size) {
          throw new StorageError('uneven-parts', 'every part but the last must have the same size, and the last may not be larger')
        }
      })
      const joined = new Uint8Array(chosen.reduce((total, bytes) => total + bytes.byteLength, 0))
      let at = 0
      for (const bytes of chosen) {
        joined.set(bytes, at)
        at += bytes.byteLength
      }
      uploads.delete(uploadId)
      return store(key, joined, upload.contentType, upload.customMetadata)
    },

    async abortMultipartUpload(_key, uploadId) {
      uploads.delete(uploadId)
    },
  }
}
