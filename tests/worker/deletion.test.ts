/**
 * Delayed deletion on the real Worker: a DELETE marks a file's bytes, the cron trigger's sweep
 * removes them once the grace period (here 4 s) is over, and a restore or another file with the
 * same content keeps them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, multipartClient, newStoreClient, newStoreId, randomFile } from './helpers.ts'

const GRACE_SECONDS = 4

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({ testScheduled: true, vars: { DELETE_GRACE_SECONDS: String(GRACE_SECONDS) } })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the Worker's scheduled handler, as the cron trigger of wrangler.toml does every hour. */
const sweep = () => worker.runScheduled()

const newStore = () => newStoreClient(worker.url)

describe('a deleted file', () => {
  it('keeps its bytes through a sweep inside the grace period, and loses them in the first sweep after it', async () => {
    const store = await newStore()
    const file = randomFile(1000)
    expect((await store.put(file)).status).toBe(201)
    expect((await store.remove(file.sha256)).status).toBe(202)

    await sweep()
    const during = await store.read(file.sha256)
    expect(during.status).toBe(200)
    expect(new Uint8Array(await during.arrayBuffer())).toEqual(file.bytes)

    await sleep(GRACE_SECONDS * 1000 + 500)
    await sweep()
    expect((await store.read(file.sha256)).status).toBe(404)
    // Gone for good: nothing left to restore, and nothing left to delete.
    expect((await store.restore(file.sha256)).status).toBe(404)
    expect((await store.remove(file.sha256)).status).toBe(204)
    expect(worker.output()).toMatch(/"route":"sweep","removed":[1-9]/)
  })

  it('counts its grace period from the last deletion asked for', async () => {
    const store = await newStore()
    const file = randomFile(100)
    await store.put(file)
    await store.remove(file.sha256)
    await sleep((GRACE_SECONDS - 1) * 1000)
    // Another device deleted it again (restored and deleted meanwhile, or late to hear of it).
    await store.remove(file.sha256)
    await sleep(1500)
    await sweep()
    expect((await store.read(file.sha256)).status).toBe(200)
    await sleep(GRACE_SECONDS * 1000)
    await sweep()
    expect((await store.read(file.sha256)).status).toBe(404)
  })
})

describe('a file restored inside the grace period', () => {
  it('keeps its bytes for good', async () => {
    const store = await newStore()
    const file = randomFile(500)
    await store.put(file)
    await store.remove(file.sha256)
    const restored = await store.restore(file.sha256)
    expect(restored.status).toBe(200)
    expect(await restored.json()).toEqual({ key: `${store.storeId}/${file.sha256}`, size: 500, restored: true })

    await sleep(GRACE_SECONDS * 1000 + 500)
    await sweep()
    const read = await store.read(file.sha256)
    expect(read.status).toBe(200)
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(file.bytes)
    // Restoring what is not pending deletion changes nothing.
    expect(await (await store.restore(file.sha256)).json()).toMatchObject({ restored: false })
  })
})

describe('content another file refers to', () => {
  it('is kept when another file of the store uploads the same bytes during the grace period', async () => {
    const store = await newStore()
    const file = randomFile(300)
    await store.put(file)
    await store.remove(file.sha256)
    // A new file with the same content: the upload finds the bytes there and keeps them.
    const again = await store.put(file)
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ created: false })

    await sleep(GRACE_SECONDS * 1000 + 500)
    await sweep()
    expect((await store.read(file.sha256)).status).toBe(200)
  })

  it('is kept when the other file starts an upload in parts of the same content', async () => {
    const store = await newStore()
    const file = randomFile(300)
    await store.put(file)
    await store.remove(file.sha256)
    const created = await multipartClient(store.fileUrl(file.sha256), store.token).create({ size: 300, mimeType: 'application/octet-stream' })
    expect(created.status).toBe(200)

    await sleep(GRACE_SECONDS * 1000 + 500)
    await sweep()
    expect((await store.read(file.sha256)).status).toBe(200)
  })

  it("in another store is that store's own: a deletion in one store leaves the other's bytes", async () => {
    const a = await newStore()
    const b = await newStore()
    const file = randomFile(200)
    await a.put(file)
    await b.put(file)
    await a.remove(file.sha256)
    await sleep(GRACE_SECONDS * 1000 + 500)
    await sweep()
    expect((await a.read(file.sha256)).status).toBe(404)
    expect((await b.read(file.sha256)).status).toBe(200)
  })
})

describe('restore', () => {
  it("needs the store's token and only answers POST", async () => {
    const store = await newStore()
    const file = randomFile(10)
    await store.put(file)
    expect((await fetch(`${store.fileUrl(file.sha256)}/restore`, { method: 'POST' })).status).toBe(401)
    const other = await fetchToken(worker.url, newStoreId())
    expect((await fetch(`${store.fileUrl(file.sha256)}/restore`, { method: 'POST', headers: bearer(other) })).status).toBe(401)
    expect((await fetch(`${store.fileUrl(file.sha256)}/restore`, { headers: bearer(store.token) })).status).toBe(405)
  })
})

describe('a sweep over more deletions than one run removes', () => {
  const BATCH = 2
  let small: RunningWorker
  beforeAll(async () => {
    small = await startWorker({ testScheduled: true, vars: { DELETE_GRACE_SECONDS: '1', MAINTENANCE_BATCH: String(BATCH) } })
  }, 60_000)
  afterAll(async () => {
    await small?.close()
  })

  it('removes at most MAINTENANCE_BATCH files a run, and the next runs carry on where it stopped until all are gone', async () => {
    const store = await newStoreClient(small.url)
    const files = Array.from({ length: 5 }, (_, index) => randomFile(50 + index))
    for (const file of files) {
      expect((await store.put(file)).status).toBe(201)
      expect((await store.remove(file.sha256)).status).toBe(202)
    }
    await sleep(1_500)
    const stillStored = async () => (await Promise.all(files.map((file) => store.status(file.sha256)))).filter((status) => status === 200).length
    const left: number[] = []
    for (let run = 0; run < 3; run += 1) {
      await small.runScheduled()
      left.push(await stillStored())
    }
    expect(left).toEqual([3, 1, 0])
    expect(small.output()).toMatch(/"route":"sweep","removed":2,"waiting":0,"failed":0,"more":true/)
  })
})
