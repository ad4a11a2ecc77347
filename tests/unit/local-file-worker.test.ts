import { afterEach, describe, expect, test } from 'vitest'
import { connectLocalFileStorage, type MessageEndpoint, serveLocalFileStorage } from '../../src/services/local-file-worker.ts'
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
})
