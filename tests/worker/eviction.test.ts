/**
 * Eviction on the real Worker: an operator call, with its own secret, that removes every byte a
 * store has on the server and nothing of its event history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, multipartClient, newStoreClient, randomFile } from './helpers.ts'
import { call, firstEvent, openSocket, syncUrlOf } from '../support/sync-socket.ts'

const ADMIN_SECRET = 'test-admin-secret'

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({ vars: { ADMIN_SECRET } })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

/** `secret: null` sends no Authorization header. */
const evict = (storeId: string, secret: string | null = ADMIN_SECRET, method = 'POST') =>
  fetch(`${worker.url}/api/admin/stores/${storeId}/evict`, { method, headers: secret === null ? {} : bearer(secret) })

const newStore = () => newStoreClient(worker.url)

describe('eviction', () => {
  it("removes the store's files, pending deletions and unfinished uploads, and no other store's", async () => {
    const store = await newStore()
    const other = await newStore()
    const files = [randomFile(1000), randomFile(2000)]
    for (const file of files) expect((await store.put(file)).status).toBe(201)
    await other.put(files[0]!)
    // A deletion pending, and an upload in parts begun.
    await fetch(store.fileUrl(files[1]!.sha256), { method: 'DELETE', headers: bearer(store.token) })
    const unfinished = randomFile(10)
    expect((await multipartClient(store.fileUrl(unfinished.sha256), store.token).create({ size: 6 * 1024 * 1024 })).status).toBe(201)

    const response = await evict(store.storeId)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ storeId: store.storeId, evictedFiles: 2, evictedBytes: 3000, failed: 0, done: true })
    for (const file of files) expect(await store.status(file.sha256)).toBe(404)
    expect(await other.status(files[0]!.sha256)).toBe(200)
    // Evicting again finds nothing.
    expect(await (await evict(store.storeId)).json()).toMatchObject({ evictedFiles: 0 })
    await expect.poll(() => worker.output()).toMatch(new RegExp(`"route":"admin-evict","store":"${store.storeId}","status":200,"files":2`))
  })

  it('leaves the event history as it is: the same head, the same events for a device that pulls', async () => {
    const store = await newStore()
    const socket = await openSocket(syncUrlOf(worker.url, store.storeId, { authToken: store.token }))
    try {
      const push = await call(socket, 'SyncWsRpc.Push', {
        storeId: store.storeId,
        payload: { authToken: store.token },
        batch: [firstEvent],
        backendId: { _tag: 'None' },
      })
      expect(push).toEqual({ _tag: 'Success', value: {} })
      await store.put(randomFile(100))
      expect(await store.syncHead()).toBe(1)

      expect((await evict(store.storeId)).status).toBe(200)
      expect(await store.syncHead()).toBe(1)
      const pull = await call(socket, 'SyncWsRpc.Pull', { storeId: store.storeId, payload: { authToken: store.token }, cursor: { _tag: 'None' }, live: false })
      expect(pull).toMatchObject({ _tag: 'Chunk', values: [{ batch: [{ eventEncoded: firstEvent }] }] })
    } finally {
      socket.close()
    }
  })

  it("uploads are taken again after it: a device restores the server's copy", async () => {
    const store = await newStore()
    const file = randomFile(500)
    await store.put(file)
    await evict(store.storeId)
    expect((await store.put(file)).status).toBe(201)
    expect(await store.status(file.sha256)).toBe(200)
  })

  it('needs the admin secret, never a store token, and only answers POST', async () => {
    const store = await newStore()
    const file = randomFile(10)
    await store.put(file)
    for (const secret of [null, 'wrong', store.token, `${ADMIN_SECRET}x`]) {
      const response = await evict(store.storeId, secret)
      expect(response.status, String(secret)).toBe(401)
      expect(await response.text()).not.toContain(ADMIN_SECRET)
    }
    expect((await evict(store.storeId, ADMIN_SECRET, 'GET')).status).toBe(405)
    expect((await evict('bad.id')).status).toBe(400)
    expect(await store.status(file.sha256)).toBe(200)
    expect(worker.output()).not.toContain(ADMIN_SECRET)
  })
})

describe('eviction of more objects than one call removes', () => {
  const BATCH = 3
  let small: RunningWorker
  beforeAll(async () => {
    small = await startWorker({ vars: { ADMIN_SECRET, MAINTENANCE_BATCH: String(BATCH) } })
  }, 60_000)
  afterAll(async () => {
    await small?.close()
  })

  it('removes at most MAINTENANCE_BATCH objects a call, says it is not done, and the next calls finish', async () => {
    const store = await newStoreClient(small.url)
    const files = Array.from({ length: 7 }, (_, index) => randomFile(100 + index))
    for (const file of files) expect((await store.put(file)).status).toBe(201)
    // Two deletions pending: their marks go too, after the files.
    for (const file of files.slice(0, 2)) expect((await store.remove(file.sha256)).status).toBe(202)

    const calls: Array<{ evictedFiles: number; done: boolean; failed: number }> = []
    for (let call = 0; call < 10 && calls.at(-1)?.done !== true; call += 1) {
      const response = await fetch(`${small.url}/api/admin/stores/${store.storeId}/evict`, { method: 'POST', headers: bearer(ADMIN_SECRET) })
      expect(response.status).toBe(200)
      calls.push((await response.json()) as { evictedFiles: number; done: boolean; failed: number })
    }
    // 7 files and 2 marks, 3 at a time: three calls remove them; the third used its whole batch
    // before looking at the upload states, so a fourth finds nothing left and says done.
    expect(calls.map((call) => call.done)).toEqual([false, false, false, true])
    expect(calls.reduce((total, call) => total + call.evictedFiles, 0)).toBe(7)
    expect(calls.every((call) => call.evictedFiles <= BATCH && call.failed === 0)).toBe(true)
    for (const file of files) expect(await store.status(file.sha256)).toBe(404)
  })
})
