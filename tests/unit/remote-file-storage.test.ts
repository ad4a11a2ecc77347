import { afterEach, describe, expect, test, vi } from 'vitest'
import { FileError, toFileError, type FileErrorKind } from '../../src/file-sync/client/errors.ts'
import { createRemoteFileStorage, type GetToken, type RemoteFileStorageOptions } from '../../src/file-sync/client/remote-file-storage.ts'
import { bytesOf, createFakeFetch, jsonResponse, readAll } from '../support/fakes.ts'
import { waitFor } from '../support/wait.ts'

const hash = 'c'.repeat(64)
const baseUrl = 'https://files.example'
const fileUrl = `${baseUrl}/api/files/store-1/${hash}`

/** Hands out token-1 first, and token-2, token-3 … on each refresh. */
const tokens = () => {
  const asked: Array<{ refresh: boolean }> = []
  let current = 1
  const getToken: GetToken = async ({ refresh = false } = {}) => {
    asked.push({ refresh })
    if (refresh) current += 1
    return `token-${current}`
  }
  return { getToken, asked }
}

const setup = (answer: (url: string, init: RequestInit) => Response | Promise<Response>, options: Partial<RemoteFileStorageOptions> = {}) => {
  const server = createFakeFetch(answer)
  const token = tokens()
  const remote = createRemoteFileStorage({ baseUrl, storeId: 'store-1', getToken: token.getToken, fetch: server.fetch, ...options })
  return { remote, requests: server.requests, asked: token.asked }
}

const headersOf = (init: RequestInit | undefined) => new Headers(init?.headers)

const failure = async (promise: Promise<unknown>): Promise<FileError> => {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  if (!(error instanceof FileError)) throw new Error(`Expected a FileError, got ${String(error)}`)
  return error
}

/** A server that never answers: only an abort ends the request. */
const silentServer = () => new Promise<Response>(() => {})

afterEach(() => {
  vi.useRealTimers()
})

describe('createRemoteFileStorage', () => {
  test('names objects by store and hash', () => {
    const { remote } = setup(() => new Response())
    expect(remote.keyOf(hash)).toBe(`store-1/${hash}`)
  })

  test('uploads the Blob itself with PUT, the token and its type, and reports whether it was new', async () => {
    const { remote, requests } = setup(() => jsonResponse({ created: true }, { status: 201 }))
    const body = new Blob([bytesOf('hello')])
    expect(await remote.upload(hash, body, 'image/png')).toEqual({ created: true })
    expect(requests).toHaveLength(1)
    const [request] = requests
    expect(request?.url).toBe(fileUrl)
    expect(request?.init.method).toBe('PUT')
    expect(request?.init.body).toBe(body)
    expect(headersOf(request?.init).get('Authorization')).toBe('Bearer token-1')
    expect(headersOf(request?.init).get('Content-Type')).toBe('image/png')
  })

  test('uploads bytes of unknown type as application/octet-stream, and says when the server had them already', async () => {
    const { remote, requests } = setup(() => jsonResponse({ created: false }))
    expect(await remote.upload(hash, new Blob(['x']), '')).toEqual({ created: false })
    expect(headersOf(requests[0]?.init).get('Content-Type')).toBe('application/octet-stream')
  })

  test('escapes the store id in the URL', async () => {
    const { remote, requests } = setup(() => new Response(null, { status: 204 }), { storeId: 'a/b c' })
    await remote.remove(hash)
    expect(requests[0]?.url).toBe(`${baseUrl}/api/files/a%2Fb%20c/${hash}`)
  })

  test('downloads with GET as a stream, with its size', async () => {
    const { remote, requests } = setup(() => new Response(bytesOf('hello'), { headers: { 'Content-Length': '5' } }))
    const { body, size } = await remote.download(hash)
    expect(new TextDecoder().decode(await readAll(body))).toBe('hello')
    expect(size).toBe(5)
    expect(requests[0]).toMatchObject({ url: fileUrl, init: { method: 'GET' } })
    expect(headersOf(requests[0]?.init).get('Authorization')).toBe('Bearer token-1')
  })

  describe('continuing a download with Range', () => {
    test('asks for the bytes after the kept ones, and says where the body starts', async () => {
      const { remote, requests } = setup(() => new Response(bytesOf('lo'), { status: 206, headers: { 'Content-Range': 'bytes 3-4/5', 'Content-Length': '2' } }))
      const { body, size, from } = await remote.download(hash, { from: 3 })
      expect(headersOf(requests[0]?.init).get('Range')).toBe('bytes=3-')
      expect({ size, from, text: new TextDecoder().decode(await readAll(body)) }).toEqual({ size: 5, from: 3, text: 'lo' })
    })

    test('starts from 0 when the server sends the whole file instead', async () => {
      const { remote } = setup(() => new Response(bytesOf('hello'), { headers: { 'Content-Length': '5' } }))
      expect(await remote.download(hash, { from: 3 })).toMatchObject({ size: 5, from: 0 })
    })

    test('sends no Range for a download from the start', async () => {
      const { remote, requests } = setup(() => new Response(bytesOf('hello')))
      await remote.download(hash)
      expect(headersOf(requests[0]?.init).has('Range')).toBe(false)
    })

    test('an unsatisfiable range (416) means the kept bytes are all there is: an empty rest, checked by its hash', async () => {
      const { remote } = setup(() => new Response(null, { status: 416, headers: { 'Content-Range': 'bytes */5' } }))
      const { body, from } = await remote.download(hash, { from: 5 })
      expect({ from, bytes: (await readAll(body)).byteLength }).toEqual({ from: 5, bytes: 0 })
    })

    test('refuses a part other than the one asked for', async () => {
      const { remote } = setup(() => new Response(bytesOf('hello'), { status: 206, headers: { 'Content-Range': 'bytes 0-4/5' } }))
      expect(await failure(remote.download(hash, { from: 3 }))).toMatchObject({ kind: 'server' })
    })
  })

  describe('uploads in parts', () => {
    test('starts one with the size and type, then sends each part to its own URL and joins them', async () => {
      const answers = [
        jsonResponse({ uploadId: 'up/1+=' }, { status: 201 }),
        jsonResponse({ partNumber: 2, etag: 'etag-2' }),
        jsonResponse({ key: 'k', size: 10, created: true }, { status: 201 }),
        new Response(null, { status: 204 }),
      ]
      const { remote, requests } = setup(() => answers.shift() ?? new Response(null, { status: 500 }))
      expect(await remote.createUpload(hash, { size: 10, mimeType: 'video/mp4' })).toEqual({ uploadId: 'up/1+=' })
      expect(await remote.uploadPart(hash, 'up/1+=', 2, new Blob(['part']))).toEqual({ etag: 'etag-2' })
      const parts = [
        { partNumber: 1, etag: 'etag-1' },
        { partNumber: 2, etag: 'etag-2' },
      ]
      expect(await remote.completeUpload(hash, 'up/1+=', parts, { size: 10 })).toEqual({ created: true })
      await remote.abortUpload(hash, 'up/1+=')
      expect(requests.map(({ url, init }) => `${init.method} ${url}`)).toEqual([
        `POST ${fileUrl}/uploads`,
        `PUT ${fileUrl}/uploads/up%2F1%2B%3D/parts/2`,
        `POST ${fileUrl}/uploads/up%2F1%2B%3D`,
        `DELETE ${fileUrl}/uploads/up%2F1%2B%3D`,
      ])
      expect(JSON.parse(String(requests[0]?.init.body))).toEqual({ size: 10, mimeType: 'video/mp4' })
      expect(JSON.parse(String(requests[2]?.init.body))).toEqual({ parts })
      for (const request of requests) expect(headersOf(request.init).get('Authorization')).toBe('Bearer token-1')
    })

    test('says when the server has the content already', async () => {
      const { remote } = setup(() => jsonResponse({ key: 'k', size: 10, created: false }))
      expect(await remote.createUpload(hash, { size: 10, mimeType: '' })).toEqual({ created: false })
    })

    test('a part of an upload the server no longer knows fails as not-found; too large as too-large', async () => {
      const statuses = [404, 413]
      const { remote } = setup(() => jsonResponse({ error: 'nope' }, { status: statuses.shift() ?? 500 }))
      expect(await failure(remote.uploadPart(hash, 'u', 1, new Blob(['x'])))).toMatchObject({ kind: 'not-found' })
      expect(await failure(remote.createUpload(hash, { size: 1, mimeType: '' }))).toMatchObject({ kind: 'too-large', retryable: false })
    })
  })

  test('checks with HEAD: size and type when the server has the file, undefined when not', async () => {
    let found = true
    const { remote, requests } = setup(() =>
      found ? new Response(null, { headers: { 'Content-Length': '12', 'Content-Type': 'image/jpeg' } }) : new Response(null, { status: 404 }),
    )
    expect(await remote.head(hash)).toEqual({ size: 12, mimeType: 'image/jpeg' })
    expect(requests[0]?.init.method).toBe('HEAD')
    found = false
    expect(await remote.head(hash)).toBeUndefined()
  })

  test('deletes with DELETE, and counts a file already gone as deleted', async () => {
    let status = 204
    const { remote, requests } = setup(() => new Response(null, { status }))
    await remote.remove(hash)
    expect(requests[0]).toMatchObject({ url: fileUrl, init: { method: 'DELETE' } })
    status = 404
    await expect(remote.remove(hash)).resolves.toBeUndefined()
    status = 500
    expect((await failure(remote.remove(hash))).kind).toBe('server')
  })

  describe('on 401', () => {
    test('refreshes the token once and sends the request again', async () => {
      const { remote, requests, asked } = setup((_url, init) =>
        headersOf(init).get('Authorization') === 'Bearer token-1'
          ? jsonResponse({ error: 'Token expired.' }, { status: 401 })
          : jsonResponse({ created: true }),
      )
      expect(await remote.upload(hash, new Blob(['x']), 'text/plain')).toEqual({ created: true })
      expect(asked).toEqual([{ refresh: false }, { refresh: true }])
      expect(requests.map((request) => headersOf(request.init).get('Authorization'))).toEqual(['Bearer token-1', 'Bearer token-2'])
    })

    test('gives up after the second 401 with an unauthorized error carrying the server’s message', async () => {
      const { remote, requests } = setup(() => jsonResponse({ error: 'This token is not for this store.' }, { status: 401 }))
      const error = await failure(remote.download(hash))
      expect(error).toMatchObject({ kind: 'unauthorized', status: 401, message: 'This token is not for this store.' })
      expect(error.retryable).toBe(false)
      expect(requests).toHaveLength(2)
    })
  })

  describe('maps error answers to kinds, with the server’s message', () => {
    test.each<[number, FileErrorKind]>([
      [400, 'bad-request'],
      [403, 'unauthorized'],
      [404, 'not-found'],
      [408, 'timeout'],
      [413, 'too-large'],
      [422, 'bad-request'],
      [500, 'server'],
      [503, 'server'],
    ])('HTTP %i → %s', async (status, kind) => {
      const { remote } = setup(() => jsonResponse({ error: `Answer ${status}.` }, { status }))
      const error = await failure(remote.upload(hash, new Blob(['x']), 'text/plain'))
      expect(error).toMatchObject({ kind, status, message: `Answer ${status}.`, retryAfterSeconds: undefined })
    })

    test('HTTP 429 → server, retryable, with the Retry-After seconds', async () => {
      const { remote } = setup(() => jsonResponse({ error: 'Slow down.' }, { status: 429, headers: { 'Retry-After': '7' } }))
      const error = await failure(remote.download(hash))
      expect(error).toMatchObject({ kind: 'server', status: 429, message: 'Slow down.', retryAfterSeconds: 7 })
      expect(error.retryable).toBe(true)
    })

    test('a body that is not JSON gives a generic message naming the action and status', async () => {
      const { remote } = setup(() => new Response('<html>Bad gateway</html>', { status: 502 }))
      const error = await failure(remote.upload(hash, new Blob(['x']), 'text/plain'))
      expect(error).toMatchObject({ kind: 'server', message: 'The server could not store the file (HTTP 502).' })
    })
  })

  test('turns a request that got no answer into a retryable network error', async () => {
    const { remote } = setup(() => Promise.reject(new TypeError('fetch failed')))
    const error = await failure(remote.download(hash))
    expect(error.kind).toBe('network')
    expect(error.retryable).toBe(true)
  })

  describe('timeout', () => {
    test('gives up on a server that does not answer within timeoutMs', async () => {
      vi.useFakeTimers()
      const { remote } = setup(silentServer, { timeoutMs: 1_000 })
      const result = failure(remote.download(hash))
      await vi.advanceTimersByTimeAsync(1_000)
      const error = await result
      expect(error.kind).toBe('timeout')
      expect(error.retryable).toBe(true)
    })

    test('gives an upload extra time for its bytes, at minBytesPerSecond', async () => {
      vi.useFakeTimers()
      const { remote } = setup(silentServer, { timeoutMs: 1_000, minBytesPerSecond: 1_000 })
      let settled = false
      const result = failure(remote.upload(hash, new Blob([new Uint8Array(2_000)]), 'text/plain')).finally(() => {
        settled = true
      })
      await vi.advanceTimersByTimeAsync(2_999)
      expect(settled).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect((await result).kind).toBe('timeout')
    })

    test('stops counting once the answer has come', async () => {
      vi.useFakeTimers()
      const { remote } = setup(() => new Response(bytesOf('hello')), { timeoutMs: 1_000 })
      const { body } = await remote.download(hash)
      await vi.advanceTimersByTimeAsync(5_000)
      expect(new TextDecoder().decode(await readAll(body))).toBe('hello')
    })
  })

  describe('abort', () => {
    test('rejects as aborted when the signal aborts during the request', async () => {
      const { remote, requests } = setup(silentServer)
      const controller = new AbortController()
      const result = failure(remote.upload(hash, new Blob(['x']), 'text/plain', { signal: controller.signal }))
      await waitFor(() => requests.length === 1)
      controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      const error = await result
      expect(error.kind).toBe('aborted')
      expect(error.retryable).toBe(false)
    })

    test('treats a request the browser dropped on its own (a navigation) as a network failure, retried', async () => {
      const { remote } = setup(() => Promise.reject(new DOMException('The user aborted a request.', 'AbortError')))
      const error = await failure(remote.upload(hash, new Blob(['x']), 'text/plain'))
      expect(error).toMatchObject({ kind: 'network', retryable: true })
    })

    test('fails a download whose bytes stop coming, as a retryable timeout, instead of waiting forever', async () => {
      const stalled = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array([1, 2, 3])) // then nothing, and no end
        },
      })
      const { remote } = setup(() => new Response(stalled), { bodyIdleTimeoutMs: 50 })
      const { body } = await remote.download(hash)
      const reading = new Response(body).arrayBuffer()
      const error = toFileError(await reading.catch((error: unknown) => error))
      expect(error).toMatchObject({ kind: 'timeout', retryable: true })
    })

    test('never uses the HTTP cache, so a response cut short cannot come back on the retry', async () => {
      const { remote, requests } = setup(() => new Response('bytes'))
      await remote.download(hash)
      await remote.head(hash)
      await remote.upload(hash, new Blob(['bytes']), 'text/plain').catch(() => {})
      expect(requests.map((request) => request.init.cache)).toEqual(['no-store', 'no-store', 'no-store'])
    })

    test('rejects as aborted when the signal was aborted before the call', async () => {
      const { remote } = setup(() => new Response(bytesOf('hello')))
      const controller = new AbortController()
      controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      expect((await failure(remote.download(hash, { signal: controller.signal }))).kind).toBe('aborted')
    })

    // Regression test, for a bug where the token is awaited before the signal is looked at, and getToken takes no signal,
    // so a cancelled transfer whose token request hangs (server slow or down) never settles,
    // and neither the timeout nor the abort frees its place in the executor.
    test('rejects as aborted when the signal aborts while the token is still being fetched', async () => {
      const remote = createRemoteFileStorage({
        baseUrl,
        storeId: 'store-1',
        getToken: () => new Promise<string>(() => {}),
        fetch: createFakeFetch(() => new Response()).fetch,
      })
      const controller = new AbortController()
      let settled = false
      remote.download(hash, { signal: controller.signal }).catch(() => {
        settled = true
      })
      controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      await waitFor(() => settled, 200)
    })
  })
})

describe('upload progress', () => {
  test('goes through the progress-capable fetch with the token, and reports the bytes sent', async () => {
    const sent: number[] = []
    const calls: Array<{ url: string; authorization: string | null; method: string | undefined }> = []
    const { remote, requests } = setup(() => jsonResponse({}, { status: 500 }), {
      fetchWithProgress: async (url, init, onProgress) => {
        calls.push({ url: String(url), authorization: new Headers(init.headers).get('Authorization'), method: init.method })
        onProgress(3)
        onProgress(6)
        return jsonResponse({ created: true }, { status: 201 })
      },
    })
    const result = await remote.upload(hash, new Blob(['abcdef']), 'text/plain', { onProgress: (bytes) => sent.push(bytes) })
    expect(result).toEqual({ created: true })
    expect(sent).toEqual([3, 6])
    expect(calls).toEqual([{ url: fileUrl, authorization: 'Bearer token-1', method: 'PUT' }])
    expect(requests).toHaveLength(0)
  })

  test('uses plain fetch when nobody asks for progress, or the platform cannot tell', async () => {
    const progressCalls: string[] = []
    const { remote, requests } = setup(() => jsonResponse({ created: true }, { status: 201 }), {
      fetchWithProgress: async (url) => {
        progressCalls.push(String(url))
        return jsonResponse({ created: true }, { status: 201 })
      },
    })
    await remote.upload(hash, new Blob(['abc']), 'text/plain')
    expect(progressCalls).toEqual([])
    expect(requests).toHaveLength(1)

    const withoutXhr = setup(() => jsonResponse({ created: true }, { status: 201 }), { fetchWithProgress: undefined })
    await withoutXhr.remote.upload(hash, new Blob(['abc']), 'text/plain', { onProgress: () => {} })
    expect(withoutXhr.requests).toHaveLength(1)
  })
})
