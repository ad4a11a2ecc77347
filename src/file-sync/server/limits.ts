/**
 * Size limits of the file API, from wrangler vars (bytes, as strings). The page
 * reads both from GET /api/health to pick its part size and to refuse a file
 * that is too large before it hashes or stores anything.
 */
import { errorResponse } from './http.ts'

export type LimitsEnv = {
  /** The largest request body: a single-request upload, or one part of a multipart upload. */
  MAX_UPLOAD_BYTES?: string
  /** The largest file, whatever way it is uploaded. */
  MAX_FILE_BYTES?: string
  /** How many objects one run of the deletion sweep, or one eviction call, removes at most. */
  MAINTENANCE_BATCH?: string
  /** How many uploads in parts one store may have in progress at once. */
  MAX_UPLOADS_IN_FLIGHT?: string
  /** The bytes one store may hold on the server (0 or unset: no limit). */
  STORE_MAX_BYTES?: string
  /** The files (contents) one store may hold on the server (0 or unset: no limit). */
  STORE_MAX_FILES?: string
  /**
   * Requests to the file API per user and store (Cloudflare's rate-limiting binding, configured
   * in wrangler.toml's `[[ratelimits]]`); without the binding, none is counted.
   */
  FILE_API_LIMITER?: RateLimit
}

// Cloudflare's request body cap on the Free and Pro plans.
const DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024
const DEFAULT_MAX_FILE_BYTES = 10 * 1024 ** 3

const numberVar = (value: string | undefined, fallback: number): number =>
  value !== undefined && /^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : fallback

export const maxRequestBytes = (env: LimitsEnv): number => numberVar(env.MAX_UPLOAD_BYTES, DEFAULT_MAX_REQUEST_BYTES)

export const maxFileBytes = (env: LimitsEnv): number => numberVar(env.MAX_FILE_BYTES, DEFAULT_MAX_FILE_BYTES)

/**
 * Objects one invocation of the sweep, or one eviction call, removes at most (1,000 by default):
 * well within a Worker invocation's subrequests and time; the next carries on.
 */
export const maintenanceBatch = (env: LimitsEnv): number => Math.max(1, numberVar(env.MAINTENANCE_BATCH, 1000))

/** What one store may hold on the server; `Infinity` where no limit is set. */
export const storeLimits = (env: LimitsEnv): { maxBytes: number; maxFiles: number } => ({
  maxBytes: numberVar(env.STORE_MAX_BYTES, 0) || Infinity,
  maxFiles: numberVar(env.STORE_MAX_FILES, 0) || Infinity,
})

/** Uploads in parts one store may have in progress at once (100 by default): each holds parts in R2 until it ends. */
export const maxUploadsInFlight = (env: LimitsEnv): number => Math.max(1, numberVar(env.MAX_UPLOADS_IN_FLIGHT, 100))

/**
 * The body's size from its `Content-Length`, or the 411/413 to answer instead.
 * Decided from the headers alone, before a byte of the body is read.
 */
export const declaredBodySize = (request: Request, env: LimitsEnv, what: string, hint = ''): number | Response => {
  const declared = request.headers.get('Content-Length')
  if (declared === null || !/^\d+$/.test(declared)) {
    return errorResponse(411, 'Content-Length header required: uploads must declare their size')
  }
  const size = Number(declared)
  const limit = maxRequestBytes(env)
  if (size > limit) {
    return errorResponse(413, `${what} of ${size} bytes is over the upload limit of ${limit} bytes per request${hint}`)
  }
  return size
}

/** The rate-limiting binding's period, as wrangler.toml sets it (10 or 60 s): how long a refused client waits. */
const RATE_LIMIT_RETRY_SECONDS = 10

/**
 * The 429 for a request over its user's rate in this store (`FILE_API_LIMITER`), with the
 * `Retry-After` the page honours; undefined when it may go on. Counted per user and store, so
 * one user's devices share it and another store's traffic is its own.
 */
export const rateLimited = async (env: LimitsEnv, storeId: string, userId: string): Promise<Response | undefined> => {
  if (env.FILE_API_LIMITER === undefined) return undefined
  const { success } = await env.FILE_API_LIMITER.limit({ key: `${storeId}:${userId}` })
  if (success) return undefined
  return errorResponse(429, 'too many requests for this store: try again shortly', {
    'Retry-After': String(RATE_LIMIT_RETRY_SECONDS),
    'Cache-Control': 'no-store',
  })
}
