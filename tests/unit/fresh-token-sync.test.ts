import { SearchParamsSchema } from '@livestore/sync-cf/common'
import { Schema } from '@livestore/livestore'
import { describe, expect, test } from 'vitest'

import { withCurrentToken } from '../../src/file-sync/livestore-0.4/fresh-token-sync.ts'

/** The socket URL as LiveStore's `makeWsSync` builds it, and its parameters as the Worker reads them. */
const syncUrl = (storeId: string, authToken: string) => {
  const encoded = Schema.encodeSync(SearchParamsSchema)({ storeId, payload: { authToken }, transport: 'ws' })
  return `https://app.example/api/sync?${new URLSearchParams(encoded as Record<string, string>).toString()}`
}
const readParams = (url: string) => Schema.decodeUnknownSync(SearchParamsSchema)(Object.fromEntries(new URL(url).searchParams))

describe('withCurrentToken', () => {
  test("puts the store's current token into a socket URL, which the Worker decodes as LiveStore's payload", () => {
    const url = syncUrl('store-1', 'expired-token')
    const rewritten = withCurrentToken(url, '/api/sync', (storeId) => (storeId === 'store-1' ? 'v1.fresh.token' : undefined))
    expect(readParams(rewritten)).toEqual({ storeId: 'store-1', payload: { authToken: 'v1.fresh.token' }, transport: 'ws' })
    expect(readParams(url).payload).toEqual({ authToken: 'expired-token' })
  })

  test('leaves other URLs, other stores and stores without a token yet as they are', () => {
    const tokens = (storeId: string) => (storeId === 'store-1' ? 'v1.fresh.token' : undefined)
    const otherPath = syncUrl('store-1', 'old').replace('/api/sync', '/elsewhere')
    expect(withCurrentToken(otherPath, '/api/sync', tokens)).toBe(otherPath)
    const otherStore = syncUrl('store-2', 'old')
    expect(withCurrentToken(otherStore, '/api/sync', tokens)).toBe(otherStore)
    expect(withCurrentToken(syncUrl('store-1', 'old'), '/api/sync', () => '')).toBe(syncUrl('store-1', 'old'))
  })
})
