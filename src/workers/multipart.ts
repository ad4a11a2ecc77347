/**
 * Multipart uploads, for files larger than one request may carry
 * (MAX_UPLOAD_BYTES), up to MAX_FILE_BYTES:
 *
 *   POST   …/uploads                            { size, mimeType } → 201 { uploadId }
 *   PUT    …/uploads/:uploadId/parts/:n         the part's bytes   → 200 { partNumber, etag }
 *   POST   …/uploads/:uploadId                  { parts }          → 201 { key, size, created: true, verified }
 *   DELETE …/uploads/:uploadId                                     → 204
 *
 * Storage checks a SHA-256 only on a single put (R2 and S3 alike), never over a multipart upload: so
 * the Worker hashes the parts as they arrive, one after the other
 * (./upload-hash), and completing compares that SHA-256 with the key's. When the
 * parts did not come in order, completing reads the stored object once through
 * SHA-256 instead. Either way, an object that is not the content its key names
 * is deleted. Unfinished uploads are aborted by R2 after 7 days (their hash
 * state under `.upload-hashes/` stays until a lifecycle rule removes it: see
 * the README).
 */
import { storedFile, MAX_PART_NUMBER, type FileKey } from './file-routes.ts'
import type { FileApi } from './files.ts'
import { errorResponse, json, readJson } from './http.ts'
import { declaredBodySize, maxFileBytes } from './limits.ts'
import { isMediaType, maxMediaTypeLength, OCTET_STREAM } from './media-type.ts'
import { clearPendingDeletion } from './pending-deletion.ts'
import { storedBytes } from './stored-bytes.ts'
import { isStorageError, type StoredObject, type UploadedPart } from './storage/types.ts'
import { digestHex, digestSink } from './stream-digest.ts'
import { breakChain, chainedDigest, chainKey, dropChain, hashPart, startChain } from './upload-hash.ts'

// 10,000 parts with their etags fit well below this.
const MAX_JSON_BYTES = 4 * 1024 * 1024
/**
 * Parts up to this size are hashed as they arrive (./upload-hash), which holds one part in the
 * Worker's memory (128 MB in all); larger ones stream to R2 unread, and completing reads the
 * object back instead. The page sends 16 MiB parts.
 */
const MAX_HASHED_PART_BYTES = 32 * 1024 * 1024
/**
 * At most this many bytes of parts are held whole at once in one isolate, across all its
 * requests: a part that would go over it streams to R2 unread, as a larger one does (completing
 * then reads the object back). Parallel parts, from many devices or one, cannot exhaust the
 * isolate's memory and fail everyone's requests on it.
 */
export const HASHING_BUDGET_BYTES = 48 * 1024 * 1024
let heldForHashing = 0
// Kept on the upload, and so on the object it completes into.
const DECLARED_SIZE = 'declaredSize'

export const createUpload = async (request: Request, { env, storage }: FileApi, file: FileKey): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const declared = parseNewUpload(body.value)
  if (typeof declared === 'string') return errorResponse(400, declared)
  const limit = maxFileBytes(env)
  if (declared.size > limit) {
    return errorResponse(413, `file of ${declared.size} bytes is over the file size limit of ${limit} bytes`)
  }

  const existing = await storage.head(file.key)
  if (existing !== null) {
    // Another file of the store has this content now: it is no longer to be deleted.
    await clearPendingDeletion(storage, file)
    return storedFile(file, existing.size, false)
  }
  const upload = await storage.createMultipartUpload(file.key, {
    contentType: declared.mimeType,
    customMetadata: { [DECLARED_SIZE]: String(declared.size) },
  })
  await startChain(storage, chainKey(file.key, upload.uploadId))
  return json({ uploadId: upload.uploadId }, 201)
}

export const uploadPart = async (
  request: Request,
  { env, storage }: FileApi,
  file: FileKey,
  uploadId: string,
  partNumber: number,
): Promise<Response> => {
  const size = declaredBodySize(request, env, `part ${partNumber}`)
  if (size instanceof Response) return size
  // Taken before any wait, so that parts arriving together count each other.
  const holdWhole = size <= MAX_HASHED_PART_BYTES && heldForHashing + size <= HASHING_BUDGET_BYTES
  if (holdWhole) heldForHashing += size
  try {
    const chain = chainKey(file.key, uploadId)
    // A part that is not hashed must not leave a chain that claims other bytes for its place:
    // the chain goes first (and if that fails too, so does this request, before storing anything).
    const hashing = holdWhole
      ? await hashPart(storage, chain, partNumber).catch(() => breakChain(storage, chain))
      : await breakChain(storage, chain)
    if (hashing === undefined) {
      // Streamed into R2 as it arrives; its Content-Length gives R2 the size it needs.
      const part = await storage.uploadPart(file.key, uploadId, partNumber, request.body ?? new Uint8Array())
      return json({ partNumber: part.partNumber, etag: part.etag })
    }
    // Read whole, hashed, then stored: the part passes through JavaScript once, in one piece.
    // Read chunk by chunk instead (into a buffer kept between parts, or through a hashing
    // stream), workerd grew by 330 to 345 MiB over 1 GiB of parts, against 238 MiB this way
    // and 132 MiB for parts not hashed at all (scripts/worker-memory.ts).
    const bytes = new Uint8Array(await request.arrayBuffer())
    if (bytes.byteLength !== size) return errorResponse(400, `part ${partNumber} has ${bytes.byteLength} bytes, not its Content-Length of ${size}`)
    hashing.update(bytes)
    const part = await storage.uploadPart(file.key, uploadId, partNumber, bytes)
    // Not moved (R2 failing): the chain stays before this part, which it then does not claim.
    await hashing.stored(part.etag).catch(() => {})
    return json({ partNumber: part.partNumber, etag: part.etag })
  } catch (error) {
    return refusal(error, file)
  } finally {
    if (holdWhole) heldForHashing -= size
  }
}

export const completeUpload = async (request: Request, { storage }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const parts = parseParts(body.value)
  if (typeof parts === 'string') return errorResponse(400, parts)
  const chain = chainKey(file.key, uploadId)

  // Another device finished the same content first: this upload is not needed.
  const existing = await storage.head(file.key)
  if (existing !== null) {
    await storage.abortMultipartUpload(file.key, uploadId)
    await dropChain(storage, chain)
    await clearPendingDeletion(storage, file)
    return storedFile(file, existing.size, false)
  }

  let object: StoredObject
  try {
    object = await storage.completeMultipartUpload(file.key, uploadId, parts)
  } catch (error) {
    // Local R2 answers an id it never issued with its own internal error, where R2 says there is
    // no such upload. An upload this API started has its hash chain until it ends: without one,
    // the upload is unknown (404, which a client does not retry), not a failure of the server.
    if (!isStorageError(error) && (await storage.head(chain)) === null) return unknownUpload(file)
    return refusal(error, file)
  }
  // Until verified, the key holds bytes that may not be what it names (readers check the
  // hash of what they download): they go on a mismatch, and on any error while checking.
  let verified = false
  try {
    // Read once the upload is complete: no part can change after that.
    // A chain that cannot be read only means reading the object back.
    const hashedParts = await chainedDigest(storage, chain, parts, object.size).catch(() => undefined)
    const mismatch = await verify(storage, file, object, hashedParts)
    if (mismatch !== undefined) return errorResponse(400, `${mismatch}; nothing was stored`)
    verified = true
    // How: from the parts as they arrived, or by reading the object back (they came out of order).
    return storedFile(file, object.size, true, { verified: hashedParts === file.sha256 ? 'as-received' : 'read-back' })
  } finally {
    if (!verified) await storage.delete(file.key)
    await dropChain(storage, chain)
  }
}

/** Idempotent: an upload that is unknown, aborted or completed is answered 204 too. */
export const abortUpload = async ({ storage }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
  await storage.abortMultipartUpload(file.key, uploadId)
  await dropChain(storage, chainKey(file.key, uploadId))
  return new Response(null, { status: 204 })
}

/**
 * The size declared when the upload started, then the SHA-256 the key names:
 * the reason it does not match, or undefined. The SHA-256 is the one of the
 * parts as they arrived when that covers the whole object; otherwise (and to be
 * sure, when that one does not match) the object is read once, streamed in
 * constant memory (./stream-digest), which costs CPU time on Cloudflare (see README).
 */
const verify = async (storage: FileApi['storage'], file: FileKey, object: StoredObject, hashedParts: string | undefined): Promise<string | undefined> => {
  const declaredSize = object.customMetadata[DECLARED_SIZE]
  if (declaredSize !== String(object.size)) {
    return `file of ${object.size} bytes does not match its declared size of ${declaredSize ?? 'unknown'} bytes`
  }
  if (hashedParts === file.sha256) return undefined
  // In windows (./r2-windows): local R2 would otherwise read the whole object ahead into memory.
  const stored = storedBytes(storage, file.key, { offset: 0, length: object.size })
  if ((await digestHex(stored, digestSink())) !== file.sha256) {
    return 'content does not match its SHA-256 (the last path segment)'
  }
  return undefined
}

const unknownUpload = (file: FileKey): Response =>
  errorResponse(404, `no upload in progress with this uploadId for ${file.key} (aborted, completed or expired): start a new one`)

const refusal = (error: unknown, file: FileKey): Response => {
  if (!isStorageError(error)) throw error
  switch (error.code) {
    case 'no-such-upload':
      return unknownUpload(file)
    case 'invalid-part':
      return errorResponse(400, 'a part is not among the uploaded parts: its partNumber or etag is wrong, or it was never uploaded')
    case 'part-too-small':
    case 'uneven-parts':
    case 'content-mismatch':
      return errorResponse(400, error.message)
  }
}

const parseNewUpload = (body: unknown): { size: number; mimeType: string } | string => {
  if (typeof body !== 'object' || body === null) return 'body must be { "size": <bytes>, "mimeType": "<type>" }'
  const { size, mimeType } = body as { size?: unknown; mimeType?: unknown }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return '"size" must be the file\'s size in bytes'
  if (mimeType === undefined || mimeType === '') return { size, mimeType: OCTET_STREAM }
  if (!isMediaType(mimeType)) {
    return `"mimeType" must be a media type (type/subtype, optional parameters, ASCII without control characters) of at most ${maxMediaTypeLength} characters`
  }
  return { size, mimeType }
}

const parseParts = (body: unknown): UploadedPart[] | string => {
  const list = typeof body === 'object' && body !== null ? (body as { parts?: unknown }).parts : undefined
  const shape = `body must be { "parts": [{ "partNumber": <1-${MAX_PART_NUMBER}>, "etag": "<etag>" }, ...] }, each part once`
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PART_NUMBER) return shape
  const parts = (list as unknown[]).map(parsePart).filter((part): part is UploadedPart => part !== undefined)
  if (parts.length !== list.length || new Set(parts.map((part) => part.partNumber)).size !== parts.length) return shape
  return parts
}

const parsePart = (part: unknown): UploadedPart | undefined => {
  if (typeof part !== 'object' || part === null) return undefined
  const { partNumber, etag } = part as { partNumber?: unknown; etag?: unknown }
  if (typeof partNumber !== 'number' || !Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    return undefined
  }
  if (typeof etag !== 'string' || etag === '' || etag.length > 1024) return undefined
  return { partNumber, etag }
}
