/**
 * The Worker as configured for production: its own AUTH_SECRET, no development
 * token endpoint, and (here, small) the size limits and a grace period for deletes.
 */
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, multipartClient, newStoreId, randomFile, signedToken } from './helpers.ts'

const AUTH_SECRET = 'test-secret-for-the-config-test'
const MAX_UPLOAD_BYTES = 1000
const MAX_FILE_BYTES = 5000
const DELETE_GRACE_SECONDS = 90

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({
    vars: {
      AUTH_SECRET,
      DEV_AUTH: 'false',
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      MAX_FILE_BYTES: String(MAX_FILE_BYTES),
      DELETE_GRACE_SECONDS: String(DELETE_GRACE_SECONDS),
    },
  })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

/** A token signed with this Worker's AUTH_SECRET (or another secret), made by the test. */
const tokenFor = (storeId: string, secret = AUTH_SECRET): string => signedToken({ store: storeId, secret, user: 'config-test' })

const fileUrl = (storeId: string, sha256: string) => `${worker.url}/api/files/${storeId}/${sha256}`

const upload = (storeId: string, file: { bytes: Uint8Array<ArrayBuffer>; sha256: string }) =>
  fetch(fileUrl(storeId, file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(tokenFor(storeId)) })

describe('tokens signed with AUTH_SECRET', () => {
  it('accepts v1.<claims>.<HMAC-SHA256 with AUTH_SECRET>', async () => {
    const storeId = newStoreId()
    const file = randomFile(10)
    const response = await upload(storeId, file)
    expect(response.status).toBe(201)
  })

  it('refuses tokens signed with another secret (such as the development one)', async () => {
    const storeId = newStoreId()
    const response = await fetch(fileUrl(storeId, randomFile(1).sha256), {
      headers: bearer(tokenFor(storeId, 'some-other-secret')),
    })
    expect(response.status).toBe(401)
  })

  it('turns the development token endpoint off with DEV_AUTH = "false"', async () => {
    const response = await fetch(`${worker.url}/api/auth/${newStoreId()}`)
    expect(response.status).toBe(404)
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(await response.json()).toEqual({ error: expect.stringContaining('disabled') })
  })

  it('does not warn about the development secret', () => {
    expect(worker.output()).not.toContain('DEVELOPMENT secret')
  })
})

describe('what /api/health tells the page', () => {
  it('is the grace period of deletes (DELETE_GRACE_SECONDS, in milliseconds) and the size limits', async () => {
    const response = await fetch(`${worker.url}/api/health`)
    expect(await response.json()).toEqual({
      ok: true,
      deleteGraceMs: DELETE_GRACE_SECONDS * 1000,
      maxFileBytes: MAX_FILE_BYTES,
      maxRequestBytes: MAX_UPLOAD_BYTES,
    })
  })
})

describe('upload limits', () => {
  it('accepts a file of exactly MAX_UPLOAD_BYTES', async () => {
    const storeId = newStoreId()
    const file = randomFile(MAX_UPLOAD_BYTES)
    const response = await upload(storeId, file)
    expect(response.status).toBe(201)
  })

  it('refuses a larger file with 413 and stores nothing', async () => {
    const storeId = newStoreId()
    const file = randomFile(MAX_UPLOAD_BYTES + 1)
    const response = await upload(storeId, file)
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({ error: expect.stringContaining(String(MAX_UPLOAD_BYTES)) })
    expect((await fetch(fileUrl(storeId, file.sha256), { headers: bearer(tokenFor(storeId)) })).status).toBe(404)
  })

  it('decides 413 from Content-Length alone, before any byte of the body', async () => {
    const storeId = newStoreId()
    const sha256 = randomFile(1).sha256
    // Declares 10 GiB and sends none of it. wrangler dev holds the answer back
    // until the body has arrived, so watch the Worker's own log line instead.
    const request = httpRequest(fileUrl(storeId, sha256), {
      method: 'PUT',
      headers: { ...bearer(tokenFor(storeId)), 'Content-Length': String(10 * 1024 ** 3) },
    })
    request.on('error', () => {})
    request.flushHeaders()
    try {
      await expect.poll(() => worker.output(), { timeout: 5_000 }).toMatch(new RegExp(`"store":"${storeId}","file":"${sha256}".*"status":413`))
    } finally {
      request.destroy()
    }
  })

  it('requires a Content-Length (411 for a chunked upload)', async () => {
    const storeId = newStoreId()
    const file = randomFile(10)
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(file.bytes)
        controller.close()
      },
    })
    // `duplex` is required by Node's fetch for a stream body; the DOM types do not know it yet.
    const init = { method: 'PUT', body, duplex: 'half', headers: bearer(tokenFor(storeId)) } as RequestInit
    const response = await fetch(fileUrl(storeId, file.sha256), init)
    expect(response.status).toBe(411)
    expect(await response.json()).toEqual({ error: expect.stringContaining('Content-Length') })
  })
})

describe('multipart limits', () => {
  const uploads = (storeId: string, sha256: string) => multipartClient(fileUrl(storeId, sha256), tokenFor(storeId))

  it('starts an upload of exactly MAX_FILE_BYTES, and refuses a larger one with 413 naming both sizes', async () => {
    const storeId = newStoreId()
    const client = uploads(storeId, randomFile(1).sha256)
    expect((await client.create({ size: MAX_FILE_BYTES, mimeType: 'video/mp4' })).status).toBe(201)

    const refused = await client.create({ size: MAX_FILE_BYTES + 1, mimeType: 'video/mp4' })
    expect(refused.status).toBe(413)
    const { error } = (await refused.json()) as { error: string }
    expect(error).toContain(String(MAX_FILE_BYTES + 1))
    expect(error).toContain(String(MAX_FILE_BYTES))
  })

  it('takes a part of exactly MAX_UPLOAD_BYTES, and refuses a larger one with 413', async () => {
    const storeId = newStoreId()
    const file = randomFile(MAX_UPLOAD_BYTES + 1)
    const client = uploads(storeId, file.sha256)
    const created = await client.create({ size: file.bytes.length })
    const { uploadId } = (await created.json()) as { uploadId: string }

    expect((await client.part(uploadId, 1, file.bytes.slice(0, MAX_UPLOAD_BYTES))).status).toBe(200)
    const refused = await client.part(uploadId, 2, file.bytes)
    expect(refused.status).toBe(413)
    expect(await refused.json()).toEqual({ error: expect.stringContaining(String(MAX_UPLOAD_BYTES)) })
  })

  it("decides a part's 413 from Content-Length alone, before any byte of the body", async () => {
    const storeId = newStoreId()
    const sha256 = randomFile(1).sha256
    const created = await uploads(storeId, sha256).create({ size: 10 })
    const { uploadId } = (await created.json()) as { uploadId: string }
    const request = httpRequest(`${fileUrl(storeId, sha256)}/uploads/${encodeURIComponent(uploadId)}/parts/1`, {
      method: 'PUT',
      headers: { ...bearer(tokenFor(storeId)), 'Content-Length': String(5 * 1024 ** 3) },
    })
    request.on('error', () => {})
    request.flushHeaders()
    try {
      await expect
        .poll(() => worker.output(), { timeout: 5_000 })
        .toMatch(new RegExp(`"route":"upload-part","store":"${storeId}","file":"${sha256}".*"status":413`))
    } finally {
      request.destroy()
    }
  })
})
