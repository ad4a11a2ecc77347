import { type GetToken, errorFrom } from './remote-file-storage.ts'
import { FileError } from './errors.ts'

/**
 * Where the page (and the sync worker) get the token that lets them sync a store and move its
 * files. Tokens expire (the server says when): one is renewed once three quarters of its life
 * are over, on the next call or by `keepFresh`, and a 401 asks for a new one at once. The token
 * is kept in `cache` so that a page opened while the server is down still has it.
 */
export interface TokenProvider {
  /**
   * The token, fetched first if there is none, if it is due for renewal, or when `refresh` asks
   * for a new one. A token due for renewal that cannot be renewed now (offline) is still
   * returned: the server says whether it is still good.
   */
  getToken: GetToken
  /** The token as it is, without any request; '' when there is none. */
  cached(): string
  /**
   * Renews the token before it expires, for as long as it runs (a sync connection needs one at
   * every moment), and while the endpoint cannot be reached, again and again (1 s, 2 s, … up to
   * 30 s). Returns the stop.
   */
  keepFresh(): () => void
  /** Resolves once there is a token (at once if there is one): a first visit offline has none yet. */
  whenToken(): Promise<string>
}

export interface TokenProviderOptions {
  storeId: string
  /** The endpoint that issues tokens: `/api/auth/<storeId>` on the Worker. */
  endpoint: string
  fetch?: typeof globalThis.fetch
  cache?: Pick<Storage, 'getItem' | 'setItem'>
  /** A token the caller already has (the sync payload a worker was started with). */
  initial?: string
  now?: () => number
}

interface HeldToken {
  token: string
  /** When to ask for the next one (local clock, ms). */
  renewAt: number
}

// Renewing after this share of the token's life leaves a quarter of it for a slow or failed renewal.
const RENEW_AFTER = 0.75
// Without a lifetime (an older server, a cached token of an older version): renew at the next call.
const UNKNOWN = 0
// While the endpoint cannot be reached: again after 1 s, then twice as long each time, up to 30 s,
// so that a server back from an outage gives a new token within seconds.
const FIRST_RETRY_MS = 1_000
const MAX_RETRY_MS = 30_000

export const createTokenProvider = ({
  storeId,
  endpoint,
  fetch = globalThis.fetch.bind(globalThis),
  cache,
  initial,
  now = Date.now,
}: TokenProviderOptions): TokenProvider => {
  const cacheKey = `file-sync:token:${storeId}`
  let held: HeldToken | undefined = fromCache(cache?.getItem(cacheKey) ?? null) ?? (initial ? { token: initial, renewAt: UNKNOWN } : undefined)
  let inFlight: Promise<string> | undefined
  const waiting = new Set<(token: string) => void>()

  const fetchToken = async () => {
    const response = await fetch(endpoint, { credentials: 'same-origin' })
    // Typed like every transfer error, so that a server briefly down is retried, not final.
    if (!response.ok) throw await errorFrom(response, 'The server did not issue a token for this store')
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; expiresIn?: unknown }
    if (typeof body.token !== 'string' || body.token === '') {
      throw new FileError('server', 'The server answered without a token.')
    }
    // The lifetime in seconds, not the server's clock: this device's clock may be off.
    const lifetimeMs = typeof body.expiresIn === 'number' && body.expiresIn > 0 ? body.expiresIn * 1000 : 0
    held = { token: body.token, renewAt: lifetimeMs > 0 ? now() + lifetimeMs * RENEW_AFTER : UNKNOWN }
    cache?.setItem(cacheKey, JSON.stringify(held))
    for (const resolve of waiting) resolve(body.token)
    waiting.clear()
    return body.token
  }

  const renew = (): Promise<string> => {
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }

  const getToken: GetToken = async ({ refresh = false } = {}) => {
    if (held === undefined || refresh) return renew()
    if (now() < held.renewAt) return held.token
    const stale = held.token
    return renew().catch(() => stale)
  }

  return {
    getToken,
    cached: () => held?.token ?? '',
    whenToken: () => (held !== undefined ? Promise.resolve(held.token) : new Promise((resolve) => waiting.add(resolve))),
    keepFresh() {
      let timer: ReturnType<typeof setTimeout> | undefined
      let stopped = false
      let failures = 0
      const schedule = (delayMs: number) => {
        if (!stopped) timer = setTimeout(tick, Math.max(0, delayMs))
      }
      const tick = () => {
        const due = held === undefined || now() >= held.renewAt
        if (!due) return schedule((held?.renewAt ?? 0) - now())
        renew().then(
          () => {
            failures = 0
            schedule(held === undefined || held.renewAt === UNKNOWN ? MAX_RETRY_MS : held.renewAt - now())
          },
          () => schedule(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures++)),
        )
      }
      tick()
      return () => {
        stopped = true
        clearTimeout(timer)
      }
    },
  }
}

const fromCache = (value: string | null): HeldToken | undefined => {
  if (value === null || value === '') return undefined
  try {
    const parsed = JSON.parse(value) as Partial<HeldToken>
    if (typeof parsed.token === 'string' && parsed.token !== '' && typeof parsed.renewAt === 'number') {
      return { token: parsed.token, renewAt: parsed.renewAt }
    }
  } catch {
    // A token cached by an older version, as a bare string.
  }
  return { token: value, renewAt: UNKNOWN }
}
