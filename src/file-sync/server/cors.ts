/**
 * Cross-origin access to the API: only from the origins an app names in
 * ALLOWED_ORIGINS (a Worker var: comma-separated `scheme://host[:port]`, exact).
 *
 * The app itself needs none of it: the page and the API share one origin (the
 * Worker serves both; in development the page server proxies /api). A request
 * from any other origin that is not on the list is refused with 403 before it
 * reaches a route, sockets and preflights included, so another site's page can
 * neither read answers nor cause effects with a token it got hold of.
 * Clients that are not browsers send no Origin and are not concerned: their
 * requests are authorized by their token alone.
 */
import { errorResponse } from './http.ts'

export type CorsEnv = { ALLOWED_ORIGINS?: string }

/** What a page of an allowed origin may send and read. */
const ALLOW_METHODS = 'GET, HEAD, PUT, POST, DELETE'
const ALLOW_HEADERS = 'Authorization, Content-Type, Range, If-Range, If-None-Match, If-Modified-Since'
const EXPOSE_HEADERS = 'Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified, Retry-After, WWW-Authenticate'
const PREFLIGHT_MAX_AGE_SECONDS = '86400'

export const allowedOrigins = (env: CorsEnv): Set<string> =>
  new Set(
    (env.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim().replace(/\/$/, ''))
      .filter((origin) => origin !== ''),
  )

/**
 * The other origin a request comes from, or undefined when it comes from this
 * one (or from no browser). `Sec-Fetch-Site` is set by the browser and cannot
 * be set by a page; it also tells a page served through a development proxy,
 * whose Origin is the proxy's, from another site.
 */
const crossOrigin = (request: Request): string | undefined => {
  const origin = request.headers.get('Origin')
  if (origin === null || origin === new URL(request.url).origin) return undefined
  if (request.headers.get('Sec-Fetch-Site') === 'same-origin') return undefined
  return origin
}

/** Answers `request` with `handle`, as CORS allows: preflights here, other origins refused or marked allowed. */
export const withCors = async (request: Request, env: CorsEnv, handle: () => Promise<Response>): Promise<Response> => {
  const origin = crossOrigin(request)
  if (origin === undefined) return handle()
  if (!allowedOrigins(env).has(origin)) {
    return errorResponse(403, 'requests from this origin are not allowed (ALLOWED_ORIGINS)', { Vary: 'Origin' })
  }
  if (request.method === 'OPTIONS' && request.headers.has('Access-Control-Request-Method')) {
    return new Response(null, {
      status: 204,
      headers: {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
        Vary: 'Origin',
      },
    })
  }
  const answer = await handle()
  // A WebSocket upgrade's answer needs no CORS headers (sockets are not subject to it).
  if (answer.status === 101) return answer
  // The Worker's own answers have headers that can be changed (their bodies keep their length);
  // an answer passed on from elsewhere is copied first.
  let response = answer
  try {
    response.headers.set('Access-Control-Allow-Origin', origin)
  } catch {
    response = new Response(answer.body, answer)
    response.headers.set('Access-Control-Allow-Origin', origin)
  }
  response.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS)
  response.headers.append('Vary', 'Origin')
  return response
}
