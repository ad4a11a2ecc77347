/**
 * Store tokens: what lets a device sync one store and move its files, for one user, until an
 * expiry.
 *
 *   token = "v1." + base64url(JSON { store, user, exp }) + "." + base64url(HMAC-SHA256(secret, "v1." + claims))
 *
 * `exp` is in seconds since the epoch. The secret is `AUTH_SECRET` (a Worker secret). It fails
 * closed: without it, tokens are issued and accepted only for requests to a loopback host
 * (`wrangler dev` on 127.0.0.1 or localhost), signed with a fixed, public development secret so
 * that local work needs no setup; anywhere else every route that needs a token answers 503 and
 * names the missing secret (`secretRefusal`). Cloudflare routes a request to a Worker by its
 * host, so a deployed Worker never sees a loopback one. Who gets a token for which store is the
 * app's decision: an `Authorize` function (see ./authorize.ts), which `GET /api/auth/:storeId`
 * asks before it signs one.
 */

import { errorResponse, json, methodNotAllowed } from './http.ts'
import { isValidStoreId, STORE_ID_RULE } from '../shared/store-id.ts'

export type AuthEnv = {
  AUTH_SECRET?: string
  /** How long a token is valid, in seconds (a wrangler var); one hour by default. */
  TOKEN_TTL_SECONDS?: string
}

export { isValidStoreId } from '../shared/store-id.ts'

/** A user id of the app: 1-256 printable characters (it travels in tokens and logs). */
export const isValidUserId = (userId: unknown): userId is string => typeof userId === 'string' && /^[\x21-\x7e]{1,256}$/.test(userId)

/** The app's answer to "may this request have a token for this store?" */
export type Authorization = { userId: string }

/**
 * Decides who may open which store. Return the user to sign a token for them; `null` to refuse
 * (403); or a Response to answer with it as it is (a 401 that asks the user to sign in, a
 * redirect). Runs for `GET /api/auth/:storeId` only: every other request carries the token it
 * gave.
 */
export type Authorize<E = unknown> = (request: Request, storeId: string, env: E) => Authorization | null | Response | Promise<Authorization | null | Response>

// Public on purpose: tokens signed with it protect nothing, and are accepted only on a loopback host.
const DEVELOPMENT_SECRET = 'livestore-file-sync/development-secret/not-for-production'
const DEFAULT_TTL_SECONDS = 60 * 60
// Long enough for a device offline over a weekend to come back with the token it has.
const MAX_TTL_SECONDS = 7 * 24 * 60 * 60
/** How far a client's clock may be ahead of the Worker's when it reads a token's expiry. */
const CLOCK_SKEW_SECONDS = 60

/** Hosts that only this machine reaches: where the development secret and authorize() may work. */
export const isLoopbackHost = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname)

export const isLoopbackRequest = (request: Request): boolean => isLoopbackHost(new URL(request.url).hostname)

const hasSecret = (env: AuthEnv): boolean => env.AUTH_SECRET !== undefined && env.AUTH_SECRET !== ''
let warnedAboutMissingSecret = false

/**
 * The answer for a request that needs a token when none can be trusted: no `AUTH_SECRET`, and a
 * host other than this machine's. Undefined when tokens work. Said in the log once per isolate.
 */
export const secretRefusal = (request: Request, env: AuthEnv): Response | undefined => {
  if (hasSecret(env) || isLoopbackRequest(request)) return undefined
  if (!warnedAboutMissingSecret) {
    warnedAboutMissingSecret = true
    console.error(
      JSON.stringify({
        route: 'auth',
        error: 'AUTH_SECRET is not set: every request that needs a store token is refused (503). Run `wrangler secret put AUTH_SECRET`.',
      }),
    )
  }
  return errorResponse(503, 'this server has no AUTH_SECRET: it issues and accepts no store tokens until its operator sets one', {
    'Cache-Control': 'no-store',
  })
}

const encoder = new TextEncoder()
let warnedAboutDevelopmentSecret = false
let cachedKey: { secret: string; key: Promise<CryptoKey> } | undefined

/**
 * The signing secret. Without `AUTH_SECRET`, the development one: the routes reached from outside
 * have refused such a request already (`secretRefusal`), so only this machine's requests, and the
 * sockets they opened, get here.
 */
const secretOf = (env: AuthEnv): string => {
  if (hasSecret(env)) return env.AUTH_SECRET!
  if (!warnedAboutDevelopmentSecret) {
    warnedAboutDevelopmentSecret = true
    console.warn(
      '!!! AUTH_SECRET is not set: store tokens are signed with the public DEVELOPMENT secret, ' +
        'accepted only on this machine (a loopback host). Run `wrangler secret put AUTH_SECRET` before deploying. !!!',
    )
  }
  return DEVELOPMENT_SECRET
}

const hmacKey = (env: AuthEnv): Promise<CryptoKey> => {
  const secret = secretOf(env)
  if (cachedKey?.secret !== secret) {
    const key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    cachedKey = { secret, key }
  }
  return cachedKey.key
}

export const tokenTtlSeconds = (env: AuthEnv): number => {
  const configured = /^\d{1,7}$/.test(env.TOKEN_TTL_SECONDS ?? '') ? Number(env.TOKEN_TTL_SECONDS) : DEFAULT_TTL_SECONDS
  return Math.min(Math.max(configured, 1), MAX_TTL_SECONDS)
}

const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')

/**
 * Only the canonical spelling is accepted: the last character may carry unused bits, and a
 * token with those bits changed is another string, not the same token.
 */
const fromBase64Url = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return undefined
  const bytes = Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (char) => char.charCodeAt(0))
  return toBase64Url(bytes) === text ? bytes : undefined
}

const VERSION = 'v1'
// A token is a few hundred characters; this bounds what is parsed before the signature is checked.
const MAX_TOKEN_LENGTH = 2048

interface Claims {
  store: string
  user: string
  /** Seconds since the epoch. */
  exp: number
}

export interface IssuedToken {
  token: string
  storeId: string
  userId: string
  /** Milliseconds since the epoch. */
  expiresAt: number
}

export const issueStoreToken = async (
  env: AuthEnv,
  { storeId, userId, now = Date.now() }: { storeId: string; userId: string; now?: number },
): Promise<IssuedToken> => {
  if (!isValidStoreId(storeId)) throw new Error(STORE_ID_RULE)
  if (!isValidUserId(userId)) throw new Error('userId must be 1-256 printable ASCII characters without spaces')
  const exp = Math.floor(now / 1000) + tokenTtlSeconds(env)
  const claims = toBase64Url(encoder.encode(JSON.stringify({ store: storeId, user: userId, exp } satisfies Claims)))
  const signed = `${VERSION}.${claims}`
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(env), encoder.encode(signed)))
  return { token: `${signed}.${toBase64Url(signature)}`, storeId, userId, expiresAt: exp * 1000 }
}

/** Why a token was refused: said in the 401, so that a client knows to ask for a new one. */
export type TokenRefusal = 'missing' | 'malformed' | 'bad signature' | 'another store' | 'expired' | 'expiry too far'

export type TokenCheck = { ok: true; userId: string; expiresAt: number } | { ok: false; refusal: TokenRefusal }

/**
 * Checks a token for `storeId`. The signature is checked first, by `crypto.subtle.verify`, which
 * compares the HMACs in constant time; the claims are read only once it holds.
 */
export const checkStoreToken = async (env: AuthEnv, storeId: string, token: unknown, now = Date.now()): Promise<TokenCheck> => {
  if (typeof token !== 'string' || token === '') return { ok: false, refusal: 'missing' }
  const [version, claimsText, signatureText, ...rest] = token.length <= MAX_TOKEN_LENGTH ? token.split('.') : []
  if (version !== VERSION || claimsText === undefined || signatureText === undefined || rest.length > 0) {
    return { ok: false, refusal: 'malformed' }
  }
  const signature = fromBase64Url(signatureText)
  if (signature?.byteLength !== 32) return { ok: false, refusal: 'malformed' }
  const signed = encoder.encode(`${version}.${claimsText}`)
  if (!(await crypto.subtle.verify('HMAC', await hmacKey(env), signature, signed))) return { ok: false, refusal: 'bad signature' }

  const claims = parseClaims(claimsText)
  if (claims === undefined) return { ok: false, refusal: 'malformed' }
  if (claims.store !== storeId) return { ok: false, refusal: 'another store' }
  if (now >= claims.exp * 1000) return { ok: false, refusal: 'expired' }
  // No token outlives one issued now: a lifetime lowered since, or a token made with a leaked
  // secret to last for years, is refused (and a client renews).
  if (claims.exp > Math.floor(now / 1000) + tokenTtlSeconds(env) + CLOCK_SKEW_SECONDS) return { ok: false, refusal: 'expiry too far' }
  return { ok: true, userId: claims.user, expiresAt: claims.exp * 1000 }
}

const parseClaims = (text: string): Claims | undefined => {
  try {
    const bytes = fromBase64Url(text)
    if (bytes === undefined) return undefined
    const { store, user, exp } = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Claims>
    if (typeof store !== 'string' || !isValidUserId(user) || typeof exp !== 'number' || !Number.isSafeInteger(exp)) return undefined
    return { store, user, exp }
  } catch {
    return undefined
  }
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export const bearerToken = (request: Request): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('Authorization') ?? '')?.[1]

/**
 * The 401 for a refused token. It names why (never the token): a client that reads "expired"
 * fetches a new one and tries again.
 */
export const unauthorized = (storeId: string, refusal: TokenRefusal): Response =>
  errorResponse(
    401,
    refusal === 'missing'
      ? 'missing "Authorization: Bearer <token>" header'
      : // A store id that is none (a sync request's parameter may be anything) is not echoed.
        `token refused for ${isValidStoreId(storeId) ? `store "${storeId}"` : 'this store'}: ${refusal}`,
    { 'WWW-Authenticate': `Bearer error="invalid_token"`, 'Cache-Control': 'no-store' },
  )

/**
 * The user a request's bearer token names for `storeId`, or the 401 to answer with.
 */
export const authenticate = async (request: Request, env: AuthEnv, storeId: string): Promise<{ userId: string } | Response> => {
  const refused = secretRefusal(request, env)
  if (refused !== undefined) return refused
  const check = await checkStoreToken(env, storeId, bearerToken(request))
  return check.ok ? { userId: check.userId } : unauthorized(storeId, check.refusal)
}

/**
 * `GET <prefix>/:storeId`: asks `authorize` whether this request may have the store, and signs
 * a token for the user it names: `{ storeId, userId, token, expiresAt, expiresIn }`.
 */
export const handleTokenRequest = async <E extends AuthEnv>(request: Request, env: E, storeId: string, authorize: Authorize<E>): Promise<Response> => {
  if (request.method !== 'GET') return methodNotAllowed(['GET'])
  const refused = secretRefusal(request, env)
  if (refused !== undefined) return refused
  if (!isValidStoreId(storeId)) return errorResponse(400, STORE_ID_RULE)
  const decision = await authorize(request, storeId, env)
  if (decision instanceof Response) return decision
  if (decision === null) return errorResponse(403, `not allowed to open store "${storeId}"`)
  if (!isValidUserId(decision.userId)) {
    console.error(JSON.stringify({ route: 'auth', store: storeId, error: 'authorize returned an invalid userId' }))
    return errorResponse(500, 'the authorization check returned no valid user')
  }
  const issued = await issueStoreToken(env, { storeId, userId: decision.userId })
  // expiresIn (seconds) too: a client renews by its own clock, which may differ from ours.
  return json({ ...issued, expiresIn: tokenTtlSeconds(env) }, 200, { 'Cache-Control': 'no-store' })
}
