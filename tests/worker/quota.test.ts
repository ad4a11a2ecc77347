/**
 * What a store may hold on the server (STORE_MAX_FILES, STORE_MAX_BYTES), counted in its Durable
 * Object: new content over a limit is refused with 413 before a byte is stored; content already
 * there costs nothing again; what the sweep or an eviction removes makes room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, multipartClient, newStoreClient, randomFile } from './helpers.ts'

const ADMIN_SECRET = 'test-admin-secret-for-quotas'
const MAX_FILES = 3
const MAX_BYTES = 3000

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({
    testScheduled: true,
    vars: { ADMIN_SECRET, STORE_MAX_FILES: String(MAX_FILES), STORE_MAX_BYTES: String(MAX_BYTES), DELETE_GRACE_SECONDS: '1' },
  })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

describe("a store's quota", () => {
  it('refuses a file over the number of files with 413, stores nothing of it, and counts content once', async () => {
    const store = await newStoreClient(worker.url)
    const files = Array.from({ length: MAX_FILES }, (_, index) => randomFile(100 + index))
    for (const file of files) expect((await store.put(file)).status).toBe(201)
    // The same content again is there already: no new file.
    expect((await store.put(files[0]!)).status).toBe(200)
    const extra = randomFile(10)
    const refused = await store.put(extra)
    expect(refused.status).toBe(413)
    expect(((await refused.json()) as { error: string }).error).toContain('STORE_MAX_FILES')
    expect(await store.status(extra.sha256)).toBe(404)
    // In parts too, refused when it starts.
    expect((await multipartClient(store.fileUrl(extra.sha256), store.token).create({ size: 10 })).status).toBe(413)
    // Another store has its own count.
    expect((await (await newStoreClient(worker.url)).put(extra)).status).toBe(201)

    // Deleted, and swept once the grace period is over: room again.
    expect((await store.remove(files[1]!.sha256)).status).toBe(202)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    await worker.runScheduled()
    expect((await store.put(extra)).status).toBe(201)
  })

  it("refuses content over the store's bytes, and an eviction makes room", async () => {
    const store = await newStoreClient(worker.url)
    expect((await store.put(randomFile(2000))).status).toBe(201)
    const tooMuch = randomFile(1500)
    const refused = await store.put(tooMuch)
    expect(refused.status).toBe(413)
    expect(((await refused.json()) as { error: string }).error).toContain('STORE_MAX_BYTES')
    expect((await store.put(randomFile(900))).status).toBe(201)

    const evicted = await fetch(`${worker.url}/api/admin/stores/${store.storeId}/evict`, { method: 'POST', headers: bearer(ADMIN_SECRET) })
    expect(await evicted.json()).toMatchObject({ evictedFiles: 2, done: true })
    expect((await store.put(tooMuch)).status).toBe(201)
  })
})
