/**
 * File API on R2, content-addressed per store: `/api/files/<storeId>/<sha256>`
 * and its multipart uploads below it (paths in ./file-routes). Every request
 * needs `Authorization: Bearer <store token>` for the store in its path.
 *
 * PUT streams the body into R2 with its SHA-256, so R2 itself refuses bytes that
 * do not match their name; GET/HEAD answer immutable, cacheable objects, with
 * single ranges and conditional requests (./http-range); DELETE is idempotent.
 * Files larger than one request go up in parts (./multipart).
 */
import { bearerToken, verifyStoreToken, type AuthEnv } from './auth.ts'
import { parseFileRoute, storedFile, type FileKey, type FileRoute } from './file-routes.ts'
import { errorResponse, methodNotAllowed } from './http.ts'
import { answerRead, httpDate } from './http-range.ts'
import { declaredBodySize } from './limits.ts'
import { abortUpload, completeUpload, createUpload, uploadPart, type UploadsEnv } from './multipart.ts'
import { R2_ERROR, r2ErrorCode } from './r2-errors.ts'
import { R2_WINDOW_BYTES } from './r2-windows.ts'
import { storedBytes } from './stored-bytes.ts'

export type FilesEnv = AuthEnv & UploadsEnv

// The key names the content, so a stored object never changes.
const IMMUTABLE = 'private, max-age=31536000, immutable'

export const handleFileRequest = async (request: Request, env: FilesEnv): Promise<Response> => {
  const started = Date.now()
  const route = parseFileRoute(new URL(request.url).pathname)
  const response = typeof route === 'string' ? errorResponse(400, route) : await answer(request, env, route)
  // One line per request, for `wrangler tail`; never the token.
  console.log(
    JSON.stringify({
      route: typeof route === 'string' ? 'invalid path' : routeName(route, request.method),
      files: typeof route === 'string' ? 'invalid key' : route.file.key,
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
  }
}

const answer = async (request: Request, env: FilesEnv, route: FileRoute): Promise<Response> => {
  const { file } = route
  const token = bearerToken(request)
  if (token === undefined) {
    return errorResponse(401, 'missing "Authorization: Bearer <token>" header', { 'WWW-Authenticate': 'Bearer' })
  }
  if (!(await verifyStoreToken(env, file.storeId, token))) {
    return errorResponse(401, `token is not valid for store "${file.storeId}"`, { 'WWW-Authenticate': 'Bearer' })
  }
  const method = request.method
  switch (route.kind) {
    case 'file':
      if (method === 'GET' || method === 'HEAD') return readFile(request, env, file)
      if (method === 'PUT') return putFile(request, env, file)
      if (method === 'DELETE') return deleteFile(env, file)
      return methodNotAllowed(['GET', 'HEAD', 'PUT', 'DELETE'])
    case 'uploads':
      return method === 'POST' ? createUpload(request, env, file) : methodNotAllowed(['POST'])
    case 'upload':
      if (method === 'POST') return completeUpload(request, env, file, route.uploadId)
      if (method === 'DELETE') return abortUpload(env, file, route.uploadId)
      return methodNotAllowed(['POST', 'DELETE'])
    case 'part':
      return method === 'PUT' ? uploadPart(request, env, file, route.uploadId, route.partNumber) : methodNotAllowed(['PUT'])
  }
}

const putFile = async (request: Request, env: FilesEnv, file: FileKey): Promise<Response> => {
  const size = declaredBodySize(request, env, 'file', '; larger files go up in parts (POST …/uploads)')
  if (size instanceof Response) return size

  const existing = await env.FILES_BUCKET.head(file.key)
  if (existing !== null) {
    await request.body?.cancel()
    return storedFile(file, existing.size, false)
  }

  try {
    // The body streams straight into R2 (its Content-Length gives R2 the size it needs).
    const stored = await env.FILES_BUCKET.put(file.key, request.body, {
      sha256: file.sha256,
      httpMetadata: { contentType: request.headers.get('Content-Type') || 'application/octet-stream' },
    })
    return storedFile(file, stored?.size ?? size, true)
  } catch (error) {
    if (r2ErrorCode(error) === R2_ERROR.badDigest) {
      return errorResponse(400, 'content does not match its SHA-256 (the last path segment); nothing was stored')
    }
    throw error
  }
}

const deleteFile = async (env: FilesEnv, file: FileKey): Promise<Response> => {
  await env.FILES_BUCKET.delete(file.key)
  return new Response(null, { status: 204 })
}

/**
 * GET and HEAD, with Range and conditional requests (./http-range decides).
 * A plain GET is one R2 read; a conditional or ranged one reads the metadata
 * first, then only the bytes it answers with, streamed from R2.
 */
const readFile = async (request: Request, env: FilesEnv, file: FileKey): Promise<Response> => {
  const withBody = request.method === 'GET'
  const decidesFirst = !withBody || READ_CONDITIONS.some((name) => request.headers.has(name))
  // A plain GET asks for the first window only: all of a small file, and the size of a large one.
  const object = decidesFirst ? await env.FILES_BUCKET.head(file.key) : await firstWindow(env, file)
  if (object === null) return missing(file)

  const answer = answerRead(request.headers, { etag: file.sha256, size: object.size, lastModified: object.uploaded })
  const headers = objectHeaders(object, file)
  switch (answer.status) {
    case 304:
      return new Response(null, { status: 304, headers: notModifiedHeaders(headers) })
    case 416: {
      const refusal = errorResponse(416, `range not satisfiable: ${file.key} has ${object.size} bytes`, {
        'Content-Range': answer.contentRange,
      })
      return withBody ? refusal : new Response(null, { status: 416, headers: refusal.headers })
    }
    case 200: {
      if (!withBody) return new Response(null, { headers })
      const first = hasBody(object) ? object.body : undefined
      return new Response(storedBytes(env.FILES_BUCKET, file.key, { offset: 0, length: object.size, first }), { headers })
    }
    case 206: {
      headers.set('Content-Range', answer.contentRange)
      headers.set('Content-Length', String(answer.length))
      if (!withBody) return new Response(null, { status: 206, headers })
      return new Response(storedBytes(env.FILES_BUCKET, file.key, { offset: answer.offset, length: answer.length }), { status: 206, headers })
    }
  }
}

const hasBody = (object: R2Object): object is R2ObjectBody => 'body' in object

/**
 * The object with the body of its first window. A zero-byte object has no range to ask for:
 * R2 refuses one (local R2 with an unspecified error), and then it is read whole.
 */
const firstWindow = async (env: FilesEnv, file: FileKey): Promise<R2ObjectBody | null> => {
  try {
    return await env.FILES_BUCKET.get(file.key, { range: { offset: 0, length: R2_WINDOW_BYTES } })
  } catch (error) {
    if ((await env.FILES_BUCKET.head(file.key))?.size === 0) return env.FILES_BUCKET.get(file.key)
    throw error
  }
}


// Request headers that can change the answer from a plain 200 (If-Range only matters with Range).
const READ_CONDITIONS = ['Range', 'If-None-Match', 'If-Modified-Since']

const missing = (file: FileKey): Response => errorResponse(404, `no file ${file.key}`)

const objectHeaders = (object: R2Object, file: FileKey): Headers =>
  new Headers({
    'Content-Type': object.httpMetadata?.contentType ?? 'application/octet-stream',
    'Content-Length': String(object.size),
    // Our own strong ETag, the content's SHA-256 (R2's etag is an MD5 of its own).
    ETag: `"${file.sha256}"`,
    'Last-Modified': httpDate(object.uploaded),
    'Accept-Ranges': 'bytes',
    'Cache-Control': IMMUTABLE,
    // The bytes are whatever a user uploaded: never let a browser run them as a page of this
    // origin (an HTML or SVG file opened directly), nor guess another type.
    'Content-Security-Policy': "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
    'X-Content-Type-Options': 'nosniff',
  })

/** A 304 carries the validators and caching of the 200 it stands for, nothing about a body. */
const notModifiedHeaders = (headers: Headers): Headers =>
  new Headers(['ETag', 'Last-Modified', 'Cache-Control'].map((name) => [name, headers.get(name) ?? '']))
