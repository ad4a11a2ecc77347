import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { connectLocalFileStorage, type MessageEndpoint, serveLocalFileStorage } from '../../src/file-sync/client/local-file-worker.ts'
import { bytesOf, createMemoryFileStorage, type MemoryFileStorage, sha256Of, textOn } from '../support/fakes.ts'
import { waitFor } from '../support/wait.ts'

/** The page's side and the worker's side of a real MessageChannel: messages are cloned and streams transferred. */
let channel: MessageChannel | undefined
afterEach(() => {
  channel?.port1.close()
  channel?.port2.close()
  channel = undefined
})

const setup = () => {
  channel = new MessageChannel()
  const storages = new Map<string, MemoryFileStorage>()
  serveLocalFileStorage(channel.port1 as unknown as MessageEndpoint, (folder) => {
    const storage = createMemoryFileStorage()
    storages.set(folder.join('/'), storage)
    return storage
  })
  channel.port1.start()
  const local = connectLocalFileStorage({ worker: channel.port2 as unknown as MessageEndpoint, folder: ['files', 'store-1'] })
  channel.port2.start()
  return { local, storage: () => storages.get('files/store-1') }
}

describe('a LocalFileStorage in a worker', () => {
  test('saves a Blob and a stream, and answers with what the worker stored', async () => {
    const { local, storage } = setup()
    const fromBlob = await local.put(new Blob(['from a dropped file']))
    const fromStream = await local.put(new Blob(['from a stream']).stream())
    expect(fromBlob).toEqual({ hash: await sha256Of(bytesOf('from a dropped file')), size: 19 })
    expect(await storage()?.list()).toEqual([fromBlob.hash, fromStream.hash])
    expect(await local.exists(fromStream.hash)).toBe(true)
    expect(await textOn(local, fromStream.hash)).toBe('from a stream')
  })

  test('keeps, reads and forgets the parts of an upload in the worker', async () => {
    const { local, storage } = setup()
    const { hash } = await local.put(new Blob(['a large file']))
    const kept = { uploadId: 'upload-1', parts: [{ partNumber: 1, etag: 'e1' }] }
    await local.keepParts(hash, kept)
    expect(await storage()?.partsOf(hash)).toEqual(kept)
    expect(await local.partsOf(hash)).toEqual(kept)
    await local.keepParts(hash, null)
    expect(await local.partsOf(hash)).toBeUndefined()
  })

  test('passes the worker’s failures on as FileErrors of the same kind', async () => {
    const { local } = setup()
    const expectedHash = await sha256Of(bytesOf('expected'))
    const error = await local.put(new Blob(['other']), { expectedHash }).catch((error: unknown) => error)
    expect(error).toMatchObject({ name: 'FileError', kind: 'integrity', retryable: true })
    await expect(local.read('../elsewhere')).rejects.toMatchObject({ kind: 'bad-request' })
  })

  test('continues a download in the worker, and cancels one from the page', async () => {
    const { local, storage } = setup()
    const content = bytesOf('a download in two tries')
    const hash = await sha256Of(content)
    let push!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (push = controller) })
    const controller = new AbortController()
    const first = local.receive(hash, body, { offset: 0, signal: controller.signal }).catch((error: unknown) => error)
    push.enqueue(content.slice(0, 6))
    await waitFor(async () => (await local.partialSize(hash)) === 6)
    controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
    expect(await first).toMatchObject({ kind: 'aborted' })

    await local.receive(hash, new Blob([content.slice(6)]).stream(), { offset: 6 })
    expect(await textOn(local, hash)).toBe('a download in two tries')
    await local.removePartials([hash])
    expect(storage()?.partials.size).toBe(0)
  })

  test('downloads by itself with the page’s token, continues the kept bytes, and asks for a fresh token once', async () => {
    const { local, storage } = setup()
    const content = bytesOf('0123456789'.repeat(1000))
    const hash = await sha256Of(content)
    const asked: Array<{ authorization?: string; range?: string }> = []
    // The Worker's file API as far as a download sees it: a token, and Range.
    server = await listen((request, response) => {
      asked.push({ authorization: request.headers.authorization, range: request.headers.range })
      if (request.url !== `/api/files/store-1/${hash}`) return void response.writeHead(404).end()
      if (request.headers.authorization !== 'Bearer fresh') return void response.writeHead(401).end('{"error":"expired"}')
      const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0)
      const headers = start > 0 ? { 'Content-Range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}
      response.writeHead(start > 0 ? 206 : 200, headers).end(content.subarray(start))
    })
    // An earlier try kept the first 4000 bytes.
    await local.receive(hash, streamThatFails(content.slice(0, 4000)), { offset: 0 }).catch(() => undefined)
    expect(await local.partialSize(hash)).toBe(4000)

    const tokens: boolean[] = []
    const getToken = async ({ refresh = false } = {}) => {
      tokens.push(refresh)
      return refresh ? 'fresh' : 'expired'
    }
    const progress: number[] = []
    const stored = await local.download?.(hash, { baseUrl: urlOf(server), storeId: 'store-1', getToken }, { onProgress: (bytes) => progress.push(bytes) })

    expect(stored).toEqual({ hash, size: content.length })
    expect(await textOn(local, hash)).toBe('0123456789'.repeat(1000))
    expect(tokens).toEqual([false, true])
    expect(asked).toEqual([
      { authorization: 'Bearer expired', range: 'bytes=4000-' },
      { authorization: 'Bearer fresh', range: 'bytes=4000-' },
    ])
    // Counted from the kept bytes on, at most every 250 ms.
    expect(progress[0]).toBeGreaterThan(4000)
    expect(Math.max(...progress)).toBeLessThanOrEqual(content.length)
    expect(storage()?.partials.size).toBe(0)
  })

  test('a download the server refuses fails with the server’s reason, and keeps nothing', async () => {
    const { local, storage } = setup()
    server = await listen((_request, response) => void response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"No such file."}'))
    const hash = await sha256Of(bytesOf('gone'))
    const getToken = async () => 'token'
    const error = await local.download?.(hash, { baseUrl: urlOf(server), storeId: 'store-1', getToken }, {}).catch((error: unknown) => error)
    expect(error).toMatchObject({ name: 'FileError', kind: 'not-found', message: 'No such file.' })
    expect(await local.exists(hash)).toBe(false)
    expect(storage()?.partials.size).toBe(0)
  })
})

let server: Server | undefined
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  server = undefined
})

const listen = (handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> =>
  new Promise((resolve) => {
    const created = createServer(handler).listen(0, '127.0.0.1', () => resolve(created))
  })

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

/** Gives `bytes`, then fails, as a connection that drops would. */
const streamThatFails = (bytes: Uint8Array) => {
  let sent = false
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new TypeError('The connection dropped.'))
      sent = true
      controller.enqueue(bytes)
    },
  })
}
