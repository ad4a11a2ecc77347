/**
 * File API on R2: `/api/files/<storeId>/<sha256>`, content-addressed per store.
 *
 * PUT streams the body into R2 with its SHA-256, so R2 itself refuses bytes that
 * do not match their name; GET/HEAD answer immutable, cacheable objects, with
 * single ranges and conditional requests (./http-range); DELETE is idempotent. Every request needs `Authorization: Bearer <store token>`.
 */
import { bearerToken, verifyStoreToken, isValidStoreId, type AuthEnv } from './auth.ts'
import { errorResponse, json, methodNotAllowed } from './http.ts'
import { answerRead, httpDate } from './http-range.ts'

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
      return readFile(request, env, file)
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

/**
 * GET and HEAD, with Range and conditional requests (./http-range decides).
 * A plain GET is one R2 read; a conditional or ranged one reads the metadata
 * first, then only the bytes it answers with, streamed from R2.
 */
const readFile = async (request: Request, env: FilesEnv, file: FileKey): Promise<Response> => {
  const withBody = request.method === 'GET'
  const decidesFirst = !withBody || READ_CONDITIONS.some((name) => request.headers.has(name))
  const object = decidesFirst ? await env.FILES_BUCKET.head(file.key) : await env.FILES_BUCKET.get(file.key)
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
      const body = hasBody(object) ? object : await env.FILES_BUCKET.get(file.key)
      return body === null ? missing(file) : new Response(body.body, { headers })
    }
    case 206: {
      headers.set('Content-Range', answer.contentRange)
      headers.set('Content-Length', String(answer.length))
      if (!withBody) return new Response(null, { status: 206, headers })
      const part = await env.FILES_BUCKET.get(file.key, { range: { offset: answer.offset, length: answer.length } })
      return part === null ? missing(file) : new Response(part.body, { status: 206, headers })
    }
  }
}

const hasBody = (object: R2Object): object is R2ObjectBody => 'body' in object

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
