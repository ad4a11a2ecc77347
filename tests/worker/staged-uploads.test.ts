/**
 * Uploads in parts are joined at a staging key and published under their content key only once
 * verified, on the real Worker (wrangler dev, local R2). The Worker here (apps/small-puts.ts)
 * takes at most 6 MiB in one put, so that both ways of publishing run: a file up to that by one
 * put R2 checks (`by-storage`), a larger one read through SHA-256 and copied in parts
 * (`read-back`, the way a file over R2's 4.995 GiB goes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, multipartClient, newStoreId, randomFile, sha256Hex, startWorkerApp } from './helpers.ts'

const MiB = 1024 * 1024

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorkerApp('tests/worker/apps/test-storage.ts', 'livestore-file-sync-test-storage')
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

type TestFile = { bytes: Uint8Array<ArrayBuffer>; sha256: string }

const newStore = async () => {
  const storeId = newStoreId()
  const token = await fetchToken(worker.url, storeId)
  const fileUrl = (sha256: string) => `${worker.url}/api/files/${storeId}/${sha256}`
  const read = (sha256: string, method = 'GET') => fetch(fileUrl(sha256), { method, headers: bearer(token) })
  /** The bucket's keys the upload bookkeeping of this store left: staged objects and records. */
  const leftovers = async () => {
    const keys: string[] = []
    for (const prefix of ['.staging/', '.upload-records/']) {
      const response = await fetch(`${worker.url}/test/keys?prefix=${encodeURIComponent(`${prefix}${storeId}/`)}`)
      keys.push(...((await response.json()) as string[]))
    }
    return keys
  }
  /** Starts an upload claiming `claimed`'s hash and sends `sent`'s bytes as its parts; completing is the caller's. */
  const staged = async (claimed: TestFile, sent: TestFile = claimed, partSize = 5 * MiB) => {
    const client = multipartClient(fileUrl(claimed.sha256), token)
    const created = await client.create({ size: sent.bytes.length, mimeType: 'image/jpeg', partSize })
    expect(created.status).toBe(201)
    const { uploadId } = (await created.json()) as { uploadId: string }
    const parts: { partNumber: number; etag: string }[] = []
    for (let offset = 0, partNumber = 1; offset < sent.bytes.length; offset += partSize, partNumber++) {
      const part = await client.part(uploadId, partNumber, sent.bytes.slice(offset, offset + partSize))
      expect(part.status).toBe(200)
      parts.push((await part.json()) as { partNumber: number; etag: string })
    }
    return { complete: () => client.complete(uploadId, parts), uploadId, parts }
  }
  return { storeId, token, fileUrl, read, leftovers, staged }
}

const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

describe('an upload in parts', () => {
  it('larger than one put: read through SHA-256 and copied in parts under its key, nothing staged left', async () => {
    const store = await newStore()
    const file = randomFile(13 * MiB + 3)
    const { complete } = await store.staged(file)
    const completed = await complete()
    expect(completed.status).toBe(201)
    expect(await completed.json()).toEqual({ key: `${store.storeId}/${file.sha256}`, size: file.bytes.length, created: true, verified: 'read-back' })

    const download = await store.read(file.sha256)
    expect(download.headers.get('Content-Type')).toBe('image/jpeg')
    expect(sha256Hex(await bytesOf(download))).toBe(file.sha256)
    expect(await store.leftovers()).toEqual([])
  })

  for (const [way, size] of [
    ['one put R2 checks', 5 * MiB + 1],
    ['a read back', 13 * MiB + 3],
  ] as const) {
    it(`with other bytes than its key names (verified by ${way}): 400, nothing under the key, nothing staged left`, async () => {
      const store = await newStore()
      const claimed = randomFile(size)
      const { complete } = await store.staged(claimed, randomFile(size))
      const refused = await complete()
      expect(refused.status).toBe(400)
      expect(await refused.json()).toEqual({ error: expect.stringMatching(/does not match its SHA-256.*nothing was stored/) })
      expect((await store.read(claimed.sha256)).status).toBe(404)
      expect(await store.leftovers()).toEqual([])
    })
  }

  it('is never readable under its key while it is verified, even when verifying reads it back', async () => {
    const store = await newStore()
    const claimed = randomFile(40 * MiB)
    // Parts of 16 MiB, published in copies of 6 MiB after a read of 40 MiB: a while to look in.
    const { complete } = await store.staged(claimed, randomFile(40 * MiB), 16 * MiB)
    let done = false
    const completing = complete().finally(() => (done = true))
    const seen: number[] = []
    while (!done) seen.push((await store.read(claimed.sha256, 'HEAD')).status)
    expect((await completing).status).toBe(400)
    expect(seen.length).toBeGreaterThan(3)
    expect(new Set(seen)).toEqual(new Set([404]))
    expect((await store.read(claimed.sha256)).status).toBe(404)
  }, 60_000)

  for (const [way, size] of [
    ['one put R2 checks', 5 * MiB + 1],
    ['a read back', 13 * MiB + 3],
  ] as const) {
    it(`racing another upload of other bytes under the same key (${way}): the verified copy stays`, async () => {
      const store = await newStore()
      const file = randomFile(size)
      const good = await store.staged(file)
      const bad = await store.staged(file, randomFile(size))
      const late = await store.staged(file, randomFile(size))
      // Two at once, then a third after the good one is in.
      const [goodAnswer, badAnswer] = await Promise.all([good.complete(), bad.complete()])
      expect(goodAnswer.status).toBe(201)
      // Refused (400), or found the content already published (200, created: false): never stored.
      expect([200, 400]).toContain(badAnswer.status)
      expect(sha256Hex(await bytesOf(await store.read(file.sha256)))).toBe(file.sha256)

      expect((await late.complete()).status).toBe(200)
      expect(sha256Hex(await bytesOf(await store.read(file.sha256)))).toBe(file.sha256)
      expect(await store.leftovers()).toEqual([])
    }, 60_000)
  }
})

describe('when the storage fails while writing a file', () => {
  const failing = { 'X-Test-Fail-Put': '1' }

  it('a single PUT is a 500, which the client retries (not a 400: its body was whole), and stores nothing', async () => {
    const store = await newStore()
    const file = randomFile(100_000)
    const put = (headers: Record<string, string> = {}) =>
      fetch(store.fileUrl(file.sha256), { method: 'PUT', body: file.bytes, headers: { ...bearer(store.token), ...headers } })
    expect((await put(failing)).status).toBe(500)
    expect((await store.read(file.sha256, 'HEAD')).status).toBe(404)
    expect((await put()).status).toBe(201)
  })

  it('publishing an upload in parts is a 500; the complete sent again publishes what was staged', async () => {
    const store = await newStore()
    const file = randomFile(5 * MiB + 1)
    const { uploadId, parts } = await store.staged(file)
    const complete = (headers: Record<string, string> = {}) =>
      fetch(`${store.fileUrl(file.sha256)}/uploads/${encodeURIComponent(uploadId)}`, {
        method: 'POST',
        body: JSON.stringify({ parts }),
        headers: { ...bearer(store.token), 'Content-Type': 'application/json', ...headers },
      })
    expect((await complete(failing)).status).toBe(500)
    expect((await store.read(file.sha256, 'HEAD')).status).toBe(404)
    // Joined and kept, waiting for the complete sent again.
    expect((await store.leftovers()).length).toBe(2)
    const again = await complete()
    expect(again.status).toBe(201)
    expect(await again.json()).toMatchObject({ created: true, verified: 'by-storage' })
    expect(sha256Hex(await bytesOf(await store.read(file.sha256)))).toBe(file.sha256)
    expect(await store.leftovers()).toEqual([])
  })
})
