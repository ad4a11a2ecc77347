/**
 * What an error answer looks like, whatever caused it: JSON with `nosniff`, so that no browser
 * reads it as anything else, and no raw input of the request (path, origin, parameters) in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, newStoreId, randomFile, rawRequest } from './helpers.ts'
import { syncUrlOf } from '../support/sync-socket.ts'

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker()
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const probe = '<script>alert(1)</script>'

describe('error answers', () => {
  it('are JSON with nosniff, and echo no raw input', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const file = randomFile(8)
    const sync = new URL(syncUrlOf(worker.url, `x${probe}`, { authToken: 'nope' }, 'http:'))
    const answers = [
      await rawRequest(worker.url, { path: `/api/${encodeURIComponent(probe)}` }),
      await rawRequest(worker.url, { path: `/api/files/${encodeURIComponent(probe)}/x` }),
      await rawRequest(worker.url, { path: `/api/files/${storeId}/${file.sha256}` }),
      await rawRequest(worker.url, { path: `/api/files/${storeId}/${file.sha256}`, headers: bearer(token) }),
      await rawRequest(worker.url, { method: 'PATCH', path: `/api/files/${storeId}/${file.sha256}`, headers: bearer(token) }),
      await rawRequest(worker.url, { path: `/api/files/${storeId}/${file.sha256}`, headers: { Origin: `https://evil.example/${probe}` } }),
      await rawRequest(worker.url, { path: sync.pathname + sync.search }),
    ]
    for (const answer of answers) {
      expect(answer.status, answer.body).toBeGreaterThanOrEqual(400)
      expect(answer.headers['content-type'], answer.body).toBe('application/json')
      expect(answer.headers['x-content-type-options'], answer.body).toBe('nosniff')
      expect(answer.body).not.toContain('<script>')
      expect(answer.body).not.toContain(encodeURIComponent(probe))
      expect(typeof (JSON.parse(answer.body) as { error: unknown }).error).toBe('string')
    }
  })
})
