/**
 * Multipart uploads, for files larger than one request may carry
 * (MAX_UPLOAD_BYTES), up to MAX_FILE_BYTES:
 *
 *   POST   …/uploads                            { size, mimeType, partSize? } → 201 { uploadId }
 *   PUT    …/uploads/:uploadId/parts/:n         the part's bytes   → 200 { partNumber, etag }
 *   POST   …/uploads/:uploadId                  { parts }          → 201 { key, size, created: true, verified }
 *   DELETE …/uploads/:uploadId                                     → 204
 *
 * Nothing unverified is ever readable under a content key. Storage checks a SHA-256 only on a
 * single put, never over a multipart upload; so an upload in parts goes to a staging key of its
 * own (`.staging/<store>/<sha256>/<nonce>`), which no reader asks for, and completing joins it
 * there, then publishes it:
 * - up to what one put takes (R2: 4.995 GiB), by one put of the staged bytes under the content
 *   key with their SHA-256, so that the storage itself refuses bytes that are not what the key
 *   names, as it does for a single PUT (`verified: "by-storage"`);
 * - larger, by reading the staged object once through SHA-256 and, if it matches, copying it in
 *   parts into an upload at the content key, which becomes readable only when that completes
 *   (`verified: "read-back"`).
 * A complete with the wrong bytes leaves nothing under the key; racing completes each publish
 * from their own staged copy, so none can remove or replace a verified copy with other bytes.
 * The staged object goes once published or refused; one left by a failure is published by the
 * complete sent again. Unfinished uploads are aborted by R2 after 7 days (their record under
 * `.upload-records/`, and a staged object a crash left, stay until a lifecycle rule removes
 * them: see docs/worker.md, "Deploying to Cloudflare").
 */
import { storedFile, MAX_PART_NUMBER, type FileKey } from './file-routes.ts'
import type { FileApi } from './file-api.ts'
import { bodyCut, discardBody, errorResponse, json, measuredBody, readJson } from './http.ts'
import { declaredBodySize, maxFileBytes, maxRequestBytes, maxUploadsInFlight } from './limits.ts'
import { isMediaType, maxMediaTypeLength, OCTET_STREAM } from '../shared/media-type.ts'
import { clearPendingDeletion } from './pending-deletion.ts'
import { countContent } from './quota.ts'
import { storedBytes } from './stored-bytes.ts'
import { isStorageError, type FileStorage, type StoredObject, type UploadedPart } from './storage/types.ts'
import { DIGEST_YIELD_BYTES, digestHex, digestSink } from './stream-digest.ts'

// 10,000 parts with their etags fit well below this.
const MAX_JSON_BYTES = 4 * 1024 * 1024
/** R2 joins no part smaller than this but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024
/** R2 aborts an upload left this long; its record here counts as in flight until then. */
const UPLOAD_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000
/** The parts a staged object larger than one put is copied in (R2 takes parts up to 5 GiB). */
const MAX_COPY_PART_BYTES = 1024 * 1024 * 1024

/** Where uploads in parts are joined before they are verified: apart from the files, never listed with them. */
export const STAGING_PREFIX = '.staging/'

/**
 * What the Worker keeps of each upload it started, beside it (`.upload-records/<store>/<sha256>/<uploadId>`):
 * the size declared, the part size when the client declared one, and the staging key the upload
 * joins into. Parts are checked against it as they arrive (no part beyond the declared size is
 * stored), and the records of a store count its uploads in flight. R2 keeps no such thing it
 * would show before the complete.
 */
export const RECORDS_PREFIX = '.upload-records/'
const recordKey = (fileKey: string, uploadId: string): string => `${RECORDS_PREFIX}${fileKey}/${uploadId}`
interface UploadRecord {
  size: number
  partSize?: number
  /** Absent from records written before uploads were staged: such an upload is started again. */
  staging?: string
}

const readRecord = async (storage: FileStorage, key: string): Promise<UploadRecord | undefined> => {
  const object = await storage.get(key)
  if (object === null) return undefined
  try {
    const { size, partSize, staging } = JSON.parse(await new Response(object.body).text()) as Partial<UploadRecord>
    if (typeof size !== 'number') return undefined
    return { size, ...(typeof partSize === 'number' ? { partSize } : {}), ...(typeof staging === 'string' ? { staging } : {}) }
  } catch {
    return undefined
  }
}

/** Forgets a small bookkeeping object; one that cannot be removed now is a few bytes left over. */
const forget = (storage: FileStorage, key: string): Promise<void> => storage.delete(key).catch(() => {})

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
  const staging = `${STAGING_PREFIX}${file.key}/${crypto.randomUUID()}`
  const upload = await storage.createMultipartUpload(staging, { contentType: declared.mimeType, customMetadata: {} })
  const record: UploadRecord = { size: declared.size, ...(declared.partSize === undefined ? {} : { partSize: declared.partSize }), staging }
  await storage.put(recordKey(file.key, upload.uploadId), JSON.stringify(record))
  return json({ uploadId: upload.uploadId }, 201)
}

/** The store's uploads in parts started within R2's lifetime of one and not ended, up to `atMost`. */
const uploadsInFlight = async (storage: FileStorage, storeId: string, atMost: number): Promise<number> => {
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

/**
 * The upload's record, or the 404 that ends it: unknown, ended, or started before uploads were
 * staged (it joins under the content key: it is aborted, and the client starts a new one).
 */
const uploadOf = async (storage: FileStorage, file: FileKey, uploadId: string): Promise<(UploadRecord & { staging: string }) | Response> => {
  const key = recordKey(file.key, uploadId)
  const record = await readRecord(storage, key)
  if (record === undefined) return unknownUpload(file)
  if (record.staging === undefined) {
    await storage.abortMultipartUpload(file.key, uploadId)
    await forget(storage, key)
    return unknownUpload(file)
  }
  return { ...record, staging: record.staging }
}

export const uploadPart = async (request: Request, { env, storage }: FileApi, file: FileKey, uploadId: string, partNumber: number): Promise<Response> => {
  const size = declaredBodySize(request, env, `part ${partNumber}`)
  if (size instanceof Response) return size
  // No part beyond what the upload declared is stored, whatever R2 would take.
  const upload = await uploadOf(storage, file, uploadId)
  const refused = upload instanceof Response ? upload : partRefusal(upload, partNumber, size)
  if (refused !== undefined) {
    await discardBody(request)
    return typeof refused === 'string' ? errorResponse(400, refused) : refused
  }
  const { body, cut } = measuredBody(request, size)
  try {
    // Streamed into storage as it arrives, never held whole; its Content-Length gives R2 the size.
    const part = await storage.uploadPart((upload as { staging: string }).staging, uploadId, partNumber, body)
    return json({ partNumber: part.partNumber, etag: part.etag })
  } catch (error) {
    if (!isStorageError(error) && cut()) return bodyCut(size)
    return refusal(error, file)
  }
}

export const completeUpload = async (request: Request, { storage, quota }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
  const body = await readJson(request, MAX_JSON_BYTES)
  if (body instanceof Response) return body
  const parts = parseParts(body.value)
  if (typeof parts === 'string') return errorResponse(400, parts)
  const record = recordKey(file.key, uploadId)

  // Another device finished the same content first (or this complete, its answer lost): this
  // upload is not needed.
  const existing = await storage.head(file.key)
  if (existing !== null) {
    const staging = (await readRecord(storage, record))?.staging
    if (staging !== undefined) {
      await storage.abortMultipartUpload(staging, uploadId)
      await forget(storage, staging)
    }
    await forget(storage, record)
    await clearPendingDeletion(storage, file)
    return storedFile(file, existing.size, false)
  }
  const upload = await uploadOf(storage, file, uploadId)
  if (upload instanceof Response) return upload

  let staged: StoredObject
  try {
    staged = await storage.completeMultipartUpload(upload.staging, uploadId, parts)
  } catch (error) {
    // Joined already by a complete whose publishing failed: publish what it staged. (R2 says
    // there is no such upload any more; local R2 answers a completed id with its own error.)
    const joined = await storage.head(upload.staging)
    if (joined === null) return refusal(error, file)
    staged = joined
  }
  // Only a verdict on the bytes ends the upload; a failure of the storage meanwhile (500) leaves
  // the staged object and the record for the complete sent again.
  let ended = false
  try {
    if (staged.size !== upload.size) {
      ended = true
      return errorResponse(400, `file of ${staged.size} bytes does not match its declared size of ${upload.size} bytes; nothing was stored`)
    }
    const published = await publish(storage, staged, file)
    ended = true
    if (published === 'mismatch') return errorResponse(400, 'content does not match its SHA-256 (the last path segment); nothing was stored')
    if (published.created) await countContent(quota, file.storeId, staged.size, 1)
    return storedFile(file, staged.size, published.created, published.created ? { verified: published.verified } : {})
  } finally {
    if (ended) {
      await forget(storage, upload.staging)
      await forget(storage, record)
    }
  }
}

/**
 * Makes the staged object readable under its content key, only if it is the content the key
 * names: by one put with its SHA-256 (the storage refuses other bytes), or, larger than one put
 * takes, by reading it once through SHA-256 and then copying it in parts (readable only once
 * they are joined). Nothing is written under the key when the bytes do not match.
 */
const publish = async (
  storage: FileStorage,
  staged: StoredObject,
  file: FileKey,
): Promise<'mismatch' | { created: false } | { created: true; verified: 'by-storage' | 'read-back' }> => {
  // Published meanwhile by a racing upload of the same content: that copy stays as it is.
  if ((await storage.head(file.key)) !== null) return { created: false }
  const whole = { offset: 0, length: staged.size }
  if (staged.size <= (storage.maxPutBytes ?? Infinity)) {
    try {
      await storage.put(file.key, copied(storage, staged.key, whole), { sha256: file.sha256, contentType: staged.contentType })
      return { created: true, verified: 'by-storage' }
    } catch (error) {
      if (isStorageError(error, 'content-mismatch')) return 'mismatch'
      throw error
    }
  }
  // Nothing else writes the staging key once joined: the bytes hashed are the bytes copied.
  if ((await digestHex(storedBytes(storage, staged.key, whole), digestSink())) !== file.sha256) return 'mismatch'
  const partBytes = Math.max(MIN_PART_BYTES, Math.min(storage.maxPutBytes ?? MAX_COPY_PART_BYTES, MAX_COPY_PART_BYTES))
  const { uploadId } = await storage.createMultipartUpload(file.key, { contentType: staged.contentType, customMetadata: {} })
  try {
    const parts: UploadedPart[] = []
    for (let offset = 0, partNumber = 1; offset < staged.size; offset += partBytes, partNumber += 1) {
      const range = { offset, length: Math.min(partBytes, staged.size - offset) }
      parts.push(await storage.uploadPart(file.key, uploadId, partNumber, copied(storage, staged.key, range)))
    }
    await storage.completeMultipartUpload(file.key, uploadId, parts)
  } catch (error) {
    await storage.abortMultipartUpload(file.key, uploadId).catch(() => {})
    throw error
  }
  return { created: true, verified: 'read-back' }
}

/**
 * The bytes of `range` of a staged object, to write elsewhere in the storage: read in windows
 * (./r2-windows; local R2 would otherwise read a joined object ahead into memory), with a turn
 * of the event loop every few MiB, so that other requests are answered while it is copied.
 */
const copied = (storage: FileStorage, key: string, range: { offset: number; length: number }) =>
  storedBytes(storage, key, range, { turnEveryBytes: DIGEST_YIELD_BYTES })

/** Idempotent: an upload that is unknown, aborted or completed is answered 204 too. */
export const abortUpload = async ({ storage }: FileApi, file: FileKey, uploadId: string): Promise<Response> => {
  const record = recordKey(file.key, uploadId)
  const staging = (await readRecord(storage, record))?.staging ?? file.key
  await storage.abortMultipartUpload(staging, uploadId)
  if (staging !== file.key) await forget(storage, staging)
  await forget(storage, record)
  return new Response(null, { status: 204 })
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
