/**
 * The file API, content-addressed per store: `<basePath>/<storeId>/<sha256>` and its multipart
 * uploads below it (paths in ./file-routes). Every request needs `Authorization: Bearer <store
 * token>` for the store in its path.
 *
 * PUT streams the body into storage with its SHA-256, so the storage itself refuses bytes that
 * do not match their name; GET/HEAD answer immutable, cacheable objects, with single ranges and
 * conditional requests (../shared/http-range); DELETE marks the bytes pending deletion, removed by the
 * scheduled sweep once the grace period is over, and POST …/restore clears that mark
 * (./pending-deletion). Files larger than one request go up in parts (./multipart).
 *
 * The bytes live in a FileStorage (./storage/types.ts): R2 (`env.FILES_BUCKET`) unless the
 * options name another.
 */
import { authenticate } from './auth.ts'
import type { FileApi, FilesEnv } from './file-api.ts'
import { parseFileRoute, storedFile, type FileKey, type FileRoute } from './file-routes.ts'
import { bodyCut, discardBody, errorResponse, json, measuredBody, methodNotAllowed } from './http.ts'
import { READ_CONDITION_HEADERS, readAnswerHeaders, servedAs } from '../shared/file-headers.ts'
import { answerRead } from '../shared/http-range.ts'
import { declaredBodySize, rateLimited } from './limits.ts'
import { countContent, type StoreQuota } from './quota.ts'
import { isMediaType, maxMediaTypeLength, OCTET_STREAM } from '../shared/media-type.ts'
import { abortUpload, completeUpload, createUpload, uploadPart } from './multipart.ts'
import { clearPendingDeletion, deleteGraceMs, markPendingDeletion } from './pending-deletion.ts'
import { R2_WINDOW_BYTES } from './r2-windows.ts'
import { storedBytes } from './stored-bytes.ts'
import { r2Storage } from './storage/r2.ts'
import { isStorageError, type FileStorage, type StoredObject, type StoredObjectBody } from './storage/types.ts'

export type { FileApi, FilesEnv } from './file-api.ts'

/** The storage the options name, or R2 through `env.FILES_BUCKET`. */
export const storageOf = (env: FilesEnv, options: { storage?: FileStorage }): FileStorage => {
  if (options.storage !== undefined) return options.storage
  if (env.FILES_BUCKET === undefined) throw new Error('no storage: bind an R2 bucket as FILES_BUCKET, or pass options.storage')
  return r2Storage(env.FILES_BUCKET)
}

export interface FileRequestOptions {
  /**
   * Where the file API is mounted: requests are `<basePath>/<storeId>/<sha256>…`. `/api/files` in
   * the built-in Worker; any path when mounted in another Worker or a Hono app.
   */
  basePath?: string
  /** Where the bytes live; R2 through `env.FILES_BUCKET` by default. */
  storage?: FileStorage
  /** What a store may hold; no limit when none is given. */
  quota?: StoreQuota
}

/**
 * The file API as one function: mount it at `basePath` in any Worker or Hono app, next to
 * LiveStore's sync handler (docs/worker.md, "Mounting the file API"). `env` carries the bucket
 * (`FILES_BUCKET`), the token secret and the limits.
 */
export const handleFileRequest = async (request: Request, env: FilesEnv, options: FileRequestOptions = {}): Promise<Response> => {
  const started = Date.now()
  const basePath = (options.basePath ?? '/api/files').replace(/\/+$/, '')
  const pathname = new URL(request.url).pathname
  const route = pathname.startsWith(`${basePath}/`) ? parseFileRoute(pathname.slice(basePath.length + 1)) : `file path must start with ${basePath}/`
  let user: string | undefined
  let response: Response
  if (typeof route === 'string') {
    response = errorResponse(400, route)
  } else {
    const identity = await authenticate(request, env, route.file.storeId)
    if (identity instanceof Response) {
      response = identity
    } else {
      user = identity.userId
      const limited = await rateLimited(env, route.file.storeId, identity.userId)
      if (limited !== undefined) await request.body?.cancel()
      response = limited ?? (await answer(request, { env, storage: storageOf(env, options), ...(options.quota ? { quota: options.quota } : {}) }, route))
    }
  }
  // One line per request, for `wrangler tail`; never the token.
  console.log(
    JSON.stringify({
      route: typeof route === 'string' ? 'invalid path' : routeName(route, request.method),
      store: typeof route === 'string' ? undefined : route.file.storeId,
      file: typeof route === 'string' ? undefined : route.file.sha256,
      user,
      method: request.method,
      status: response.status,
      bytes: Number(response.headers.get('Content-Length') ?? request.headers.get('Content-Length') ?? 0),
      ms: Date.now() - started,
    }),
  )
  return response
}

const routeName = (route: FileRoute, method: string): string => {
  switch (route.kind) {
    case 'file':
      return 'file'
    case 'uploads':
      return 'upload-create'
    case 'part':
      return 'upload-part'
    case 'upload':
      return method === 'POST' ? 'upload-complete' : method === 'DELETE' ? 'upload-abort' : 'upload'
    case 'restore':
      return 'restore'
  }
}

const answer = async (request: Request, api: FileApi, route: FileRoute): Promise<Response> => {
  const { file } = route
  const method = request.method
  switch (route.kind) {
    case 'file':
      if (method === 'GET' || method === 'HEAD') return readFile(request, api, file)
      if (method === 'PUT') return putFile(request, api, file)
      if (method === 'DELETE') return deleteFile(api, file)
      return methodNotAllowed(['GET', 'HEAD', 'PUT', 'DELETE'])
    case 'restore':
      return method === 'POST' ? restoreFile(api, file) : methodNotAllowed(['POST'])
    case 'uploads':
      return method === 'POST' ? createUpload(request, api, file) : methodNotAllowed(['POST'])
    case 'upload':
      if (method === 'POST') return completeUpload(request, api, file, route.uploadId)
      if (method === 'DELETE') return abortUpload(api, file, route.uploadId)
      return methodNotAllowed(['POST', 'DELETE'])
    case 'part':
      return method === 'PUT' ? uploadPart(request, api, file, route.uploadId, route.partNumber) : methodNotAllowed(['PUT'])
  }
}

const putFile = async (request: Request, { env, storage, quota }: FileApi, file: FileKey): Promise<Response> => {
  const size = declaredBodySize(request, env, 'file', '; larger files go up in parts (POST …/uploads)')
  if (size instanceof Response) return size
  const contentType = request.headers.get('Content-Type') || OCTET_STREAM
  if (!isMediaType(contentType)) {
    await discardBody(request)
    return errorResponse(400, `Content-Type must be a media type (type/subtype, optional parameters) of at most ${maxMediaTypeLength} characters`)
  }

  const existing = await storage.head(file.key)
  if (existing !== null) {
    await request.body?.cancel()
    // Another file of the store has this content now: it is no longer to be deleted.
    await clearPendingDeletion(storage, file)
    return storedFile(file, existing.size, false)
  }

  const overQuota = await quota?.admits(file.storeId, size)
  if (overQuota !== undefined) {
    await discardBody(request)
    return errorResponse(413, overQuota)
  }
  const { body, cut } = measuredBody(request, size)
  try {
    // The body streams straight into storage (its Content-Length gives R2 the size it needs).
    const stored = await storage.put(file.key, body, {
      sha256: file.sha256,
      contentType,
    })
    await countContent(quota, file.storeId, stored?.size ?? size, 1)
    return storedFile(file, stored?.size ?? size, true)
  } catch (error) {
    if (isStorageError(error, 'content-mismatch')) {
      return errorResponse(400, 'content does not match its SHA-256 (the last path segment); nothing was stored')
    }
    if (cut()) return bodyCut(size)
    throw error
  }
}

/**
 * DELETE: the bytes stay for the grace period, marked pending deletion (202, with when they may
 * go); 204 when there are none. Idempotent: asking again moves the mark to now.
 */
const deleteFile = async ({ env, storage }: FileApi, file: FileKey): Promise<Response> => {
  const pending = await markPendingDeletion(storage, file, { now: Date.now(), graceMs: deleteGraceMs(env) })
  if (pending === undefined) return new Response(null, { status: 204 })
  return json({ key: file.key, ...pending }, 202)
}

/** POST …/restore: the bytes are kept (200, `restored` says whether a deletion was pending); 404 once they are gone. */
const restoreFile = async ({ storage }: FileApi, file: FileKey): Promise<Response> => {
  const object = await storage.head(file.key)
  if (object === null) return errorResponse(404, `no file ${file.key}: its bytes are gone; a device that holds them must upload them again`)
  const restored = await clearPendingDeletion(storage, file)
  return json({ key: file.key, size: object.size, restored })
}

/**
 * GET and HEAD, with Range and conditional requests (../shared/http-range decides, ../shared/file-headers says how).
 * A plain GET is one R2 read; a conditional or ranged one reads the metadata
 * first, then only the bytes it answers with, streamed from R2.
 */
const readFile = async (request: Request, { storage }: FileApi, file: FileKey): Promise<Response> => {
  const withBody = request.method === 'GET'
  const decidesFirst = !withBody || READ_CONDITION_HEADERS.some((name) => request.headers.has(name))
  // A plain GET asks for the first window only: all of a small file, and the size of a large one.
  const object = decidesFirst ? await storage.head(file.key) : await storage.get(file.key, { range: { offset: 0, length: R2_WINDOW_BYTES } })
  if (object === null) return missing(file)

  // Stored before types were checked, a bad one is served as plain bytes rather than break reads.
  // Only pictures, sound and video show here; anything else a browser opened directly downloads.
  const served = { etag: file.sha256, size: object.size, lastModified: object.uploaded, ...servedAs(object.contentType) }
  const answer = answerRead(request.headers, served)
  const headers = readAnswerHeaders(answer, served)
  switch (answer.status) {
    case 304:
      return new Response(null, { status: 304, headers })
    case 416: {
      const refusal = errorResponse(416, `range not satisfiable: ${file.key} has ${object.size} bytes`, {
        'Content-Range': answer.contentRange,
      })
      return withBody ? refusal : new Response(null, { status: 416, headers: refusal.headers })
    }
    case 200: {
      if (!withBody) return new Response(null, { headers })
      const first = hasBody(object) ? object.body : undefined
      return new Response(storedBytes(storage, file.key, { offset: 0, length: object.size, first }), { headers })
    }
    case 206: {
      if (!withBody) return new Response(null, { status: 206, headers })
      return new Response(storedBytes(storage, file.key, { offset: answer.offset, length: answer.length }), { status: 206, headers })
    }
  }
}

const hasBody = (object: StoredObject): object is StoredObjectBody => 'body' in object

const missing = (file: FileKey): Response => errorResponse(404, `no file ${file.key}`)
