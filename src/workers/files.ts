/**
 * File API on R2: `/api/files/<storeId>/<sha256>`, content-addressed per store.
 *
 * PUT streams the body into R2 with its SHA-256, so R2 itself refuses bytes that
 * do not match their name; GET/HEAD answer immutable, cacheable objects; DELETE
 * is idempotent. Every request needs `Authorization: Bearer <store token>`.
 */
import { bearerToken, verifyStoreToken, isValidStoreId, type AuthEnv } from './auth.ts'
import { errorResponse, json, methodNotAllowed } from './http.ts'

export type FilesEnv = AuthEnv & {
  FILES_BUCKET: R2Bucket
  /** Bytes, as a string (a wrangler var). */
  MAX_UPLOAD_BYTES: string
}

type FileKey = { storeId: string; sha256: string; key: string }

const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
// The key names the content, so a stored object never changes.
const IMMUTABLE = 'private, max-age=31536000, immutable'

/**
 * Reads the path as the URL parser left it: dot segments (`..`, `%2E%2E`) are
 * already resolved, and an encoded slash (`%2F`) stays encoded, so it never
 * splits a segment: it just fails the patterns.
 */
const parseFileKey = (pathname: string): FileKey | undefined => {
  const [storeId, sha256, ...rest] = pathname.slice('/api/files/'.length).split('/')
  if (storeId === undefined || sha256 === undefined || rest.length > 0) return undefined
  if (!isValidStoreId(storeId) || !/^[0-9a-f]{64}$/.test(sha256)) return undefined
  return { storeId, sha256, key: `${storeId}/${sha256}` }
}

const uploadLimit = (env: FilesEnv): number => {
  const limit = Number(env.MAX_UPLOAD_BYTES)
  return Number.isSafeInteger(limit) && limit >= 0 ? limit : DEFAULT_MAX_UPLOAD_BYTES
}

export const handleFileRequest = async (request: Request, env: FilesEnv): Promise<Response> => {
  const started = Date.now()
  const file = parseFileKey(new URL(request.url).pathname)
  const response = file === undefined ? badKey() : await answer(request, env, file)
  // One line per request, for `wrangler tail`; never the token.
  console.log(
    JSON.stringify({
      files: file?.key ?? 'invalid key',
      method: request.method,
      status: response.status,
      bytes: Number(response.headers.get('Content-Length') ?? request.headers.get('Content-Length') ?? 0),
      ms: Date.now() - started,
    }),
  )
  return response
}

const badKey = (): Response =>
  errorResponse(
    400,
    'file path must be /api/files/<storeId>/<sha256>: storeId of 1-64 characters [a-zA-Z0-9_-], sha256 as 64 lowercase hex digits',
  )

const answer = async (request: Request, env: FilesEnv, file: FileKey): Promise<Response> => {
  const token = bearerToken(request)
  if (token === undefined) {
    return errorResponse(401, 'missing "Authorization: Bearer <token>" header', { 'WWW-Authenticate': 'Bearer' })
  }
  if (!(await verifyStoreToken(env, file.storeId, token))) {
    return errorResponse(401, `token is not valid for store "${file.storeId}"`, { 'WWW-Authenticate': 'Bearer' })
  }
  switch (request.method) {
    case 'PUT':
      return putFile(request, env, file)
    case 'GET':
    case 'HEAD':
      return getFile(request.method, env, file)
    case 'DELETE':
      await env.FILES_BUCKET.delete(file.key)
      return new Response(null, { status: 204 })
    default:
      return methodNotAllowed(['GET', 'HEAD', 'PUT', 'DELETE'])
  }
}

const putFile = async (request: Request, env: FilesEnv, file: FileKey): Promise<Response> => {
  // Decided from the headers alone, before a byte of the body is read.
  const declaredLength = request.headers.get('Content-Length')
  if (declaredLength === null || !/^\d+$/.test(declaredLength)) {
    return errorResponse(411, 'Content-Length header required: uploads must declare their size')
  }
  const size = Number(declaredLength)
  const limit = uploadLimit(env)
  if (size > limit) return errorResponse(413, `file of ${size} bytes is over the upload limit of ${limit} bytes`)

  const existing = await env.FILES_BUCKET.head(file.key)
  if (existing !== null) {
    await request.body?.cancel()
    return json({ key: file.key, size: existing.size, created: false })
  }

  try {
    // The body streams straight into R2 (its Content-Length gives R2 the size it needs).
    const stored = await env.FILES_BUCKET.put(file.key, request.body, {
      sha256: file.sha256,
      httpMetadata: { contentType: request.headers.get('Content-Type') || 'application/octet-stream' },
    })
    return json({ key: file.key, size: stored?.size ?? size, created: true }, 201)
  } catch (error) {
    if (isDigestMismatch(error)) {
      return errorResponse(400, 'content does not match its SHA-256 (the last path segment); nothing was stored')
    }
    throw error
  }
}

/** R2 error 10037 (BadDigest): the bytes' SHA-256 differs from the one we passed. */
const isDigestMismatch = (error: unknown): boolean =>
  error instanceof Error && (error.message.includes('10037') || error.message.includes('did not match'))

const getFile = async (method: 'GET' | 'HEAD', env: FilesEnv, file: FileKey): Promise<Response> => {
  if (method === 'HEAD') {
    const object = await env.FILES_BUCKET.head(file.key)
    return object === null ? missing(file) : new Response(null, { headers: objectHeaders(object, file) })
  }
  const object = await env.FILES_BUCKET.get(file.key)
  return object === null ? missing(file) : new Response(object.body, { headers: objectHeaders(object, file) })
}

const missing = (file: FileKey): Response => errorResponse(404, `no file ${file.key}`)

const objectHeaders = (object: R2Object, file: FileKey): Headers =>
  new Headers({
    'Content-Type': object.httpMetadata?.contentType ?? 'application/octet-stream',
    'Content-Length': String(object.size),
    ETag: `"${file.sha256}"`,
    'Cache-Control': IMMUTABLE,
    // The bytes are whatever a user uploaded: never let a browser run them as a page of this
    // origin (an HTML or SVG file opened directly), nor guess another type.
    'Content-Security-Policy': "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
    'X-Content-Type-Options': 'nosniff',
  })
