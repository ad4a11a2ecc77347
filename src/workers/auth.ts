/**
 * Store tokens: `token = base64url(HMAC-SHA256(secret, "store:" + storeId))`.
 *
 * A token grants everything on one store: syncing its events and reading and
 * writing its files. The secret is `AUTH_SECRET` (a Worker secret); without it
 * a fixed, public development secret is used so `wrangler dev` needs no setup.
 */

import { errorResponse, json, methodNotAllowed } from './http.ts'

export type AuthEnv = { AUTH_SECRET?: string }

/** Same rule as LiveStore's storeId (`[a-zA-Z0-9_-]+`), with a length cap. */
export const isValidStoreId = (storeId: string): boolean => /^[a-zA-Z0-9_-]{1,64}$/.test(storeId)

// Public on purpose: tokens signed with it protect nothing.
const DEVELOPMENT_SECRET = 'livestore-file-sync/development-secret/not-for-production'

const encoder = new TextEncoder()
let warnedAboutDevelopmentSecret = false
let cachedKey: { secret: string; key: Promise<CryptoKey> } | undefined

const secretOf = (env: AuthEnv): string => {
  if (env.AUTH_SECRET !== undefined && env.AUTH_SECRET !== '') return env.AUTH_SECRET
  if (!warnedAboutDevelopmentSecret) {
    warnedAboutDevelopmentSecret = true
    console.warn(
      '!!! AUTH_SECRET is not set: store tokens are signed with the public DEVELOPMENT secret, ' +
        'so anyone can forge them. Run `wrangler secret put AUTH_SECRET` before deploying. !!!',
    )
  }
  return DEVELOPMENT_SECRET
}

const hmacKey = (env: AuthEnv): Promise<CryptoKey> => {
  const secret = secretOf(env)
  if (cachedKey?.secret !== secret) {
    const key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ])
    cachedKey = { secret, key }
  }
  return cachedKey.key
}

const signedMessage = (storeId: string): BufferSource => encoder.encode(`store:${storeId}`)

const toBase64Url = (bytes: ArrayBuffer): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')

/**
 * 32 bytes of HMAC are exactly 43 base64url characters; anything else cannot be a token. Only
 * the canonical spelling is accepted: the last character carries two unused bits, and a token
 * with those bits changed is another string, not the same token.
 */
const fromBase64Url = (token: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined
  const binary = atob(token.replaceAll('-', '+').replaceAll('_', '/'))
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0))
  return toBase64Url(bytes.buffer) === token ? bytes : undefined
}

export const issueStoreToken = async (env: AuthEnv, storeId: string): Promise<string> =>
  toBase64Url(await crypto.subtle.sign('HMAC', await hmacKey(env), signedMessage(storeId)))

/** Constant-time: `crypto.subtle.verify` compares the HMACs without early exit. */
export const verifyStoreToken = async (env: AuthEnv, storeId: string, token: unknown): Promise<boolean> => {
  if (typeof token !== 'string' || !isValidStoreId(storeId)) return false
  const signature = fromBase64Url(token)
  if (signature === undefined) return false
  return crypto.subtle.verify('HMAC', await hmacKey(env), signature, signedMessage(storeId))
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export const bearerToken = (request: Request): string | undefined =>
  /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('Authorization') ?? '')?.[1]

/**
 * `GET /api/auth/:storeId`: the development token endpoint, so the app gets a
 * token from the Worker itself without any setup. Turn it off in production
 * with the var `DEV_AUTH = "false"` and issue tokens from your own backend.
 */
export const handleDevTokenRequest = async (request: Request, env: AuthEnv & { DEV_AUTH?: string }): Promise<Response> => {
  if (env.DEV_AUTH === 'false') return errorResponse(404, 'the development token endpoint is disabled (DEV_AUTH = "false")')
  if (request.method !== 'GET') return methodNotAllowed(['GET'])
  const storeId = new URL(request.url).pathname.slice('/api/auth/'.length)
  if (!isValidStoreId(storeId)) return errorResponse(400, 'storeId must be 1-64 characters of [a-zA-Z0-9_-]')
  return json({ storeId, token: await issueStoreToken(env, storeId) })
}
