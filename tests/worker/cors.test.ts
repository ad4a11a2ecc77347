/** Cross-origin requests against the real Worker (wrangler dev): only the origins in ALLOWED_ORIGINS get in. */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, newStoreId, randomFile } from './helpers.ts'

const allowed = 'https://app.example'
const foreign = 'https://elsewhere.example'
let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({ vars: { ALLOWED_ORIGINS: `${allowed}, https://other-app.example` } })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

/** A store with one file in it, and what reads it. */
const storedFile = async () => {
  const storeId = newStoreId()
  const token = await fetchToken(worker.url, storeId)
  const file = randomFile(1_000)
  const url = `${worker.url}/api/files/${storeId}/${file.sha256}`
  const put = await fetch(url, { method: 'PUT', headers: bearer(token), body: file.bytes })
  expect(put.status).toBe(201)
  return { storeId, token, url }
}

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization, range' },
  })

describe('a page of an allowed origin', () => {
  it('passes the preflight, with the methods and headers the file API needs', async () => {
    const { url } = await storedFile()
    const response = await preflight(url, allowed)
    expect(response.status).toBe(204)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(allowed)
    expect(response.headers.get('Access-Control-Allow-Methods')).toContain('PUT')
    expect(response.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('authorization')
    expect(response.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('range')
    expect(response.headers.get('Vary')).toContain('Origin')
  })

  it('reads a range of a file, and may read the headers that describe it', async () => {
    const { url, token } = await storedFile()
    const response = await fetch(url, { headers: { ...bearer(token), Origin: allowed, Range: 'bytes=0-99' } })
    expect(response.status).toBe(206)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(allowed)
    expect(response.headers.get('Access-Control-Expose-Headers')).toContain('Content-Range')
    expect(response.headers.get('Content-Length')).toBe('100')
    expect((await response.arrayBuffer()).byteLength).toBe(100)
  })

  it('still needs a token: CORS opens no store', async () => {
    const { url } = await storedFile()
    const response = await fetch(url, { headers: { Origin: allowed } })
    expect(response.status).toBe(401)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(allowed)
  })
})

describe('a page of another origin', () => {
  it('fails the preflight', async () => {
    const { url } = await storedFile()
    const response = await preflight(url, foreign)
    expect(response.status).toBe(403)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(await response.json()).toEqual({ error: expect.stringContaining('ALLOWED_ORIGINS') })
  })

  it('is refused before any route, even with a valid token: nothing read, nothing changed', async () => {
    const { url, token } = await storedFile()
    const read = await fetch(url, { headers: { ...bearer(token), Origin: foreign } })
    expect(read.status).toBe(403)
    expect(read.headers.get('Access-Control-Allow-Origin')).toBeNull()
    const removed = await fetch(url, { method: 'DELETE', headers: { ...bearer(token), Origin: foreign } })
    expect(removed.status).toBe(403)
    expect((await fetch(url, { headers: bearer(token) })).status).toBe(200)
    expect((await fetch(`${worker.url}/api/health`, { headers: { Origin: foreign } })).status).toBe(403)
  })

  it('cannot open the sync socket', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const url = new URL('/api/sync', worker.url)
    url.search = new URLSearchParams({ storeId, payload: encodeURIComponent(JSON.stringify({ authToken: token })), transport: 'ws' }).toString()
    expect(await handshake(url.toString(), foreign)).toBe(403)
    expect(await handshake(url.toString(), allowed)).toBe(101)
  })
})

describe('requests of the app itself and of other programs', () => {
  it('need no CORS: no Origin (a program), the same origin, or a page the browser says is same-origin (behind a dev proxy)', async () => {
    const health = `${worker.url}/api/health`
    const cases: Array<Record<string, string>> = [
      {},
      { Origin: new URL(worker.url).origin },
      { Origin: 'http://127.0.0.1:5173', 'Sec-Fetch-Site': 'same-origin' },
    ]
    for (const headers of cases) {
      const response = await fetch(health, { headers })
      expect(response.status, JSON.stringify(headers)).toBe(200)
      expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
    }
    // A page of another site cannot say it is same-origin: the browser sets that header.
    const crossSite = await fetch(health, { headers: { Origin: foreign, 'Sec-Fetch-Site': 'cross-site' } })
    expect(crossSite.status).toBe(403)
  })
})

/** The status of a WebSocket handshake sent from a page of `origin`: 101 when accepted. */
const handshake = (url: string, origin: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        Origin: origin,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    })
    request.on('upgrade', (_response, socket) => {
      socket.destroy()
      resolve(101)
    })
    request.on('response', (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.end()
  })
