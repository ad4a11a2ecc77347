import { type GetToken, errorFrom } from './remote-file-storage.ts'
import { FileError } from './errors.ts'

/**
 * Where the page gets the token that lets it sync a store and move its files. The token is
 * kept in `cache` so that a page opened while the server is down still knows it.
 */
export interface TokenProvider {
  /** The cached token, fetched first if there is none (or when `refresh` asks for a new one). */
  getToken: GetToken
  /** The cached token without any request; '' when there is none. */
  cached(): string
}

export interface TokenProviderOptions {
  storeId: string
  /** The endpoint that issues tokens; the development Worker serves `/api/auth/<storeId>`. */
  endpoint: string
  fetch?: typeof globalThis.fetch
  cache?: Pick<Storage, 'getItem' | 'setItem'>
}

export const createTokenProvider = ({
  storeId,
  endpoint,
  fetch = globalThis.fetch.bind(globalThis),
  cache,
}: TokenProviderOptions): TokenProvider => {
  const cacheKey = `file-sync:token:${storeId}`
  let token = cache?.getItem(cacheKey) ?? ''
  let inFlight: Promise<string> | undefined

  const fetchToken = async () => {
    const response = await fetch(endpoint, { credentials: 'same-origin' })
    // Typed like every transfer error, so that a server briefly down is retried, not final.
    if (!response.ok) throw await errorFrom(response, 'The server did not issue a token for this store')
    const body = (await response.json().catch(() => ({}))) as { token?: unknown }
    if (typeof body.token !== 'string' || body.token === '') {
      throw new FileError('server', 'The server answered without a token.')
    }
    token = body.token
    cache?.setItem(cacheKey, token)
    return token
  }

  return {
    async getToken({ refresh = false } = {}) {
      if (token && !refresh) return token
      inFlight ??= fetchToken().finally(() => {
        inFlight = undefined
      })
      return inFlight
    },
    cached: () => token,
  }
}
