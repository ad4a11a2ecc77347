/**
 * Multipart uploads, for files larger than one request may carry
 * (MAX_UPLOAD_BYTES), up to MAX_FILE_BYTES:
 *
 *   POST   …/uploads                            { size, mimeType, partSize? } → 201 { uploadId }
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
import { discardBody, errorResponse, json, readJson } from './http.ts'
import { declaredBodySize, maxFileBytes, maxRequestBytes, maxUploadsInFlight } from './limits.ts'
import { isMediaType, maxMediaTypeLength, OCTET_STREAM } from './media-type.ts'
import { clearPendingDeletion } from './pending-deletion.ts'
import { countContent } from './quota.ts'
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
const HASHING_BUDGET_BYTES = 48 * 1024 * 1024
let heldForHashing = 0
// Kept on the upload, and so on the object it completes into.
const DECLARED_SIZE = 'declaredSize'
/** R2 joins no part smaller than this but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024
/** R2 aborts an upload left this long; its record here counts as in flight until then. */
const UPLOAD_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000

/**
 * What the Worker keeps of each upload it started, beside it (`.upload-records/<store>/<sha256>/<uploadId>`):
 * the size declared, and the part size when the client declared one. Parts are checked against it
 * as they arrive (no part beyond the declared size is stored), and the records of a store count
 * its uploads in flight. R2 keeps no such thing it would show before the complete.
 */
export const RECORDS_PREFIX = '.upload-records/'
const recordKey = (fileKey: string, uploadId: string): string => `${RECORDS_PREFIX}${fileKey}/${uploadId}`
interface UploadRecord {
  size: number
  partSize?: number
}

const readRecord = async (storage: FileApi['storage'], key: string): Promise<UploadRecord | undefined> => {
  const object = await storage.get(key)
  if (object === null) return undefined
  try {
    const { size, partSize } = JSON.parse(await new Response(object.body).text()) as Partial<UploadRecord>
    if (typeof size !== 'number') return undefined
    return { size, ...(typeof partSize === 'number' ? { partSize } : {}) }
  } catch {
    return undefined
  }
}

/**
 * Why part `partNumber` of `size` bytes cannot belong to this upload, or undefined. With a declared
 * part size, every part but the last is exactly that size and the last is what is left; without
 * one, a part is no larger than the file, and there are no more parts than 5 MiB pieces of it.
 */
const partRefusal = (record: UploadRecord, partNumber: number, size: number): string | undefined => {
  const { size: declared, partSize } = record
  if (partSize !== undefined) {
    const count = Math.max(1, Math.ceil(declared / partSize))
    if (partNumber > count) return `part ${partNumber} is beyond the declared size: ${declared} bytes in parts of ${partSize} make ${count} parts`
    const expected = partNumber < count ? partSize : declared - (count - 1) * partSize
    if (size !== expected) return `part ${partNumber} has ${size} bytes where the declared sizes make it ${expected}`
    return undefined
  }
  const count = Math.max(1, Math.ceil(declared / MIN_PART_BYTES))
  if (partNumber > count) return `part ${partNumber} is beyond the declared size of ${declared} bytes`
  if (size > declared) return `part ${partNumber} has ${size} bytes, more than the declared size of ${declared} bytes`
  return undefined
}

export const createUpload = async (request: Request, { env, storage, quota }: FileApi, file: FileKey): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const declared = parseNewUpload(body.value, maxRequestBytes(env))
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
  const overQuota = await quota?.admits(file.storeId, declared.size)
  if (overQuota !== undefined) return errorResponse(413, overQuota)
  const inFlight = await uploadsInFlight(storage, file.storeId, maxUploadsInFlight(env) + 1)
  if (inFlight >= maxUploadsInFlight(env)) {
    return errorResponse(429, `this store has ${inFlight} uploads in parts in progress, the most it may: finish or abort one first`, {
      'Retry-After': '60',
    })
  }
  const upload = await storage.createMultipartUpload(file.key, {
    contentType: declared.mimeType,
    customMetadata: { [DECLARED_SIZE]: String(declared.size) },
  })
  const record: UploadRecord = { size: declared.size, ...(declared.partSize === undefined ? {} : { partSize: declared.partSize }) }
  await storage.put(recordKey(file.key, upload.uploadId), JSON.stringify(record))
  await startChain(storage, chainKey(file.key, upload.uploadId))
  return json({ uploadId: upload.uploadId }, 201)
}

/** The store's uploads in parts started within R2's lifetime of one and not ended, up to `atMost`. */
const uploadsInFlight = async (storage: FileApi['storage'], storeId: string, atMost: number): Promise<number> => {
  const since = Date.now() - UPLOAD_LIFETIME_MS
  let count = 0
  let cursor: string | undefined
  do {
    const page = await storage.list(`${RECORDS_PREFIX}${storeId}/`, { limit: Math.min(1000, atMost), ...(cursor === undefined ? {} : { cursor }) })
    count += page.objects.filter((object) => object.uploaded.getTime() >= since).length
    cursor = page.cursor
  } while (cursor !== undefined && count < atMost)
  return count
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
  // No part beyond what the upload declared is stored, whatever R2 would take.
  const record = await readRecord(storage, recordKey(file.key, uploadId))
  if (record === undefined) {
    await discardBody(request)
    return unknownUpload(file)
  }
  const refused = partRefusal(record, partNumber, size)
  if (refused !== undefined) {
    await discardBody(request)
    return errorResponse(400, refused)
  }
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

export const completeUpload = async (request: Request, { storage, quota }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
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
    await dropChain(storage, recordKey(file.key, uploadId))
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
    await countContent(quota, file.storeId, object.size, 1)
    // How: from the parts as they arrived, or by reading the object back (they came out of order).
    return storedFile(file, object.size, true, { verified: hashedParts === file.sha256 ? 'as-received' : 'read-back' })
  } finally {
    if (!verified) await storage.delete(file.key)
    await dropChain(storage, chain)
    await dropChain(storage, recordKey(file.key, uploadId))
  }
}

/** Idempotent: an upload that is unknown, aborted or completed is answered 204 too. */
export const abortUpload = async ({ storage }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
  await storage.abortMultipartUpload(file.key, uploadId)
  await dropChain(storage, chainKey(file.key, uploadId))
  await dropChain(storage, recordKey(file.key, uploadId))
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

const parseNewUpload = (body: unknown, maxPartBytes: number): { size: number; mimeType: string; partSize?: number } | string => {
  if (typeof body !== 'object' || body === null) return 'body must be { "size": <bytes>, "mimeType": "<type>", "partSize": <bytes> }'
  const { size, mimeType = '', partSize } = body as { size?: unknown; mimeType?: unknown; partSize?: unknown }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return '"size" must be the file\'s size in bytes'
  if (mimeType !== '' && !isMediaType(mimeType)) {
    return `"mimeType" must be a media type (type/subtype, optional parameters, ASCII without control characters) of at most ${maxMediaTypeLength} characters`
  }
  if (partSize !== undefined && (typeof partSize !== 'number' || !Number.isSafeInteger(partSize) || partSize < MIN_PART_BYTES || partSize > maxPartBytes)) {
    return `"partSize", when given, must be the size of every part but the last: from ${MIN_PART_BYTES} to ${maxPartBytes} bytes`
  }
  return { size, mimeType: mimeType === '' ? OCTET_STREAM : (mimeType as string), ...(partSize === undefined ? {} : { partSize }) }
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
