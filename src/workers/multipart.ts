/**
 * Multipart uploads on R2, for files larger than one request may carry
 * (MAX_UPLOAD_BYTES), up to MAX_FILE_BYTES:
 *
 *   POST   …/uploads                            { size, mimeType } → 201 { uploadId }
 *   PUT    …/uploads/:uploadId/parts/:n         the part's bytes   → 200 { partNumber, etag }
 *   POST   …/uploads/:uploadId                  { parts }          → 201 { key, size, created: true, verified }
 *   DELETE …/uploads/:uploadId                                     → 204
 *
 * R2 checks a SHA-256 only on a single put, never over a multipart upload: so
 * the Worker hashes the parts as they arrive, one after the other
 * (./upload-hash), and completing compares that SHA-256 with the key's. When the
 * parts did not come in order, completing reads the stored object once through
 * SHA-256 instead. Either way, an object that is not the content its key names
 * is deleted. Unfinished uploads are aborted by R2 after 7 days (their hash
 * state under `.upload-hashes/` stays until a lifecycle rule removes it: see
 * the README).
 */
import { storedFile, MAX_PART_NUMBER, type FileKey } from './file-routes.ts'
import { errorResponse, json, readJson } from './http.ts'
import { declaredBodySize, maxFileBytes, type LimitsEnv } from './limits.ts'
import { R2_ERROR, r2ErrorCode } from './r2-errors.ts'
import { storedBytes } from './stored-bytes.ts'
import { digestHex } from './stream-digest.ts'
import { breakChain, chainedDigest, chainKey, dropChain, hashPart, startChain } from './upload-hash.ts'

export type UploadsEnv = LimitsEnv & { FILES_BUCKET: R2Bucket }

// 10,000 parts with their etags fit well below this.
const MAX_JSON_BYTES = 4 * 1024 * 1024
/**
 * Parts up to this size are hashed as they arrive (./upload-hash), which holds one part in the
 * Worker's memory (128 MB in all); larger ones stream to R2 unread, and completing reads the
 * object back instead. The page sends 16 MiB parts.
 */
const MAX_HASHED_PART_BYTES = 32 * 1024 * 1024
// Kept on the upload, and so on the object it completes into.
const DECLARED_SIZE = 'declaredSize'

export const createUpload = async (request: Request, env: UploadsEnv, file: FileKey): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const declared = parseNewUpload(body.value)
  if (typeof declared === 'string') return errorResponse(400, declared)
  const limit = maxFileBytes(env)
  if (declared.size > limit) {
    return errorResponse(413, `file of ${declared.size} bytes is over the file size limit of ${limit} bytes`)
  }

  const existing = await env.FILES_BUCKET.head(file.key)
  if (existing !== null) return storedFile(file, existing.size, false)
  const upload = await env.FILES_BUCKET.createMultipartUpload(file.key, {
    httpMetadata: { contentType: declared.mimeType },
    customMetadata: { [DECLARED_SIZE]: String(declared.size) },
  })
  await startChain(env.FILES_BUCKET, chainKey(file.key, upload.uploadId))
  return json({ uploadId: upload.uploadId }, 201)
}

export const uploadPart = async (
  request: Request,
  env: UploadsEnv,
  file: FileKey,
  uploadId: string,
  partNumber: number,
): Promise<Response> => {
  const size = declaredBodySize(request, env, `part ${partNumber}`)
  if (size instanceof Response) return size
  try {
    const upload = env.FILES_BUCKET.resumeMultipartUpload(file.key, uploadId)
    const chain = chainKey(file.key, uploadId)
    // A part that is not hashed must not leave a chain that claims other bytes for its place:
    // the chain goes first (and if that fails too, so does this request, before storing anything).
    const hashing =
      size <= MAX_HASHED_PART_BYTES
        ? await hashPart(env.FILES_BUCKET, chain, partNumber).catch(() => breakChain(env.FILES_BUCKET, chain))
        : await breakChain(env.FILES_BUCKET, chain)
    if (hashing === undefined) {
      // Streamed into R2 as it arrives; its Content-Length gives R2 the size it needs.
      const part = await upload.uploadPart(partNumber, request.body ?? '')
      return json({ partNumber: part.partNumber, etag: part.etag })
    }
    // Read whole, hashed, then stored: the part passes through JavaScript once, in one piece.
    // Read chunk by chunk instead (into a buffer kept between parts, or through a hashing
    // stream), workerd grew by 330 to 345 MiB over 1 GiB of parts, against 238 MiB this way
    // and 132 MiB for parts not hashed at all (scripts/worker-memory.ts).
    const bytes = new Uint8Array(await request.arrayBuffer())
    if (bytes.byteLength !== size) return errorResponse(400, `part ${partNumber} has ${bytes.byteLength} bytes, not its Content-Length of ${size}`)
    hashing.update(bytes)
    const part = await upload.uploadPart(partNumber, bytes)
    // Not moved (R2 failing): the chain stays before this part, which it then does not claim.
    await hashing.stored(part.etag).catch(() => {})
    return json({ partNumber: part.partNumber, etag: part.etag })
  } catch (error) {
    return r2Refusal(error, file)
  }
}

export const completeUpload = async (request: Request, env: UploadsEnv, file: FileKey, uploadId: string): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const parts = parseParts(body.value)
  if (typeof parts === 'string') return errorResponse(400, parts)
  const upload = env.FILES_BUCKET.resumeMultipartUpload(file.key, uploadId)
  const chain = chainKey(file.key, uploadId)

  // Another device finished the same content first: this upload is not needed.
  const existing = await env.FILES_BUCKET.head(file.key)
  if (existing !== null) {
    await abortIfKnown(upload)
    await dropChain(env.FILES_BUCKET, chain)
    return storedFile(file, existing.size, false)
  }

  let object: R2Object
  try {
    object = await upload.complete(parts)
  } catch (error) {
    return r2Refusal(error, file)
  }
  // Until verified, the key holds bytes that may not be what it names (readers check the
  // hash of what they download): they go on a mismatch, and on any error while checking.
  let verified = false
  try {
    // Read once the upload is complete: no part can change after that.
    // A chain that cannot be read only means reading the object back.
    const hashedParts = await chainedDigest(env.FILES_BUCKET, chain, parts, object.size).catch(() => undefined)
    const mismatch = await verify(env, file, object, hashedParts)
    if (mismatch !== undefined) return errorResponse(400, `${mismatch}; nothing was stored`)
    verified = true
    // How: from the parts as they arrived, or by reading the object back (they came out of order).
    return storedFile(file, object.size, true, { verified: hashedParts === file.sha256 ? 'as-received' : 'read-back' })
  } finally {
    if (!verified) await env.FILES_BUCKET.delete(file.key)
    await dropChain(env.FILES_BUCKET, chain)
  }
}

/** Idempotent: an upload that is unknown, aborted or completed is answered 204 too. */
export const abortUpload = async (env: UploadsEnv, file: FileKey, uploadId: string): Promise<Response> => {
  await abortIfKnown(env.FILES_BUCKET.resumeMultipartUpload(file.key, uploadId))
  await dropChain(env.FILES_BUCKET, chainKey(file.key, uploadId))
  return new Response(null, { status: 204 })
}

/**
 * The size declared when the upload started, then the SHA-256 the key names:
 * the reason it does not match, or undefined. The SHA-256 is the one of the
 * parts as they arrived when that covers the whole object; otherwise (and to be
 * sure, when that one does not match) the object is read once, streamed in
 * constant memory (./stream-digest), which costs CPU time on Cloudflare (see README).
 */
const verify = async (env: UploadsEnv, file: FileKey, object: R2Object, hashedParts: string | undefined): Promise<string | undefined> => {
  const declaredSize = object.customMetadata?.[DECLARED_SIZE]
  if (declaredSize !== String(object.size)) {
    return `file of ${object.size} bytes does not match its declared size of ${declaredSize ?? 'unknown'} bytes`
  }
  if (hashedParts === file.sha256) return undefined
  // In windows (./r2-windows): local R2 would otherwise read the whole object ahead into memory.
  const stored = storedBytes(env.FILES_BUCKET, file.key, { offset: 0, length: object.size })
  if ((await digestHex(stored, new crypto.DigestStream('SHA-256'))) !== file.sha256) {
    return 'content does not match its SHA-256 (the last path segment)'
  }
  return undefined
}

const r2Refusal = (error: unknown, file: FileKey): Response => {
  switch (r2ErrorCode(error)) {
    case R2_ERROR.noSuchUpload:
      return errorResponse(404, `no upload in progress with this uploadId for ${file.key} (aborted, completed or expired): start a new one`)
    case R2_ERROR.invalidPart:
      return errorResponse(400, 'a part is not among the uploaded parts: its partNumber or etag is wrong, or it was never uploaded')
    case R2_ERROR.entityTooSmall:
      return errorResponse(400, 'every part but the last must be at least 5 MiB (5242880 bytes)')
    case R2_ERROR.badUpload:
      return errorResponse(400, 'every part but the last must have the same size, and the last may not be larger')
    default:
      throw error
  }
}

const abortIfKnown = async (upload: R2MultipartUpload): Promise<void> => {
  try {
    await upload.abort()
  } catch (error) {
    // An upload that is gone is what an abort wants. R2 aborts forgotten uploads itself after 7 days.
    const code = r2ErrorCode(error)
    if (code !== R2_ERROR.noSuchUpload && code !== R2_ERROR.internalError) throw error
  }
}

const parseNewUpload = (body: unknown): { size: number; mimeType: string } | string => {
  if (typeof body !== 'object' || body === null) return 'body must be { "size": <bytes>, "mimeType": "<type>" }'
  const { size, mimeType } = body as { size?: unknown; mimeType?: unknown }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return '"size" must be the file\'s size in bytes'
  if (mimeType !== undefined && (typeof mimeType !== 'string' || mimeType.length > 255)) {
    return '"mimeType" must be a MIME type of at most 255 characters'
  }
  return { size, mimeType: mimeType || 'application/octet-stream' }
}

const parseParts = (body: unknown): R2UploadedPart[] | string => {
  const list = typeof body === 'object' && body !== null ? (body as { parts?: unknown }).parts : undefined
  const shape = `body must be { "parts": [{ "partNumber": <1-${MAX_PART_NUMBER}>, "etag": "<etag>" }, ...] }, each part once`
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PART_NUMBER) return shape
  const parts = (list as unknown[]).map(parsePart).filter((part): part is R2UploadedPart => part !== undefined)
  if (parts.length !== list.length || new Set(parts.map((part) => part.partNumber)).size !== parts.length) return shape
  return parts
}

const parsePart = (part: unknown): R2UploadedPart | undefined => {
  if (typeof part !== 'object' || part === null) return undefined
  const { partNumber, etag } = part as { partNumber?: unknown; etag?: unknown }
  if (typeof partNumber !== 'number' || !Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    return undefined
  }
  if (typeof etag !== 'string' || etag === '' || etag.length > 1024) return undefined
  return { partNumber, etag }
}
