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
  it('answers /api/health without a token, with the grace period of deletes and the size limits (wrangler.toml)', async () => {
    const response = await fetch(`${worker.url}/api/health`)
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(await response.json()).toEqual({
      ok: true,
      deleteGraceMs: 24 * 60 * 60 * 1000,
      maxFileBytes: 10 * 1024 ** 3,
      maxRequestBytes: 100 * 1024 * 1024,
    })
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
    expect(await response.json()).toEqual({
      storeId: 'my-store_1',
      userId: 'dev',
      token: expect.stringMatching(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(Number),
      expiresIn: 3600,
    })

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

  it('keeps the bytes of a deleted file for the grace period (202), idempotently; 204 when there are none', async () => {
    const { token, fileUrl, storeId } = await newStore()
    const file = randomFile(64)
    expect((await put(fileUrl(file.sha256), token, file.bytes)).status).toBe(201)

    const before = Date.now()
    const deleted = await fetch(fileUrl(file.sha256), { method: 'DELETE', headers: bearer(token) })
    expect(deleted.status).toBe(202)
    const pending = (await deleted.json()) as { key: string; pendingSince: number; removableAfter: number }
    expect(pending).toEqual({ key: `${storeId}/${file.sha256}`, pendingSince: expect.any(Number), removableAfter: expect.any(Number) })
    expect(pending.pendingSince).toBeGreaterThanOrEqual(before - 1000)
    // wrangler.toml's DELETE_GRACE_SECONDS: one day.
    expect(pending.removableAfter - pending.pendingSince).toBe(24 * 60 * 60 * 1000)
    // Still there, to be restored or downloaded by a device that restores it.
    expect((await fetch(fileUrl(file.sha256), { headers: bearer(token) })).status).toBe(200)
    expect((await fetch(fileUrl(file.sha256), { method: 'DELETE', headers: bearer(token) })).status).toBe(202)

    const absent = randomFile(8)
    expect((await fetch(fileUrl(absent.sha256), { method: 'DELETE', headers: bearer(token) })).status).toBe(204)
  })

  it('answers other methods with 405 JSON', async () => {
    const { token, fileUrl } = await newStore()
    const response = await fetch(fileUrl(randomFile(1).sha256), { method: 'POST', body: 'x', headers: bearer(token) })
    expect(response.status).toBe(405)
    expect(response.headers.get('Allow')).toBe('GET, HEAD, PUT, DELETE')
    expect(await response.json()).toEqual({ error: expect.any(String) })
  })
})

describe('ranges and conditional requests', () => {
  /** A stored file of `size` random bytes, and a GET or HEAD of it with extra headers. */
  const storedFile = async (size: number, contentType = 'application/octet-stream') => {
    const { token, fileUrl } = await newStore()
    const file = randomFile(size)
    expect((await put(fileUrl(file.sha256), token, file.bytes, contentType)).status).toBe(201)
    const read = (headers: Record<string, string> = {}, method = 'GET') => fetch(fileUrl(file.sha256), { method, headers: { ...bearer(token), ...headers } })
    return { ...file, read }
  }

  const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

  it('announces ranges, our ETag and Last-Modified on every read', async () => {
    const file = await storedFile(10)
    for (const method of ['GET', 'HEAD']) {
      const response = await file.read({}, method)
      expect(response.status).toBe(200)
      expect(response.headers.get('Accept-Ranges')).toBe('bytes')
      expect(response.headers.get('ETag')).toBe(`"${file.sha256}"`)
      const lastModified = Date.parse(response.headers.get('Last-Modified') ?? '')
      expect(Math.abs(lastModified - Date.now())).toBeLessThan(60_000)
    }
  })

  it('answers bytes=0-99, a middle range, a suffix and an open end with 206 and those bytes', async () => {
    const file = await storedFile(1000)
    const cases = [
      { range: 'bytes=0-99', start: 0, end: 99 },
      { range: 'bytes=400-549', start: 400, end: 549 },
      { range: 'bytes=-100', start: 900, end: 999 },
      { range: 'bytes=990-', start: 990, end: 999 },
      { range: 'bytes=950-5000', start: 950, end: 999 },
    ]
    for (const { range, start, end } of cases) {
      const response = await file.read({ Range: range })
      expect(response.status, range).toBe(206)
      expect(response.headers.get('Content-Range'), range).toBe(`bytes ${start}-${end}/1000`)
      expect(response.headers.get('Content-Length'), range).toBe(String(end - start + 1))
      expect(response.headers.get('ETag'), range).toBe(`"${file.sha256}"`)
      expect(await bytesOf(response), range).toEqual(file.bytes.slice(start, end + 1))
    }
  })

  it('streams a range of a large file', async () => {
    const file = await storedFile(8 * 1024 * 1024)
    const start = 5 * 1024 * 1024 + 3
    const response = await file.read({ Range: `bytes=${start}-` })
    expect(response.status).toBe(206)
    expect(response.headers.get('Content-Range')).toBe(`bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}`)
    expect(sha256Hex(await bytesOf(response))).toBe(sha256Hex(file.bytes.slice(start)))
  })

  it('answers an unsatisfiable or malformed range with 416 and the size', async () => {
    const file = await storedFile(1000)
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=abc', 'bytes=9-2']) {
      const response = await file.read({ Range: range })
      expect(response.status, range).toBe(416)
      expect(response.headers.get('Content-Range'), range).toBe('bytes */1000')
      expect(await response.json(), range).toEqual({ error: expect.stringContaining('range') })
    }
  })

  it('answers several ranges, or another unit, in full', async () => {
    const file = await storedFile(1000)
    for (const range of ['bytes=0-9,20-29', 'items=0-9']) {
      const response = await file.read({ Range: range })
      expect(response.status, range).toBe(200)
      expect(response.headers.get('Content-Range'), range).toBeNull()
      expect(await bytesOf(response), range).toEqual(file.bytes)
    }
  })

  it('answers HEAD with a Range like GET, without a body', async () => {
    const file = await storedFile(1000)
    const partial = await file.read({ Range: 'bytes=100-199' }, 'HEAD')
    expect(partial.status).toBe(206)
    expect(partial.headers.get('Content-Range')).toBe('bytes 100-199/1000')
    expect(partial.headers.get('Content-Length')).toBe('100')
    expect((await partial.arrayBuffer()).byteLength).toBe(0)

    const refused = await file.read({ Range: 'bytes=2000-' }, 'HEAD')
    expect(refused.status).toBe(416)
    expect(refused.headers.get('Content-Range')).toBe('bytes */1000')
    expect((await refused.arrayBuffer()).byteLength).toBe(0)
  })

  it('answers 304 to a matching If-None-Match, for GET and HEAD', async () => {
    const file = await storedFile(100)
    const first = await file.read()
    for (const method of ['GET', 'HEAD']) {
      for (const ifNoneMatch of [`"${file.sha256}"`, `W/"${file.sha256}"`, `"other", "${file.sha256}"`, '*']) {
        const response = await file.read({ 'If-None-Match': ifNoneMatch, Range: 'bytes=0-9' }, method)
        expect(response.status, `${method} ${ifNoneMatch}`).toBe(304)
        expect(response.headers.get('ETag')).toBe(`"${file.sha256}"`)
        expect(response.headers.get('Last-Modified')).toBe(first.headers.get('Last-Modified'))
        expect(response.headers.get('Cache-Control')).toBe('private, max-age=31536000, immutable')
        expect((await response.arrayBuffer()).byteLength).toBe(0)
      }
    }
    const other = await file.read({ 'If-None-Match': '"other"' })
    expect(other.status).toBe(200)
    expect(await bytesOf(other)).toEqual(file.bytes)
  })

  it('answers 304 to If-Modified-Since at or after Last-Modified, unless If-None-Match says otherwise', async () => {
    const file = await storedFile(100)
    const lastModified = (await file.read({}, 'HEAD')).headers.get('Last-Modified')!
    expect((await file.read({ 'If-Modified-Since': lastModified })).status).toBe(304)
    const later = new Date(Date.parse(lastModified) + 3_600_000).toUTCString()
    expect((await file.read({ 'If-Modified-Since': later }, 'HEAD')).status).toBe(304)

    const earlier = new Date(Date.parse(lastModified) - 1_000).toUTCString()
    const modified = await file.read({ 'If-Modified-Since': earlier })
    expect(modified.status).toBe(200)
    expect(await bytesOf(modified)).toEqual(file.bytes)
    // If-None-Match, when sent, decides alone.
    expect((await file.read({ 'If-Modified-Since': later, 'If-None-Match': '"other"' })).status).toBe(200)
  })

  it('answers in full when If-Range does not match, and the range when it does', async () => {
    const file = await storedFile(1000)
    const lastModified = (await file.read({}, 'HEAD')).headers.get('Last-Modified')!
    for (const ifRange of ['"other"', `W/"${file.sha256}"`, 'Mon, 01 Jan 2001 00:00:00 GMT']) {
      const response = await file.read({ Range: 'bytes=0-99', 'If-Range': ifRange })
      expect(response.status, ifRange).toBe(200)
      expect(await bytesOf(response), ifRange).toEqual(file.bytes)
    }
    for (const ifRange of [`"${file.sha256}"`, lastModified]) {
      const response = await file.read({ Range: 'bytes=0-99', 'If-Range': ifRange })
      expect(response.status, ifRange).toBe(206)
      expect(await bytesOf(response), ifRange).toEqual(file.bytes.slice(0, 100))
    }
  })

  it('answers any range of a zero-byte file with 416, and a plain read with 200', async () => {
    const { token, fileUrl } = await newStore()
    expect((await put(fileUrl(EMPTY_SHA256), token, new Uint8Array())).status).toBe(201)
    for (const range of ['bytes=0-0', 'bytes=0-', 'bytes=-1']) {
      const response = await fetch(fileUrl(EMPTY_SHA256), { headers: { ...bearer(token), Range: range } })
      expect(response.status, range).toBe(416)
      expect(response.headers.get('Content-Range'), range).toBe('bytes */0')
    }
    const plain = await fetch(fileUrl(EMPTY_SHA256), { headers: bearer(token) })
    expect(plain.status).toBe(200)
    expect(plain.headers.get('Accept-Ranges')).toBe('bytes')
    expect((await plain.arrayBuffer()).byteLength).toBe(0)
  })

  // Cloudflare compresses only 200 answers; wrangler dev gzips a 206 of a text type too (then
  // without Content-Length). Either way the client decodes exactly the range's bytes.
  it('answers a range of a text file with those bytes, exactly so to a client that asks for identity', async () => {
    const bytes = new TextEncoder().encode('0123456789'.repeat(100))
    const { token, fileUrl } = await newStore()
    const sha256 = sha256Hex(bytes)
    expect((await put(fileUrl(sha256), token, bytes, 'text/plain')).status).toBe(201)

    const decoded = await fetch(fileUrl(sha256), { headers: { ...bearer(token), Range: 'bytes=10-29' } })
    expect(decoded.status).toBe(206)
    expect(decoded.headers.get('Content-Range')).toBe('bytes 10-29/1000')
    expect(await decoded.text()).toBe('01234567890123456789')

    // What browsers send for media ranges.
    const exact = await rawRequest(worker.url, {
      path: new URL(fileUrl(sha256)).pathname,
      headers: { ...bearer(token), Range: 'bytes=10-29', 'Accept-Encoding': 'identity;q=1, *;q=0' },
    })
    expect(exact.status).toBe(206)
    expect(exact.headers['content-encoding']).toBeUndefined()
    expect(exact.headers['content-length']).toBe('20')
    expect(exact.body).toBe('01234567890123456789')
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
  it('refuses anything but /api/files/<storeId>/<64 lowercase hex>: dot segments, encoded slashes, very long keys, non-hex hashes', async () => {
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
      // Very long keys: a store id over 64 characters, a "hash" of 4,000 hex digits, an upload
      // id over 1,024 characters, and non-hex hashes.
      `/api/files/${'s'.repeat(65)}/${hash}`,
      `/api/files/${storeId}/${'ab'.repeat(2000)}`,
      `/api/files/${storeId}/${hash}/uploads/${'u'.repeat(1025)}`,
      `/api/files/${storeId}/${'g'.repeat(64)}`,
      `/api/files/${storeId}/${hash.slice(0, 63)}%00`,
      `/api/files/${storeId}/${hash}/restore/extra`,
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

describe('the admin API', () => {
  it('is off (404) without an ADMIN_SECRET', async () => {
    const response = await fetch(`${worker.url}/api/admin/stores/${newStoreId()}/evict`, { method: 'POST', headers: bearer('anything') })
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: expect.stringContaining('ADMIN_SECRET') })
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
