/**
 * What an error answer looks like, whatever caused it: JSON with `nosniff`, so that no browser
 * reads it as anything else, and no raw input of the request (path, origin, parameters) in it.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { waitFor } from '../support/wait.ts'
import { fileRequests, startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, multipartClient, newStoreId, randomFile, rawRequest } from './helpers.ts'
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

describe('a body shorter than its Content-Length', () => {
  /** Sends `sent` of a body that declares `declared` bytes, then closes its side: the rest never comes. */
  const cutShort = (path: string, token: string, declared: number, sent: Uint8Array) =>
    new Promise<void>((resolve) => {
      const socket = connect(worker.port, '127.0.0.1', () => {
        socket.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1:${worker.port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${declared}\r\n\r\n`)
        socket.end(sent)
      })
      socket.on('data', () => {})
      socket.on('close', () => resolve())
      socket.on('error', () => resolve())
    })
  const answerTo = async (key: string, route: string) => {
    await waitFor(() => fileRequests(worker.output()).some((entry) => entry.key === key && entry.route === route), 10_000, `the Worker's answer to ${route}`)
    return fileRequests(worker.output()).find((entry) => entry.key === key && entry.route === route)
  }

  // The Worker's own answer, from its log: `wrangler dev`'s proxy, in front of it, fails its
  // request when the body breaks off and answers 500 itself; on Cloudflare the client gets the 400.
  it('is refused with 400 (a client does not retry it), on a single PUT and on a part, and stores nothing', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const file = randomFile(1000)
    await cutShort(`/api/files/${storeId}/${file.sha256}`, token, 1000, file.bytes.subarray(0, 500))
    expect(await answerTo(`${storeId}/${file.sha256}`, 'file')).toMatchObject({ method: 'PUT', status: 400 })
    expect((await fetch(`${worker.url}/api/files/${storeId}/${file.sha256}`, { method: 'HEAD', headers: bearer(token) })).status).toBe(404)

    const large = randomFile(6 * 1024 * 1024)
    const client = multipartClient(`${worker.url}/api/files/${storeId}/${large.sha256}`, token)
    const { uploadId } = (await (await client.create({ size: large.bytes.length })).json()) as { uploadId: string }
    await cutShort(
      `/api/files/${storeId}/${large.sha256}/uploads/${encodeURIComponent(uploadId)}/parts/1`,
      token,
      large.bytes.length,
      large.bytes.subarray(0, 1000),
    )
    expect(await answerTo(`${storeId}/${large.sha256}`, 'upload-part')).toMatchObject({ status: 400 })
    // The upload goes on: the whole part, sent again, is taken.
    const part = await client.part(uploadId, 1, large.bytes)
    expect(part.status).toBe(200)
    expect((await client.complete(uploadId, [await part.json()])).status).toBe(201)
  })
})
