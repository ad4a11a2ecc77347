/**
 * The file API's rate per user and store (Cloudflare's rate-limiting binding, `[[ratelimits]]` in
 * wrangler.toml), here set to 5 requests in 10 s: the sixth is refused with 429 and a
 * Retry-After, another user of the store and another store keep their own count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RunningWorker } from '../support/wrangler.ts'
import { bearer, startWorkerApp, newStoreId, randomFile, signedToken } from './helpers.ts'

const AUTH_SECRET = 'test-secret-for-the-rate-limit-test'
const LIMIT = 5

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorkerApp('src/workers/cloudflare-sync.ts', 'livestore-file-sync-rate-limit', {
    vars: { AUTH_SECRET },
    edit: (toml) => toml.replace(/simple = \{ limit = \d+, period = 10 \}/, `simple = { limit = ${LIMIT}, period = 60 }`),
  })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const read = (storeId: string, user: string) =>
  fetch(`${worker.url}/api/files/${storeId}/${randomFile(1).sha256}`, { headers: bearer(signedToken({ store: storeId, user, secret: AUTH_SECRET })) })

describe("the file API's rate", () => {
  it("refuses a user's requests over the limit in a store with 429 and Retry-After; others keep their own count", async () => {
    const storeId = newStoreId()
    const statuses: number[] = []
    for (let request = 0; request <= LIMIT; request += 1) statuses.push((await read(storeId, 'alice')).status)
    // Nothing is stored: each is a 404, until the limit.
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(404), 429])
    const refused = await read(storeId, 'alice')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(refused.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(((await refused.json()) as { error: string }).error).toContain('too many requests')
    // Another user of the same store, and the same user in another store: not limited by alice's.
    expect((await read(storeId, 'bob')).status).toBe(404)
    expect((await read(newStoreId(), 'alice')).status).toBe(404)
    // An upload refused so stores nothing.
    const file = randomFile(10)
    const put = await fetch(`${worker.url}/api/files/${storeId}/${file.sha256}`, {
      method: 'PUT',
      body: file.bytes,
      headers: bearer(signedToken({ store: storeId, user: 'alice', secret: AUTH_SECRET })),
    })
    expect(put.status).toBe(429)
  })
})

describe("the store's head", () => {
  it("counts with the file API's requests of the user and store", async () => {
    const storeId = newStoreId()
    const head = (user: string) =>
      fetch(`${worker.url}/api/sync-head/${storeId}`, { headers: bearer(signedToken({ store: storeId, user, secret: AUTH_SECRET })) })
    const statuses: number[] = []
    for (let request = 0; request <= LIMIT; request += 1) statuses.push((await head('carol')).status)
    // Nothing was ever pushed to the store: each is a 404, until the limit.
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(404), 429])
    expect((await read(storeId, 'carol')).status).toBe(429)
    expect((await head('dave')).status).toBe(404)
  })
})
