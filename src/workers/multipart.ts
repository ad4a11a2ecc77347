/**
 * Multipart uploads on R2, for files larger than one request may carry
 * (MAX_UPLOAD_BYTES), up to MAX_FILE_BYTES:
 *
 *   POST   …/uploads                            { size, mimeType } → 201 { uploadId }
 *   PUT    …/uploads/:uploadId/parts/:n         the part's bytes   → 200 { partNumber, etag }
 *   POST   …/uploads/:uploadId                  { parts }          → 201 { key, size, created: true }
 *   DELETE …/uploads/:uploadId                                     → 204
 *
 * R2 checks a SHA-256 only on a single put, never over a multipart upload: so
 * completing verifies the result itself, streaming the stored object once
 * through SHA-256, and deletes it when it is not the content its key names.
 * Unfinished uploads are aborted by R2 after 7 days.
 */
import { storedFile, MAX_PART_NUMBER, type FileKey } from './file-routes.ts'
import { errorResponse, json, readJson } from './http.ts'
import { declaredBodySize, maxFileBytes, type LimitsEnv } from './limits.ts'
import { R2_ERROR, r2ErrorCode } from './r2-errors.ts'
import { storedBytes } from './stored-bytes.ts'
import { digestHex } from './stream-digest.ts'

export type UploadsEnv = LimitsEnv & { FILES_BUCKET: R2Bucket }

// 10,000 parts with their etags fit well below this.
const MAX_JSON_BYTES = 4 * 1024 * 1024
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
    // Streamed into R2 as it arrives; its Content-Length gives R2 the size it needs.
    const part = await env.FILES_BUCKET.resumeMultipartUpload(file.key, uploadId).uploadPart(partNumber, request.body ?? '')
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

  // Another device finished the same content first: this upload is not needed.
  const existing = await env.FILES_BUCKET.head(file.key)
  if (existing !== null) {
    await abortIfKnown(upload)
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
    const mismatch = await verify(env, file, object)
    if (mismatch !== undefined) return errorResponse(400, `${mismatch}; nothing was stored`)
    verified = true
    return storedFile(file, object.size, true)
  } finally {
    if (!verified) await env.FILES_BUCKET.delete(file.key)
  }
}

/** Idempotent: an upload that is unknown, aborted or completed is answered 204 too. */
export const abortUpload = async (env: UploadsEnv, file: FileKey, uploadId: string): Promise<Response> => {
  await abortIfKnown(env.FILES_BUCKET.resumeMultipartUpload(file.key, uploadId))
  return new Response(null, { status: 204 })
}

/**
 * The size declared when the upload started, then the SHA-256 the key names,
 * streamed in constant memory (./stream-digest): the reason it does not match,
 * or undefined. This reads the whole object once, which costs CPU time on
 * Cloudflare (see README).
 */
const verify = async (env: UploadsEnv, file: FileKey, object: R2Object): Promise<string | undefined> => {
  const declaredSize = object.customMetadata?.[DECLARED_SIZE]
  if (declaredSize !== String(object.size)) {
    return `file of ${object.size} bytes does not match its declared size of ${declaredSize ?? 'unknown'} bytes`
  }
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
