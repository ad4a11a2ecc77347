/**
 * A file's type, as the file API stores and serves it: a value that is no media type (CR, LF, NUL,
 * no subtype) is refused before anything is stored, and one stored by an older version that did
 * not check is served as plain bytes instead of breaking every read of that content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RunningWorker } from '../support/wrangler.ts'
import { bearer, startWorkerApp, fetchToken, multipartClient, newStoreId, randomFile } from './helpers.ts'

let worker: RunningWorker
beforeAll(async () => {
  worker = await startWorkerApp('tests/worker/apps/legacy-objects.ts', 'livestore-file-sync-legacy-objects')
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const badTypes = [
  'image/png\r\nX-Injected: 1',
  'image/png\nx',
  'image/\u0000png',
  'text/html\u0000',
  'image',
  'image/',
  '/png',
  'image/png; charset',
  'bild/jpég',
]

describe('types refused when stored', () => {
  it('refuses a multipart upload whose mimeType is no media type, and stores nothing', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const file = randomFile(32)
    const fileUrl = `${worker.url}/api/files/${storeId}/${file.sha256}`
    const client = multipartClient(fileUrl, token)
    for (const mimeType of [...badTypes, `${'x'.repeat(100)}/${'y'.repeat(200)}`]) {
      const response = await client.create({ size: 32, mimeType })
      expect(response.status, JSON.stringify(mimeType)).toBe(400)
      expect(((await response.json()) as { error: string }).error).toContain('media type')
    }
    expect((await fetch(fileUrl, { method: 'HEAD', headers: bearer(token) })).status).toBe(404)
    // A real one, with parameters, is taken.
    expect((await client.create({ size: 32, mimeType: 'text/plain; charset="utf-8"' })).status).toBe(201)
  })

  it('refuses a PUT whose Content-Type is no media type', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const file = randomFile(16)
    const fileUrl = `${worker.url}/api/files/${storeId}/${file.sha256}`
    // What fetch can send: no CR, LF or NUL in a header, but anything else.
    for (const contentType of ['image', 'image/', 'image/png; charset']) {
      const response = await fetch(fileUrl, { method: 'PUT', body: file.bytes, headers: { ...bearer(token), 'Content-Type': contentType } })
      expect(response.status, contentType).toBe(400)
    }
    expect((await fetch(fileUrl, { method: 'HEAD', headers: bearer(token) })).status).toBe(404)
    const taken = await fetch(fileUrl, { method: 'PUT', body: file.bytes, headers: { ...bearer(token), 'Content-Type': 'image/png' } })
    expect(taken.status).toBe(201)
    expect((await fetch(fileUrl, { headers: bearer(token) })).headers.get('Content-Type')).toBe('image/png')
  })
})

describe('a bad type stored before', () => {
  it('is served as application/octet-stream, never as a 500', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    for (const stored of ['image/png\r\nX-Injected: 1', 'text/html\u0000']) {
      const file = randomFile(40)
      const seeded = await fetch(`${worker.url}/test/legacy/${storeId}/${file.sha256}`, {
        method: 'PUT',
        body: file.bytes,
        headers: { 'X-Stored-Type': encodeURIComponent(stored) },
      })
      expect(seeded.status).toBe(204)
      const fileUrl = `${worker.url}/api/files/${storeId}/${file.sha256}`
      for (const init of [{}, { method: 'HEAD' }, { headers: { Range: 'bytes=0-9' } }]) {
        const response = await fetch(fileUrl, { ...init, headers: { ...bearer(token), ...(init.headers ?? {}) } })
        expect(response.status, JSON.stringify(init)).toBeLessThan(300)
        expect(response.headers.get('Content-Type')).toBe('application/octet-stream')
        expect(response.headers.get('X-Injected')).toBeNull()
      }
      expect(new Uint8Array(await (await fetch(fileUrl, { headers: bearer(token) })).arrayBuffer())).toEqual(file.bytes)
    }
  })
})

describe('what is served inline', () => {
  it('HTML, SVG, XML and JavaScript come back as attachments with nosniff; pictures, sound and video inline', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const cases: Array<[string, 'inline' | 'attachment']> = [
      ['text/html', 'attachment'],
      ['image/svg+xml', 'attachment'],
      ['application/xhtml+xml', 'attachment'],
      ['text/javascript', 'attachment'],
      ['application/pdf', 'attachment'],
      ['image/png', 'inline'],
      ['video/mp4', 'inline'],
      ['audio/mpeg', 'inline'],
    ]
    for (const [type, disposition] of cases) {
      const file = randomFile(64)
      const fileUrl = `${worker.url}/api/files/${storeId}/${file.sha256}`
      expect((await fetch(fileUrl, { method: 'PUT', body: file.bytes, headers: { ...bearer(token), 'Content-Type': type } })).status).toBe(201)
      for (const init of [{}, { method: 'HEAD' }, { headers: { Range: 'bytes=0-9' } }]) {
        const response = await fetch(fileUrl, { ...init, headers: { ...bearer(token), ...(init.headers ?? {}) } })
        expect(response.headers.get('Content-Disposition'), `${type} ${JSON.stringify(init)}`).toBe(disposition)
        expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
        expect(response.headers.get('Content-Security-Policy')).toContain('sandbox')
      }
    }
  })
})
