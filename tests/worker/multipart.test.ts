/** Multipart uploads against the real Worker (wrangler dev, local R2, which enforces R2's 5 MiB parts). */
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, fetchToken, multipartClient, newStoreClient, newStoreId, randomFile, rawRequest, sha256Hex } from './helpers.ts'

const MiB = 1024 * 1024

let worker: RunningWorker
const issuedTokens: string[] = []

beforeAll(async () => {
  worker = await startWorker()
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

type TestFile = { bytes: Uint8Array<ArrayBuffer>; sha256: string }

/** A store with its token, and a file of it with its multipart routes. */
const newStore = async () => {
  const storeId = newStoreId()
  const token = await fetchToken(worker.url, storeId)
  issuedTokens.push(token)
  const fileUrl = (sha256: string) => `${worker.url}/api/files/${storeId}/${sha256}`
  const uploads = (sha256: string, asToken = token) => multipartClient(fileUrl(sha256), asToken)
  const read = (sha256: string, headers: Record<string, string> = {}) => fetch(fileUrl(sha256), { headers: { ...bearer(token), ...headers } })
  return { storeId, token, fileUrl, uploads, read }
}

const uploadIdOf = async (response: Response): Promise<string> => {
  expect(response.status).toBe(201)
  const body = (await response.json()) as { uploadId: string }
  expect(body).toEqual({ uploadId: expect.any(String) })
  return body.uploadId
}

/** Sends `bytes` as parts of `partSize`, returning what complete wants. */
const sendParts = async (client: ReturnType<typeof multipartClient>, uploadId: string, bytes: Uint8Array<ArrayBuffer>, partSize: number) => {
  const parts: { partNumber: number; etag: string }[] = []
  for (let offset = 0, partNumber = 1; offset < bytes.length; offset += partSize, partNumber++) {
    const response = await client.part(uploadId, partNumber, bytes.slice(offset, offset + partSize))
    expect(response.status, `part ${partNumber}`).toBe(200)
    const part = (await response.json()) as { partNumber: number; etag: string }
    expect(part).toEqual({ partNumber, etag: expect.any(String) })
    parts.push(part)
  }
  return parts
}

/** Sends the parts of `bytes` in the order of `partNumbers`, returning what complete wants. */
const sendPartsInOrder = async (
  client: ReturnType<typeof multipartClient>,
  uploadId: string,
  bytes: Uint8Array<ArrayBuffer>,
  partSize: number,
  partNumbers: number[],
) => {
  const parts: { partNumber: number; etag: string }[] = []
  for (const partNumber of partNumbers) {
    const response = await client.part(uploadId, partNumber, bytes.slice((partNumber - 1) * partSize, partNumber * partSize))
    expect(response.status, `part ${partNumber}`).toBe(200)
    parts.push((await response.json()) as { partNumber: number; etag: string })
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber)
}

/** A 12 MiB file and a started upload of it. */
const startedUpload = async (file: TestFile = randomFile(12 * MiB + 5), mimeType = 'video/mp4') => {
  const store = await newStore()
  const client = store.uploads(file.sha256)
  const uploadId = await uploadIdOf(await client.create({ size: file.bytes.length, mimeType }))
  return { ...store, file, client, uploadId }
}

describe('a file in parts', () => {
  it('uploads 12 MiB in 5 MiB parts and reads back identical bytes, with its type and ranges', async () => {
    const { client, uploadId, file, storeId, read } = await startedUpload()
    const parts = await sendParts(client, uploadId, file.bytes, 5 * MiB)
    expect(parts).toHaveLength(3)

    const completed = await client.complete(uploadId, parts)
    expect(completed.status).toBe(201)
    // Joined at its staging key, then written under its content key by one put that R2 checks.
    expect(await completed.json()).toEqual({ key: `${storeId}/${file.sha256}`, size: file.bytes.length, created: true, verified: 'by-storage' })

    const download = await read(file.sha256)
    expect(download.status).toBe(200)
    expect(download.headers.get('Content-Type')).toBe('video/mp4')
    expect(download.headers.get('Content-Length')).toBe(String(file.bytes.length))
    expect(download.headers.get('ETag')).toBe(`"${file.sha256}"`)
    expect(sha256Hex(new Uint8Array(await download.arrayBuffer()))).toBe(file.sha256)

    // A range across the boundary of two parts.
    const start = 5 * MiB - 10
    const range = await read(file.sha256, { Range: `bytes=${start}-${start + 19}` })
    expect(range.status).toBe(206)
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(file.bytes.slice(start, start + 20))
  })

  it('takes the parts in any order, and a part sent again replaces the first', async () => {
    const file = randomFile(5 * MiB + 100)
    const { client, uploadId, read } = await startedUpload(file)
    const second = await client.part(uploadId, 2, file.bytes.slice(5 * MiB))
    expect((await client.part(uploadId, 1, randomFile(5 * MiB).bytes)).status).toBe(200)
    const first = await client.part(uploadId, 1, file.bytes.slice(0, 5 * MiB))
    const parts = [await first.json(), await second.json()]

    expect((await client.complete(uploadId, parts)).status).toBe(201)
    expect(sha256Hex(new Uint8Array(await (await read(file.sha256)).arrayBuffer()))).toBe(file.sha256)
  })

  it('stores application/octet-stream when the upload names no type', async () => {
    const file = randomFile(1000)
    const { client, read } = await newStore().then((store) => ({ ...store, client: store.uploads(file.sha256) }))
    const uploadId = await uploadIdOf(await client.create({ size: file.bytes.length }))
    expect((await client.complete(uploadId, await sendParts(client, uploadId, file.bytes, 5 * MiB))).status).toBe(201)
    expect((await read(file.sha256)).headers.get('Content-Type')).toBe('application/octet-stream')
  })
})

describe('content already stored', () => {
  it('answers create with 200 { created: false } when the object exists', async () => {
    const store = await newStore()
    const file = randomFile(2000)
    expect((await fetch(store.fileUrl(file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(store.token) })).status).toBe(201)

    const response = await store.uploads(file.sha256).create({ size: file.bytes.length, mimeType: 'image/png' })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ key: `${store.storeId}/${file.sha256}`, size: 2000, created: false })
  })

  it('answers complete with 200 { created: false } when another upload finished first, and drops its own', async () => {
    const file = randomFile(1000)
    const store = await newStore()
    const mine = store.uploads(file.sha256)
    const uploadId = await uploadIdOf(await mine.create({ size: file.bytes.length }))
    const parts = await sendParts(mine, uploadId, file.bytes, 5 * MiB)
    // Another device stores the same content meanwhile.
    expect((await fetch(store.fileUrl(file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(store.token) })).status).toBe(201)

    const completed = await mine.complete(uploadId, parts)
    expect(completed.status).toBe(200)
    expect(await completed.json()).toEqual({ key: `${store.storeId}/${file.sha256}`, size: 1000, created: false })
    expect((await mine.part(uploadId, 2, file.bytes)).status).toBe(404)
    expect(sha256Hex(new Uint8Array(await (await store.read(file.sha256)).arrayBuffer()))).toBe(file.sha256)
  })
})

describe('verification after complete', () => {
  it('refuses content that does not match its SHA-256 and stores nothing', async () => {
    const claimed = randomFile(100)
    const { client, uploadId, read } = await startedUpload(claimed)
    const other = randomFile(claimed.bytes.length)
    const response = await client.complete(uploadId, await sendParts(client, uploadId, other.bytes, 5 * MiB))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: expect.stringMatching(/does not match its SHA-256.*nothing was stored/) })
    expect((await read(claimed.sha256)).status).toBe(404)
  })

  it('verifies parts that came out of order as it publishes them', async () => {
    const { client, uploadId, file, read } = await startedUpload()
    const parts = await sendPartsInOrder(client, uploadId, file.bytes, 5 * MiB, [1, 3, 2])
    const response = await client.complete(uploadId, parts)
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({ verified: 'by-storage' })
    expect(sha256Hex(new Uint8Array(await (await read(file.sha256)).arrayBuffer()))).toBe(file.sha256)
  })

  it('takes the last bytes of a part sent again as the part', async () => {
    const claimed = randomFile(12 * MiB + 5)
    const { client, uploadId, read } = await startedUpload(claimed)
    const parts = await sendParts(client, uploadId, claimed.bytes, 5 * MiB)
    // The last part once more, with other bytes: the object is then not the claimed content.
    const wrong = await client.part(uploadId, 3, randomFile(2 * MiB + 5).bytes)
    const wrongPart = (await wrong.json()) as { partNumber: number; etag: string }
    const refused = await client.complete(uploadId, [parts[0], parts[1], wrongPart])
    expect(refused.status).toBe(400)
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/does not match its SHA-256/) })
    expect((await read(claimed.sha256)).status).toBe(404)
  })

  it('refuses a size other than the declared one and stores nothing', async () => {
    const file = randomFile(100)
    const store = await newStore()
    const client = store.uploads(file.sha256)
    const uploadId = await uploadIdOf(await client.create({ size: 101 }))
    const response = await client.complete(uploadId, await sendParts(client, uploadId, file.bytes, 5 * MiB))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: expect.stringMatching(/100 bytes.*declared size of 101 bytes.*nothing was stored/) })
    expect((await store.read(file.sha256)).status).toBe(404)
  })

  it('refuses parts R2 does not accept, and completes once they are right', async () => {
    const file = randomFile(12 * MiB)
    const { client, uploadId, read } = await startedUpload(file)
    const parts = await sendParts(client, uploadId, file.bytes, 5 * MiB)
    const [first, second, third] = parts

    const cases: [string, unknown][] = [
      ['a wrong etag', [first, { ...second, etag: `${second!.etag}x` }, third]],
      ['a part never uploaded', [...parts, { partNumber: 4, etag: first!.etag }]],
      ['a missing etag', [first, { partNumber: 2 }, third]],
      ['a part twice', [first, first, second, third]],
      ['no parts', []],
      ['partNumber 0', [{ ...first, partNumber: 0 }, second, third]],
    ]
    for (const [name, body] of cases) {
      const response = await client.complete(uploadId, body)
      expect(response.status, name).toBe(400)
      expect(await response.json(), name).toEqual({ error: expect.any(String) })
    }

    expect((await client.complete(uploadId, parts)).status).toBe(201)
    expect(sha256Hex(new Uint8Array(await (await read(file.sha256)).arrayBuffer()))).toBe(file.sha256)
  })

  it('refuses parts under 5 MiB but the last', async () => {
    const file = randomFile(12 * MiB)
    const { client, uploadId } = await startedUpload(file)
    const response = await client.complete(uploadId, await sendParts(client, uploadId, file.bytes, 4 * MiB))
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: expect.stringContaining('5 MiB') })
  })
})

describe('what an upload declared', () => {
  it('refuses, as they arrive, parts that do not fit the declared size and part size', async () => {
    const store = await newStore()
    const file = randomFile(12 * MiB + 5)
    const client = store.uploads(file.sha256)
    const uploadId = await uploadIdOf(await client.create({ size: file.bytes.length, partSize: 5 * MiB }))
    const refusals: Array<[string, number, Uint8Array<ArrayBuffer>]> = [
      ['beyond the last part', 4, randomFile(5 * MiB).bytes],
      ['larger than the part size', 1, randomFile(6 * MiB).bytes],
      ['smaller than the part size, not the last', 2, randomFile(MiB).bytes],
      ['a last part of the wrong size', 3, randomFile(3 * MiB).bytes],
    ]
    for (const [why, partNumber, bytes] of refusals) {
      const response = await client.part(uploadId, partNumber, bytes)
      expect(response.status, why).toBe(400)
      expect(((await response.json()) as { error: string }).error, why).toContain(`part ${partNumber}`)
    }
    // The parts that fit go in, and the file is whole.
    const parts = await sendParts(client, uploadId, file.bytes, 5 * MiB)
    expect((await client.complete(uploadId, parts)).status).toBe(201)
    expect(sha256Hex(new Uint8Array(await (await store.read(file.sha256)).arrayBuffer()))).toBe(file.sha256)
  })

  it('without a part size, refuses parts larger than the file or past its 5 MiB pieces', async () => {
    const { client, uploadId } = await startedUpload(randomFile(6 * MiB))
    const past = await client.part(uploadId, 3, randomFile(MiB).bytes)
    expect(past.status, await past.clone().text()).toBe(400)
    expect((await client.part(uploadId, 1, randomFile(7 * MiB).bytes)).status).toBe(400)
    expect((await client.part(uploadId, 2, randomFile(MiB).bytes)).status).toBe(200)
  })

  it('refuses a part size R2 cannot join or one request cannot carry', async () => {
    const store = await newStore()
    const client = store.uploads(randomFile(1).sha256)
    for (const partSize of [MiB, 5 * MiB - 1, 200 * MiB, 5.5, '5242880']) {
      expect((await client.create({ size: 20 * MiB, partSize })).status, String(partSize)).toBe(400)
    }
  })
})

describe('parts arriving together', () => {
  /** Sends a part in two halves a while apart, so that the Worker holds the request open meanwhile. */
  const slowPart = (url: string, token: string, bytes: Uint8Array, pauseMs: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port, pathname } = new URL(url)
      const request = httpRequest(
        { hostname, port, path: pathname, method: 'PUT', headers: { ...bearer(token), 'Content-Length': String(bytes.length) } },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
        },
      )
      request.on('error', reject)
      const half = Math.floor(bytes.length / 2)
      request.write(bytes.subarray(0, half))
      setTimeout(() => request.end(bytes.subarray(half)), pauseMs)
    })

  it('stream into R2, never held whole, so that many at once do not exhaust the isolate', async () => {
    // Three uploads, each a 20 MiB first part and a small last one; the first parts arrive
    // together and stay open a while: 60 MiB at once, which held whole would be half the isolate.
    const uploads = await Promise.all(
      [0, 1, 2].map(async () => {
        const started = await startedUpload(randomFile(20 * MiB + 1000))
        return { ...started, url: `${started.fileUrl(started.file.sha256)}/uploads/${encodeURIComponent(started.uploadId)}/parts/1` }
      }),
    )
    const firsts = await Promise.all(uploads.map(({ url, token, file }) => slowPart(url, token, file.bytes.subarray(0, 20 * MiB), 1_500)))
    for (const first of firsts) expect(first.status, first.body).toBe(200)
    const verified: string[] = []
    for (const [index, { client, uploadId, file }] of uploads.entries()) {
      const last = await client.part(uploadId, 2, file.bytes.slice(20 * MiB))
      expect(last.status).toBe(200)
      const completed = await client.complete(uploadId, [JSON.parse(firsts[index]!.body), await last.json()])
      expect(completed.status).toBe(201)
      verified.push(((await completed.json()) as { verified: string }).verified)
    }
    expect(verified).toEqual(['by-storage', 'by-storage', 'by-storage'])
  }, 120_000)
})

describe('while a large upload is published', () => {
  it('the Worker keeps answering other requests', async () => {
    // Publishing reads the whole staged object and writes it under its content key. Local R2
    // reads ahead, so reads resolve at once: a loop that never gave the event loop a turn held
    // every other request (and the sync socket's pings) until the end, and devices took the
    // silence for a lost connection.
    const { client, uploadId, file } = await startedUpload(randomFile(160 * MiB + 7))
    const parts = await sendPartsInOrder(client, uploadId, file.bytes, 16 * MiB, [2, 1, ...Array.from({ length: 9 }, (_, index) => index + 3)])
    let completed = false
    const completing = client.complete(uploadId, parts).finally(() => (completed = true))
    let answeredMeanwhile = 0
    while (!completed) {
      const health = await fetch(`${worker.url}/api/health`)
      expect(health.status).toBe(200)
      if (!completed) answeredMeanwhile += 1
    }
    const response = await completing
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({ verified: 'by-storage' })
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(10)
  }, 120_000)
})

describe('unknown and aborted uploads', () => {
  it('answers a part of an unknown upload with 404', async () => {
    const store = await newStore()
    const file = randomFile(10)
    const client = store.uploads(file.sha256)
    for (const uploadId of ['no-such-upload', 'with/slash+and=equals']) {
      const response = await client.part(uploadId, 1, file.bytes)
      expect(response.status, uploadId).toBe(404)
      expect(await response.json()).toEqual({ error: expect.stringContaining('start a new one') })
    }
  })

  it('answers a complete of an unknown upload with 404, which a client does not retry', async () => {
    const store = await newStore()
    const file = randomFile(10)
    const client = store.uploads(file.sha256)
    for (const uploadId of ['no-such-upload', 'with/slash+and=equals']) {
      const response = await client.complete(uploadId, [{ partNumber: 1, etag: 'an-etag' }])
      expect(response.status, uploadId).toBe(404)
      expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(await response.json()).toEqual({ error: expect.stringContaining('start a new one') })
    }
  })

  it('aborts idempotently; a part or a complete afterwards is 404', async () => {
    const file = randomFile(100)
    const { client, uploadId } = await startedUpload(file)
    const parts = await sendParts(client, uploadId, file.bytes, 5 * MiB)

    expect((await client.abort(uploadId)).status).toBe(204)
    expect((await client.abort(uploadId)).status).toBe(204)
    expect((await client.abort('never-started')).status).toBe(204)
    expect((await client.part(uploadId, 1, file.bytes)).status).toBe(404)
    expect((await client.complete(uploadId, parts)).status).toBe(404)
  })
})

describe('requests', () => {
  it('needs a Content-Length on a part (411 for a chunked one)', async () => {
    const { fileUrl, token, uploadId, file } = await startedUpload(randomFile(10))
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(file.bytes)
        controller.close()
      },
    })
    // `duplex` is required by Node's fetch for a stream body; the DOM types do not know it yet.
    const init = { method: 'PUT', body, duplex: 'half', headers: bearer(token) } as RequestInit
    const response = await fetch(`${fileUrl(file.sha256)}/uploads/${encodeURIComponent(uploadId)}/parts/1`, init)
    expect(response.status).toBe(411)
    expect(await response.json()).toEqual({ error: expect.stringContaining('Content-Length') })
  })

  it('refuses a create body that is not { size, mimeType }', async () => {
    const store = await newStore()
    const client = store.uploads(randomFile(1).sha256)
    for (const body of [{}, { size: -1 }, { size: 1.5 }, { size: '10' }, { size: 10, mimeType: 5 }, [], 'x']) {
      const response = await client.create(body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(await response.json()).toEqual({ error: expect.any(String) })
    }
  })

  it('refuses malformed upload paths with 400 and other methods with 405', async () => {
    const { storeId, token, fileUrl } = await newStore()
    const hash = randomFile(1).sha256
    const base = `/api/files/${storeId}/${hash}`
    const paths = [
      `${base}/uploads/x/parts/0`,
      `${base}/uploads/x/parts/10001`,
      `${base}/uploads/x/parts/one`,
      `${base}/uploads/x/parts`,
      `${base}/uploads/x/extra/1`,
      `${base}/uploads//parts/1`,
      `${base}/uploads/%ZZ/parts/1`,
      `${base}/uploads/${'a'.repeat(1025)}`,
      `${base}/upload`,
    ]
    for (const path of paths) {
      const response = await rawRequest(worker.url, { method: 'PUT', path, headers: { ...bearer(token), 'Content-Length': '0' } })
      expect(response.status, path).toBe(400)
      expect(JSON.parse(response.body), path).toEqual({ error: expect.any(String) })
    }
    const wrongMethods: [string, string, string][] = [
      ['GET', `${fileUrl(hash)}/uploads`, 'POST'],
      ['PUT', `${fileUrl(hash)}/uploads/x`, 'POST, DELETE'],
      ['POST', `${fileUrl(hash)}/uploads/x/parts/1`, 'PUT'],
    ]
    for (const [method, url, allow] of wrongMethods) {
      const response = await fetch(url, { method, headers: bearer(token) })
      expect(response.status, `${method} ${url}`).toBe(405)
      expect(response.headers.get('Allow')).toBe(allow)
    }
  })
})

describe('authorization', () => {
  it('refuses every upload route without a token of the store in the path', async () => {
    const a = await startedUpload(randomFile(100))
    const b = await newStore()
    const missing = multipartClient(a.fileUrl(a.file.sha256), '')
    const ofB = a.uploads(a.file.sha256, b.token)
    for (const client of [missing, ofB]) {
      const answers = [
        await client.create({ size: 100 }),
        await client.part(a.uploadId, 1, a.file.bytes),
        await client.complete(a.uploadId, [{ partNumber: 1, etag: 'x' }]),
        await client.abort(a.uploadId),
      ]
      expect(answers.map((response) => response.status)).toEqual([401, 401, 401, 401])
    }
    // Untouched: store A completes its upload.
    const parts = await sendParts(a.client, a.uploadId, a.file.bytes, 5 * MiB)
    expect((await a.client.complete(a.uploadId, parts)).status).toBe(201)
  })

  it("binds an upload to its key: store B cannot use store A's uploadId under its own path", async () => {
    const a = await startedUpload(randomFile(100))
    const b = await newStore()
    const stolen = b.uploads(a.file.sha256)
    expect((await stolen.part(a.uploadId, 1, a.file.bytes)).status).toBe(404)
    expect((await stolen.abort(a.uploadId)).status).toBe(204)

    // Store A's upload is still there, untouched.
    const parts = await sendParts(a.client, a.uploadId, a.file.bytes, 5 * MiB)
    expect((await a.client.complete(a.uploadId, parts)).status).toBe(201)
    expect((await b.read(a.file.sha256)).status).toBe(404)
  })
})

describe('logs', () => {
  it('name the route of every request, never the token', () => {
    const output = worker.output()
    for (const route of ['upload-create', 'upload-part', 'upload-complete', 'upload-abort']) {
      expect(output).toContain(`"route":"${route}"`)
    }
    expect(issuedTokens.length).toBeGreaterThan(0)
    for (const token of issuedTokens) expect(output).not.toContain(token)
  })
})

describe('uploads in parts in flight', () => {
  const MAX = 2
  let small: RunningWorker
  beforeAll(async () => {
    small = await startWorker({ vars: { MAX_UPLOADS_IN_FLIGHT: String(MAX) } })
  }, 60_000)
  afterAll(async () => {
    await small?.close()
  })

  it('are at most MAX_UPLOADS_IN_FLIGHT a store: one more is 429 with Retry-After until one ends; another store has its own', async () => {
    const store = await newStoreClient(small.url)
    const files = [randomFile(10), randomFile(11), randomFile(12)]
    const clients = files.map((file) => multipartClient(store.fileUrl(file.sha256), store.token))
    const ids: string[] = []
    for (const client of clients.slice(0, MAX)) {
      const created = await client.create({ size: 6 * 1024 * 1024 })
      expect(created.status).toBe(201)
      ids.push(((await created.json()) as { uploadId: string }).uploadId)
    }
    const refused = await clients[MAX]!.create({ size: 6 * 1024 * 1024 })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0)
    const other = await newStoreClient(small.url)
    expect((await multipartClient(other.fileUrl(files[2]!.sha256), other.token).create({ size: 6 * 1024 * 1024 })).status).toBe(201)
    // One ends (aborted): there is room again.
    expect((await clients[0]!.abort(ids[0]!)).status).toBe(204)
    expect((await clients[MAX]!.create({ size: 6 * 1024 * 1024 })).status).toBe(201)
  })
})
