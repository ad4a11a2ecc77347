/**
 * The whole file API on the in-memory storage, in Node: what shows that the handler needs
 * nothing of R2 but the FileStorage interface (another store, S3 for one, would plug in the same
 * way). The real Worker on local R2 is tested in tests/worker/.
 *
 * Type-checked with the Worker's types (tsconfig.worker.json), as the handler is.
 */
import { beforeEach, describe, expect, test } from 'vitest'

import { issueStoreToken } from '../../src/file-sync/server/auth.ts'
import { handleFileRequest, type FilesEnv } from '../../src/file-sync/server/files.ts'
import { markKey, sweepPendingDeletions } from '../../src/file-sync/server/pending-deletion.ts'
import { memoryStorage } from '../../src/file-sync/server/storage/memory.ts'

const MiB = 1024 * 1024
const env: FilesEnv = { AUTH_SECRET: 'memory-test-secret', MAX_UPLOAD_BYTES: String(6 * MiB), DELETE_GRACE_SECONDS: '60' }
const storeId = 'memory-store'
const sha256 = async (bytes: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))].map((byte) => byte.toString(16).padStart(2, '0')).join('')
const randomBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  // getRandomValues fills at most 64 KiB at a time.
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)))
  return bytes
}

let storage: ReturnType<typeof memoryStorage>
let token: string

beforeEach(async () => {
  storage = memoryStorage()
  token = (await issueStoreToken(env, { storeId, userId: 'tester' })).token
})

const call = (path: string, { method = 'GET', body, headers = {} }: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {}) => {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
  const allHeaders = new Headers({ Authorization: `Bearer ${token}`, ...headers })
  // Node's fetch Request does not set it by itself; the API requires it on uploads.
  if (bytes !== undefined) allHeaders.set('Content-Length', String(bytes.byteLength))
  return handleFileRequest(new Request(`https://app.example/storage${path}`, { method, body: bytes, headers: allHeaders }), env, {
    basePath: '/storage',
    storage,
  })
}
const fileKey = (hash: string) => `${storeId}/${hash}`

describe('the file API on the in-memory storage', () => {
  test('stores a file under its hash, reads it whole and by range, and refuses other bytes', async () => {
    const bytes = randomBytes(1000)
    const hash = await sha256(bytes)
    expect((await call(`/${storeId}/${hash}`, { method: 'PUT', body: bytes })).status).toBe(201)
    expect((await call(`/${storeId}/${hash}`, { method: 'PUT', body: bytes })).status).toBe(200)
    const whole = await call(`/${storeId}/${hash}`)
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(bytes)
    const range = await call(`/${storeId}/${hash}`, { headers: { Range: 'bytes=100-199' } })
    expect(range.status).toBe(206)
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(bytes.subarray(100, 200))

    const other = await sha256(new Uint8Array([1]))
    expect((await call(`/${storeId}/${other}`, { method: 'PUT', body: bytes })).status).toBe(400)
    expect(storage.keys()).toEqual([fileKey(hash)])
  })

  const uploadInParts = async (hash: string, parts: Uint8Array[], order = parts.map((_, index) => index)) => {
    const size = parts.reduce((total, part) => total + part.byteLength, 0)
    const created = await call(`/${storeId}/${hash}/uploads`, { method: 'POST', body: JSON.stringify({ size }) })
    const { uploadId } = (await created.json()) as { uploadId: string }
    const sent: Array<{ partNumber: number; etag: string }> = []
    for (const index of order) {
      const part = await call(`/${storeId}/${hash}/uploads/${encodeURIComponent(uploadId)}/parts/${index + 1}`, { method: 'PUT', body: parts[index] })
      sent.push((await part.json()) as { partNumber: number; etag: string })
    }
    return call(`/${storeId}/${hash}/uploads/${encodeURIComponent(uploadId)}`, { method: 'POST', body: JSON.stringify({ parts: sent }) })
  }
  const inFives = (bytes: Uint8Array) => [bytes.subarray(0, 5 * MiB), bytes.subarray(5 * MiB, 10 * MiB), bytes.subarray(10 * MiB)]

  test('joins an upload in parts apart from its key, and publishes it only once the storage has checked it', async () => {
    const bytes = randomBytes(12 * MiB)
    const hash = await sha256(bytes)
    const joined = await uploadInParts(hash, inFives(bytes), [2, 0, 1])
    expect(joined.status).toBe(201)
    expect(await joined.json()).toMatchObject({ size: 12 * MiB, verified: 'by-storage' })
    expect(new Uint8Array(await (await call(`/${storeId}/${hash}`)).arrayBuffer())).toEqual(bytes)
    // Nothing staged is left: only the file itself.
    expect(storage.keys()).toEqual([fileKey(hash)])

    const claimed = await sha256(randomBytes(12 * MiB))
    const wrong = await uploadInParts(claimed, inFives(bytes))
    expect(wrong.status).toBe(400)
    expect(storage.keys()).toEqual([fileKey(hash)])
  })

  test('larger than one put takes, reads the staged upload through SHA-256 and copies it in parts', async () => {
    storage = memoryStorage({ maxPutBytes: 6 * MiB })
    const bytes = randomBytes(12 * MiB)
    const hash = await sha256(bytes)
    const joined = await uploadInParts(hash, inFives(bytes))
    expect(await joined.json()).toMatchObject({ size: 12 * MiB, verified: 'read-back' })
    expect(new Uint8Array(await (await call(`/${storeId}/${hash}`)).arrayBuffer())).toEqual(bytes)
    expect(storage.keys()).toEqual([fileKey(hash)])

    const claimed = await sha256(randomBytes(12 * MiB))
    const wrong = await uploadInParts(claimed, inFives(bytes))
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toEqual({ error: expect.stringMatching(/does not match its SHA-256.*nothing was stored/) })
    expect(storage.keys()).toEqual([fileKey(hash)])
  })

  test('ends an upload started before uploads were staged: 404, and the client starts a new one', async () => {
    const bytes = randomBytes(6 * MiB)
    const hash = await sha256(bytes)
    // What an earlier version left: an upload joining under the content key, its record without a staging key.
    const { uploadId } = await storage.createMultipartUpload(fileKey(hash), { contentType: 'image/png', customMetadata: {} })
    await storage.put(`.upload-records/${fileKey(hash)}/${uploadId}`, JSON.stringify({ size: bytes.byteLength }))
    const part = await storage.uploadPart(fileKey(hash), uploadId, 1, bytes)

    const path = `/${storeId}/${hash}/uploads/${encodeURIComponent(uploadId)}`
    const complete = await call(path, { method: 'POST', body: JSON.stringify({ parts: [part] }) })
    expect(complete.status).toBe(404)
    expect(await complete.json()).toEqual({ error: expect.stringContaining('start a new one') })
    expect(storage.keys()).toEqual([])
    await expect(storage.completeMultipartUpload(fileKey(hash), uploadId, [part])).rejects.toThrow(/no upload/)
  })

  test("keeps a deleted file's bytes until the sweep after the grace period, unless restored", async () => {
    const bytes = randomBytes(100)
    const hash = await sha256(bytes)
    await call(`/${storeId}/${hash}`, { method: 'PUT', body: bytes })
    expect((await call(`/${storeId}/${hash}`, { method: 'DELETE' })).status).toBe(202)
    expect(storage.keys()).toContain(markKey({ storeId, sha256: hash, key: fileKey(hash) }))
    expect(await (await call(`/${storeId}/${hash}/restore`, { method: 'POST' })).json()).toMatchObject({ restored: true })
    expect(await sweepPendingDeletions(storage, { now: Date.now() + 120_000, graceMs: 60_000 })).toEqual({ removed: [], waiting: 0, failed: 0 })

    await call(`/${storeId}/${hash}`, { method: 'DELETE' })
    expect(await sweepPendingDeletions(storage, { now: Date.now(), graceMs: 60_000 })).toMatchObject({ removed: [], waiting: 1 })
    expect(await sweepPendingDeletions(storage, { now: Date.now() + 60_000, graceMs: 60_000 })).toEqual({ removed: [fileKey(hash)], waiting: 0, failed: 0 })
    expect(storage.keys()).toEqual([])
    expect((await call(`/${storeId}/${hash}`)).status).toBe(404)
  })

  test('answers nothing without a token of the store', async () => {
    const hash = await sha256(new Uint8Array([7]))
    const foreign = (await issueStoreToken(env, { storeId: 'another-store', userId: 'tester' })).token
    const refused = await handleFileRequest(
      new Request(`https://app.example/storage/${storeId}/${hash}`, { headers: { Authorization: `Bearer ${foreign}` } }),
      env,
      { basePath: '/storage', storage },
    )
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ error: expect.stringContaining('another store') })
  })
})
