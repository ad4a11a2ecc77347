/** The file API against the real Worker (wrangler dev, local R2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, newStoreId, randomFile, rawRequest, sha256Hex } from './helpers.ts'

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

let worker: RunningWorker
const issuedTokens: string[] = []

beforeAll(async () => {
  worker = await startWorker()
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

/** A store with its token, and the file URL of a hash in it. */
const newStore = async () => {
  const storeId = newStoreId()
  const token = await fetchToken(worker.url, storeId)
  issuedTokens.push(token)
  return { storeId, token, fileUrl: (sha256: string) => `${worker.url}/api/files/${storeId}/${sha256}` }
}

const put = (url: string, token: string, bytes: Uint8Array<ArrayBuffer>, contentType = 'application/octet-stream') =>
  fetch(url, { method: 'PUT', body: bytes, headers: { ...bearer(token), 'Content-Type': contentType } })

describe('health and routing', () => {
  it('answers /api/health without a token, with the grace period of deleted files (wrangler.toml: 24 hours)', async () => {
    const response = await fetch(`${worker.url}/api/health`)
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(await response.json()).toEqual({ ok: true, deleteGraceMs: 24 * 60 * 60 * 1000 })
  })

  it('answers unknown paths with 404 JSON', async () => {
    for (const path of ['/api/nope', '/', '/index.html']) {
      const response = await fetch(`${worker.url}${path}`)
      expect(response.status, path).toBe(404)
      expect(response.headers.get('Content-Type')).toBe('application/json')
      expect(await response.json()).toEqual({ error: expect.any(String) })
    }
  })
})

describe('development tokens', () => {
  it('issues a token that works for its own store only', async () => {
    const a = await newStore()
    const b = await newStore()
    const file = randomFile(100)
    expect((await put(a.fileUrl(file.sha256), a.token, file.bytes)).status).toBe(201)

    const response = await put(b.fileUrl(file.sha256), a.token, file.bytes)
    expect(response.status).toBe(401)
    expect(await fetch(b.fileUrl(file.sha256), { headers: bearer(a.token) }).then((r) => r.status)).toBe(401)
  })

  it('answers { storeId, token } and refuses invalid store ids', async () => {
    const response = await fetch(`${worker.url}/api/auth/my-store_1`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ storeId: 'my-store_1', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })

    for (const storeId of ['bad.id', 'a%2Fb', 'x'.repeat(65)]) {
      const refused = await fetch(`${worker.url}/api/auth/${storeId}`)
      expect(refused.status, storeId).toBe(400)
      expect(await refused.json()).toEqual({ error: expect.any(String) })
    }
  })
})

describe('upload and download', () => {
  it('round-trips bytes with the contracted headers', async () => {
    const { token, storeId, fileUrl } = await newStore()
    const file = randomFile(3 * 1024 * 1024 + 7)

    const upload = await put(fileUrl(file.sha256), token, file.bytes, 'image/png')
    expect(upload.status).toBe(201)
    expect(await upload.json()).toEqual({ key: `${storeId}/${file.sha256}`, size: file.bytes.length, created: true })

    const download = await fetch(fileUrl(file.sha256), { headers: bearer(token) })
    expect(download.status).toBe(200)
    expect(download.headers.get('Content-Type')).toBe('image/png')
    expect(download.headers.get('Content-Length')).toBe(String(file.bytes.length))
    expect(download.headers.get('ETag')).toBe(`"${file.sha256}"`)
    expect(download.headers.get('Cache-Control')).toBe('private, max-age=31536000, immutable')
    // Uploaded bytes never run as a page of the Worker's origin.
    expect(download.headers.get('Content-Security-Policy')).toMatch(/^sandbox;/)
    expect(download.headers.get('X-Content-Type-Options')).toBe('nosniff')
    const bytes = new Uint8Array(await download.arrayBuffer())
    expect(bytes.length).toBe(file.bytes.length)
    expect(sha256Hex(bytes)).toBe(file.sha256)

    const head = await fetch(fileUrl(file.sha256), { method: 'HEAD', headers: bearer(token) })
    expect(head.status).toBe(200)
    expect(head.headers.get('Content-Type')).toBe('image/png')
    expect(head.headers.get('Content-Length')).toBe(String(file.bytes.length))
    expect(head.headers.get('ETag')).toBe(`"${file.sha256}"`)
    expect(head.headers.get('Cache-Control')).toBe('private, max-age=31536000, immutable')
    expect((await head.arrayBuffer()).byteLength).toBe(0)
  })

  // Like Cloudflare's edge, wrangler dev gzips text-like types (text/*, JSON, SVG, ...)
  // for clients that accept it: the bytes arrive intact, Content-Length does not.
  it('serves compressible types gzipped to clients that accept it, identical bytes', async () => {
    const { token, fileUrl } = await newStore()
    const bytes = new TextEncoder().encode('hello, '.repeat(1000))
    const sha256 = sha256Hex(bytes)
    expect((await put(fileUrl(sha256), token, bytes, 'text/plain')).status).toBe(201)

    const gzipped = await fetch(fileUrl(sha256), { headers: { ...bearer(token), 'Accept-Encoding': 'gzip' } })
    expect(gzipped.headers.get('Content-Encoding')).toBe('gzip')
    expect(gzipped.headers.get('Content-Length')).toBeNull()
    expect(sha256Hex(new Uint8Array(await gzipped.arrayBuffer()))).toBe(sha256)

    const plain = await rawRequest(worker.url, {
      path: new URL(fileUrl(sha256)).pathname,
      headers: { ...bearer(token), 'Accept-Encoding': 'identity' },
    })
    expect(plain.headers['content-length']).toBe(String(bytes.length))
    expect(plain.headers['content-encoding']).toBeUndefined()
  })

  it('stores application/octet-stream when the upload names no type', async () => {
    const { token, fileUrl } = await newStore()
    const file = randomFile(10)
    const upload = await fetch(fileUrl(file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(token) })
    expect(upload.status).toBe(201)
    const download = await fetch(fileUrl(file.sha256), { headers: bearer(token) })
    expect(download.headers.get('Content-Type')).toBe('application/octet-stream')
  })

  it('treats a second upload of the same content as done', async () => {
    const { token, storeId, fileUrl } = await newStore()
    const file = randomFile(1000)
    expect((await put(fileUrl(file.sha256), token, file.bytes, 'text/plain')).status).toBe(201)

    const again = await put(fileUrl(file.sha256), token, file.bytes, 'application/pdf')
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ key: `${storeId}/${file.sha256}`, size: 1000, created: false })

    const download = await fetch(fileUrl(file.sha256), { headers: bearer(token) })
    expect(download.headers.get('Content-Type')).toBe('text/plain')
    expect(sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(file.sha256)
  })

  it('refuses content that does not match its SHA-256 and stores nothing', async () => {
    const { token, fileUrl } = await newStore()
    const file = randomFile(500)
    const claimed = randomFile(500).sha256

    const upload = await put(fileUrl(claimed), token, file.bytes)
    expect(upload.status).toBe(400)
    expect(upload.headers.get('Content-Type')).toBe('application/json')
    expect(await upload.json()).toEqual({ error: expect.stringContaining('does not match its SHA-256') })
    expect((await fetch(fileUrl(claimed), { headers: bearer(token) })).status).toBe(404)
  })

  it('round-trips an empty file', async () => {
    const { token, fileUrl } = await newStore()
    expect(sha256Hex(new Uint8Array())).toBe(EMPTY_SHA256)

    const upload = await put(fileUrl(EMPTY_SHA256), token, new Uint8Array(), 'application/pdf')
    expect(upload.status).toBe(201)
    expect(await upload.json()).toMatchObject({ size: 0, created: true })

    const download = await fetch(fileUrl(EMPTY_SHA256), { headers: bearer(token) })
    expect(download.status).toBe(200)
    expect(download.headers.get('Content-Length')).toBe('0')
    expect(download.headers.get('Content-Type')).toBe('application/pdf')
    expect((await download.arrayBuffer()).byteLength).toBe(0)
  })

  it('answers a missing file with 404 JSON', async () => {
    const { token, fileUrl } = await newStore()
    const response = await fetch(fileUrl(randomFile(1).sha256), { headers: bearer(token) })
    expect(response.status).toBe(404)
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(await response.json()).toEqual({ error: expect.any(String) })
    const head = await fetch(fileUrl(randomFile(1).sha256), { method: 'HEAD', headers: bearer(token) })
    expect(head.status).toBe(404)
  })

  it('deletes idempotently', async () => {
    const { token, fileUrl } = await newStore()
    const file = randomFile(64)
    expect((await put(fileUrl(file.sha256), token, file.bytes)).status).toBe(201)

    const deleted = await fetch(fileUrl(file.sha256), { method: 'DELETE', headers: bearer(token) })
    expect(deleted.status).toBe(204)
    expect((await fetch(fileUrl(file.sha256), { headers: bearer(token) })).status).toBe(404)
    const again = await fetch(fileUrl(file.sha256), { method: 'DELETE', headers: bearer(token) })
    expect(again.status).toBe(204)
  })

  it('answers other methods with 405 JSON', async () => {
    const { token, fileUrl } = await newStore()
    const response = await fetch(fileUrl(randomFile(1).sha256), { method: 'POST', body: 'x', headers: bearer(token) })
    expect(response.status).toBe(405)
    expect(response.headers.get('Allow')).toBe('GET, HEAD, PUT, DELETE')
    expect(await response.json()).toEqual({ error: expect.any(String) })
  })
})

describe('authorization', () => {
  it('refuses a missing token', async () => {
    const { fileUrl } = await newStore()
    const file = randomFile(10)
    const response = await fetch(fileUrl(file.sha256), { method: 'PUT', body: file.bytes })
    expect(response.status).toBe(401)
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(await response.json()).toEqual({ error: expect.stringContaining('Authorization') })
    expect((await fetch(fileUrl(file.sha256))).status).toBe(401)
  })

  it('refuses a wrong token without echoing it', async () => {
    const { fileUrl, token } = await newStore()
    const file = randomFile(10)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const flipped = (index: number) => `${token.slice(0, index)}${token[index] === 'A' ? 'B' : 'A'}${token.slice(index + 1)}`
    // Same bytes, other spelling: the last character's two unused bits changed. Still refused.
    const sameBytes = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]}`
    const wrongTokens = [flipped(20), sameBytes, 'not-a-token', token.slice(1)]
    for (const wrong of wrongTokens) {
      const response = await put(fileUrl(file.sha256), wrong, file.bytes)
      expect(response.status).toBe(401)
      const body = await response.text()
      expect(JSON.parse(body)).toEqual({ error: expect.any(String) })
      expect(body).not.toContain(wrong)
    }
    const download = await fetch(fileUrl(file.sha256), { headers: bearer(wrongTokens[0]!) })
    expect(download.status).toBe(401)
  })

  it('refuses a token of store A on store B, for every method', async () => {
    const a = await newStore()
    const b = await newStore()
    const file = randomFile(10)
    expect((await put(b.fileUrl(file.sha256), b.token, file.bytes)).status).toBe(201)
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const response = await fetch(b.fileUrl(file.sha256), {
        method,
        headers: bearer(a.token),
        ...(method === 'PUT' ? { body: file.bytes } : {}),
      })
      expect(response.status, method).toBe(401)
    }
    expect((await fetch(b.fileUrl(file.sha256), { headers: bearer(b.token) })).status).toBe(200)
  })
})

describe('file keys', () => {
  it('refuses anything but /api/files/<storeId>/<64 lowercase hex>', async () => {
    const { storeId, token } = await newStore()
    const hash = randomFile(1).sha256
    const paths = [
      `/api/files/${storeId}/../${hash}`,
      `/api/files/${storeId}/..`,
      `/api/files/${storeId}/%2E%2E`,
      `/api/files/${storeId}/${hash.toUpperCase()}`,
      `/api/files/${storeId}/${hash.slice(1)}`,
      `/api/files/${storeId}/${hash}0`,
      `/api/files/${storeId}/${hash}/extra`,
      `/api/files/${storeId}/sub/${hash}`,
      `/api/files/${storeId}%2F${hash}`,
      `/api/files/${storeId}/${hash.slice(0, 10)}%2F${hash.slice(10)}`,
      `/api/files/${storeId}`,
      `/api/files/`,
      `/api/files`,
    ]
    for (const path of paths) {
      const response = await rawRequest(worker.url, { path, headers: bearer(token) })
      expect(response.status, path).toBe(400)
      expect(response.headers['content-type'], path).toBe('application/json')
      expect(JSON.parse(response.body), path).toEqual({ error: expect.any(String) })
    }
  })

  it('resolves dot segments before routing: a path that climbs out of /api/files is not a file route', async () => {
    const { token } = await newStore()
    const response = await rawRequest(worker.url, { path: `/api/files/../${randomFile(1).sha256}`, headers: bearer(token) })
    expect(response.status).toBe(404)
    expect(JSON.parse(response.body)).toEqual({ error: expect.any(String) })
  })
})

describe('logs', () => {
  it('never print a token', () => {
    expect(issuedTokens.length).toBeGreaterThan(0)
    for (const token of issuedTokens) expect(worker.output()).not.toContain(token)
  })

  it('warn once that the development secret is in use', () => {
    expect(worker.output().match(/DEVELOPMENT secret/g)).toHaveLength(1)
  })
})

// Last: the browser tests rely on restart() to take the server down and bring it back.
describe('restart', () => {
  it('comes back on the same port with the same files', async () => {
    const { token, fileUrl } = await newStore()
    const file = randomFile(2048)
    expect((await put(fileUrl(file.sha256), token, file.bytes)).status).toBe(201)
    const { port } = worker

    await worker.restart()
    expect(worker.port).toBe(port)
    const download = await fetch(fileUrl(file.sha256), { headers: bearer(token) })
    expect(download.status).toBe(200)
    expect(sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(file.sha256)
  }, 60_000)
})
