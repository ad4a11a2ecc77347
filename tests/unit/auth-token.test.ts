import { afterEach, describe, expect, test, vi } from 'vitest'
import { createTokenProvider } from '../../src/file-sync/client/auth-token.ts'
import { toFileError } from '../../src/file-sync/client/errors.ts'
import { createFakeFetch, jsonResponse } from '../support/fakes.ts'
import { deferred, waitFor } from '../support/wait.ts'

const endpoint = '/api/auth/store-1'

const memoryCache = (entries: Record<string, string> = {}) => {
  const items = new Map(Object.entries(entries))
  return { items, getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value) }
}

/** A token endpoint handing out token-1, token-2, …, each valid for an hour. */
const tokenServer = () => {
  let issued = 0
  return createFakeFetch(() => jsonResponse({ token: `token-${++issued}`, expiresIn: 3600 }))
}

const HOUR = 60 * 60 * 1000
const cachedAs = (token: string, renewAt: number) => JSON.stringify({ token, renewAt })

describe('createTokenProvider', () => {
  test('fetches a token from the endpoint with the page’s cookies, then serves it from memory', async () => {
    const server = tokenServer()
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch })
    expect(provider.cached()).toBe('')
    expect(await provider.getToken()).toBe('token-1')
    expect(await provider.getToken()).toBe('token-1')
    expect(server.requests).toEqual([{ url: endpoint, init: { credentials: 'same-origin' } }])
    expect(provider.cached()).toBe('token-1')
  })

  test('keeps the token in the cache, per store, so a page opened offline still has it', async () => {
    const cache = memoryCache()
    await createTokenProvider({ storeId: 'store-1', endpoint, fetch: tokenServer().fetch, cache }).getToken()
    expect(JSON.parse(cache.items.get('file-sync:token:store-1') ?? '')).toMatchObject({ token: 'token-1' })

    const offline = createFakeFetch(() => Promise.reject(new TypeError('fetch failed')))
    const reopened = createTokenProvider({ storeId: 'store-1', endpoint, fetch: offline.fetch, cache })
    expect(reopened.cached()).toBe('token-1')
    expect(await reopened.getToken()).toBe('token-1')
    expect(offline.requests).toHaveLength(0)
    expect(createTokenProvider({ storeId: 'store-2', endpoint, fetch: offline.fetch, cache }).cached()).toBe('')
  })

  test('fetches a new token when asked to refresh, and keeps it', async () => {
    const cache = memoryCache({ 'file-sync:token:store-1': cachedAs('refused', Date.now() + HOUR) })
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: tokenServer().fetch, cache })
    expect(await provider.getToken({ refresh: true })).toBe('token-1')
    expect(await provider.getToken()).toBe('token-1')
    expect(JSON.parse(cache.items.get('file-sync:token:store-1') ?? '')).toMatchObject({ token: 'token-1' })
  })

  test('sends one request for callers asking at the same time', async () => {
    const answer = deferred<Response>()
    const server = createFakeFetch(() => answer.promise)
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch })
    const tokens = Promise.all([provider.getToken(), provider.getToken(), provider.getToken({ refresh: true })])
    await waitFor(() => server.requests.length === 1)
    answer.resolve(jsonResponse({ token: 'shared' }))
    expect(await tokens).toEqual(['shared', 'shared', 'shared'])
    expect(server.requests).toHaveLength(1)
  })

  test('says clearly when the server refuses, keeps the old token and asks again next time', async () => {
    let status = 503
    const server = createFakeFetch(() => (status === 200 ? jsonResponse({ token: 'fresh' }) : new Response('down', { status })))
    const cache = memoryCache({ 'file-sync:token:store-1': cachedAs('old', Date.now() + HOUR) })
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch, cache })
    await expect(provider.getToken({ refresh: true })).rejects.toThrow('The server did not issue a token for this store (HTTP 503).')
    expect(provider.cached()).toBe('old')
    status = 200
    expect(await provider.getToken({ refresh: true })).toBe('fresh')
  })

  test('rejects an answer without a token', async () => {
    for (const body of [{}, { token: '' }, { token: 42 }]) {
      const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: createFakeFetch(() => jsonResponse(body)).fetch })
      await expect(provider.getToken()).rejects.toThrow('The server answered without a token.')
      expect(provider.cached()).toBe('')
    }
  })

  test('passes a network failure on as it is, which transfers treat as retryable', async () => {
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: createFakeFetch(() => Promise.reject(new TypeError('fetch failed'))).fetch })
    const error = await provider.getToken().catch((error: unknown) => error)
    expect(toFileError(error).kind).toBe('network')
  })

  // Regression test, for a bug where a 5xx from the token endpoint is thrown as a plain Error, which a transfer turns into a
  // non-retryable 'bad-request': an upload that needs a fresh token while the server is briefly
  // down fails for good instead of waiting and retrying.
  test('turns a server error of the token endpoint into a retryable error', async () => {
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: createFakeFetch(() => new Response('', { status: 503 })).fetch })
    const error = await provider.getToken().catch((error: unknown) => error)
    expect(toFileError(error).retryable).toBe(true)
  })

  test("renews a token once three quarters of its life are over, by this device's clock", async () => {
    let now = 1_000_000
    const server = tokenServer()
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch, now: () => now })
    expect(await provider.getToken()).toBe('token-1')
    now += 0.74 * HOUR
    expect(await provider.getToken()).toBe('token-1')
    now += 0.02 * HOUR
    expect(await provider.getToken()).toBe('token-2')
    expect(server.requests).toHaveLength(2)
  })

  test('keeps using a token due for renewal while the endpoint cannot be reached: the server decides', async () => {
    let now = 1_000_000
    let reachable = true
    let issued = 0
    const server = createFakeFetch(() =>
      reachable ? jsonResponse({ token: `token-${++issued}`, expiresIn: 3600 }) : Promise.reject(new TypeError('fetch failed')),
    )
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch, now: () => now })
    await provider.getToken()
    reachable = false
    now += 0.9 * HOUR
    expect(await provider.getToken()).toBe('token-1')
    await expect(provider.getToken({ refresh: true })).rejects.toThrow()
    reachable = true
    expect(await provider.getToken()).toBe('token-2')
  })

  test('renews a token cached by an older version (a bare string, no lifetime) at the first call', async () => {
    const cache = memoryCache({ 'file-sync:token:store-1': 'from-before' })
    const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: tokenServer().fetch, cache })
    expect(provider.cached()).toBe('from-before')
    expect(await provider.getToken()).toBe('token-1')
  })

  describe('keepFresh', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    test('fetches a token at once, then a new one before each expires, and stops when told', async () => {
      vi.useFakeTimers()
      const server = tokenServer()
      const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch, initial: 'given', now: () => Date.now() })
      expect(provider.cached()).toBe('given')
      const stop = provider.keepFresh()
      await vi.waitFor(() => expect(provider.cached()).toBe('token-1'))
      await vi.advanceTimersByTimeAsync(0.7 * HOUR)
      expect(provider.cached()).toBe('token-1')
      await vi.advanceTimersByTimeAsync(0.1 * HOUR)
      expect(provider.cached()).toBe('token-2')
      stop()
      await vi.advanceTimersByTimeAsync(10 * HOUR)
      expect(provider.cached()).toBe('token-2')
      expect(server.requests).toHaveLength(2)
    })

    test('tries again after 1 s, 2 s, 4 s… up to every 30 s while the endpoint cannot be reached (a first visit offline)', async () => {
      vi.useFakeTimers()
      let reachable = false
      const server = createFakeFetch(() => (reachable ? jsonResponse({ token: 'at-last', expiresIn: 3600 }) : Promise.reject(new TypeError('fetch failed'))))
      const provider = createTokenProvider({ storeId: 'store-1', endpoint, fetch: server.fetch, now: () => Date.now() })
      const stop = provider.keepFresh()
      // At 0, 1, 3, 7, 15, 31, 61 and 91 s.
      await vi.advanceTimersByTimeAsync(91_500)
      expect(server.requests).toHaveLength(8)
      expect(provider.cached()).toBe('')
      reachable = true
      await vi.advanceTimersByTimeAsync(30_000)
      expect(provider.cached()).toBe('at-last')
      expect(server.requests).toHaveLength(9)
      stop()
    })
  })
})
