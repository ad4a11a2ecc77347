import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createFileSyncClient, type FileSyncClient } from '../../src/file-sync/client/index.ts'
import { type MessageEndpoint, serveLocalFileStorage } from '../../src/file-sync/client/local-file-worker.ts'
import type { AppStore } from '../../src/livestore/schema.ts'
import { createMemoryFileStorage, type MemoryFileStorage, createMemoryStorage } from '../support/fakes.ts'
import { createTestStore, fileRow } from '../support/store.ts'
import { type Deferred, deferred, waitFor } from '../support/wait.ts'

// createFileSyncClient as a page runs it, with what the browser gives it made here: the files
// worker (a MessageChannel to storage in memory, one "OPFS" for every tab), Web Locks (queued per
// name, as the browser does), window and fetch (the Worker's answers). Two clients on one store
// are two tabs of it.

/** The files worker: every instance serves the same storage, as every tab's reaches the same OPFS. */
class FakeWorker {
  static instances: FakeWorker[] = []
  static disk = new Map<string, MemoryFileStorage>()
  /** The next worker answers nothing (busy, or slow to load) until told to go on. */
  static holdNext = false
  readonly calls: string[] = []
  terminated = false
  readonly #channel = new MessageChannel()
  readonly goOn: () => void

  constructor() {
    FakeWorker.instances.push(this)
    const inside = this.#channel.port1
    this.goOn = () => inside.start()
    serveLocalFileStorage(inside as unknown as MessageEndpoint, (folder) => {
      const key = folder.join('/')
      const storage = FakeWorker.disk.get(key) ?? createMemoryFileStorage()
      FakeWorker.disk.set(key, storage)
      return storage
    })
    if (!FakeWorker.holdNext) inside.start()
    FakeWorker.holdNext = false
    this.#channel.port2.start()
  }

  postMessage(message: unknown, transfer: Transferable[] = []) {
    const { method } = message as { method?: string }
    if (method) this.calls.push(method)
    if (!this.terminated) this.#channel.port2.postMessage(message, transfer)
  }
  addEventListener(type: string, listener: (event: Event) => void) {
    if (type === 'message') this.#channel.port2.addEventListener('message', listener as (event: MessageEvent) => void)
  }
  terminate() {
    this.terminated = true
    this.#channel.port1.close()
    this.#channel.port2.close()
  }
}

/** Web Locks: one holder per name, the others wait in turn. */
const fakeLocks = () => {
  const queues = new Map<string, Promise<unknown>>()
  return {
    request: (name: string, task: () => Promise<unknown> | unknown) => {
      const result = (queues.get(name) ?? Promise.resolve()).then(() => task())
      queues.set(
        name,
        result.catch(() => {}),
      )
      return result
    },
  }
}

/** The presence socket (client/presence.ts): it lists each page that says hello, and keeps what each page sent. */
class FakeWebSocket extends EventTarget {
  static instances: FakeWebSocket[] = []
  readonly sent: string[] = []
  constructor(readonly url: string) {
    super()
    FakeWebSocket.instances.push(this)
    queueMicrotask(() => this.dispatchEvent(new Event('open')))
  }
  send(data: string) {
    this.sent.push(data)
    const message = data === 'ping' ? undefined : (JSON.parse(data) as { type: string; pageId?: string })
    if (message?.type !== 'hello') return
    const peers = [{ pageId: message.pageId, userId: 'dev', profile: { name: 'dev' }, device: 'test', uploading: [] }]
    queueMicrotask(() => this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify({ type: 'peers', peers }) })))
  }
  close() {}
  /** The uploading lists this page told, in order. */
  uploadingTold(): string[][] {
    return this.sent.filter((data) => data.includes('"uploading"')).map((data) => (JSON.parse(data) as { fileIds: string[] }).fileIds)
  }
}

/** The Worker's file API, as far as these tests go: health, and PUTs of whole files (held while a test holds them). */
const uploads: string[] = []
let heldPuts: Deferred<void> | undefined
const fakeFetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
  const url = new URL(input instanceof Request ? input.url : input)
  if (url.pathname === '/api/health') return Response.json({ ok: true })
  if (init.method === 'PUT' && url.pathname.startsWith('/api/files/')) {
    await heldPuts?.promise
    await new Response(init.body as BodyInit).arrayBuffer()
    const [, , , storeId, hash] = url.pathname.split('/')
    uploads.push(hash ?? '')
    return Response.json({ key: `${storeId}/${hash}`, size: 0, created: true }, { status: 201 })
  }
  return Response.json({ error: 'not in this test' }, { status: 404 })
}

let store: AppStore
const clients: FileSyncClient[] = []

beforeEach(async () => {
  FakeWorker.instances = []
  FakeWorker.disk = new Map()
  FakeWorker.holdNext = false
  FakeWebSocket.instances = []
  heldPuts = undefined
  uploads.length = 0
  // Opened first: LiveStore's session looks for a browser's window when there is one.
  store = await createTestStore()
  const window = Object.assign(new EventTarget(), { localStorage: createMemoryStorage(), sessionStorage: createMemoryStorage(), location: { reload() {} } })
  vi.stubGlobal('window', window)
  vi.stubGlobal('navigator', { locks: fakeLocks(), onLine: true })
  vi.stubGlobal('Worker', FakeWorker)
  vi.stubGlobal('WebSocket', FakeWebSocket)
  vi.stubGlobal('fetch', vi.fn(fakeFetch))
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.dispose()
  vi.unstubAllGlobals()
  await store.shutdownPromise()
})

const open = () => {
  const client = createFileSyncClient({
    store,
    storeId: store.storeId,
    baseUrl: 'http://127.0.0.1:8787',
    tokens: { getToken: async () => 'token', cached: () => 'token' } as never,
  })
  clients.push(client)
  return client
}

describe('createFileSyncClient', () => {
  it('uploads what a tab saves, from the one tab that holds the store', async () => {
    const first = open()
    const second = open()
    const fileId = await second.fileStorage.saveFile(new Blob(['saved in the second tab']))
    await waitFor(() => fileRow(store, fileId)?.remoteKey !== '', 10_000)
    const [firstWorker, secondWorker] = FakeWorker.instances
    // The first tab holds the lock: it reads the bytes to upload them; the second only saved them.
    expect(firstWorker?.calls).toContain('read')
    expect(secondWorker?.calls).not.toContain('read')
    expect(uploads).toEqual([fileRow(store, fileId)?.contentHash])
    expect(first.index.file(fileId)?.remoteKey).not.toBe('')
  })

  it('dispose() stops this tab, closes its files worker, and lets another tab take over', async () => {
    const first = open()
    const second = open()
    const before = await first.fileStorage.saveFile(new Blob(['saved while the first tab syncs']))
    await waitFor(() => fileRow(store, before)?.remoteKey !== '', 10_000)
    first.dispose()
    expect(FakeWorker.instances[0]?.terminated).toBe(true)

    const fileId = await second.fileStorage.saveFile(new Blob(['saved after the first tab closed']))
    await waitFor(() => fileRow(store, fileId)?.remoteKey !== '', 10_000)
    expect(FakeWorker.instances[1]?.calls).toContain('read')
    expect(uploads).toEqual([fileRow(store, before)?.contentHash, fileRow(store, fileId)?.contentHash])
  })

  it('dispose() in the middle of the start lets another tab take over too', async () => {
    // The first tab's files worker never answers its start: a dispose must not wait for it.
    FakeWorker.holdNext = true
    const first = open()
    const second = open()
    await waitFor(() => (FakeWorker.instances[0]?.calls.length ?? 0) > 0)
    first.dispose()
    expect(FakeWorker.instances[0]?.terminated).toBe(true)

    const fileId = await second.fileStorage.saveFile(new Blob(['saved after the first tab closed']))
    await waitFor(() => fileRow(store, fileId)?.remoteKey !== '', 10_000)
    expect(FakeWorker.instances[1]?.calls).toContain('read')
    expect(uploads).toEqual([fileRow(store, fileId)?.contentHash])
  })

  it('a disposed client follows the store no more', async () => {
    const first = open()
    first.dispose()
    const listener = vi.fn()
    first.index.subscribe(listener)
    const second = open()
    await second.fileStorage.saveFile(new Blob(['after']))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(listener).not.toHaveBeenCalled()
    expect(first.index.size).toBe(0)
  })

  it('tells the store’s other pages what this tab uploads, from the tab that uploads only', async () => {
    heldPuts = deferred()
    const first = open()
    const second = open()
    await waitFor(() => FakeWebSocket.instances.length === 2)
    const [firstSocket, secondSocket] = FakeWebSocket.instances
    expect(firstSocket?.url).toBe(`ws://127.0.0.1:8787/api/presence/${store.storeId}`)
    await waitFor(() => first.presence?.state().connected === true && second.presence?.state().connected === true)
    // Saved in the second tab, uploaded by the first (it holds the store): the PUT waits.
    const fileId = await second.fileStorage.saveFile(new Blob(['uploaded while the others watch']))
    await waitFor(() => (firstSocket?.uploadingTold() ?? []).some((told) => told.includes(fileId)), 10_000)
    heldPuts.resolve()
    await waitFor(() => fileRow(store, fileId)?.remoteKey !== '', 10_000)
    await waitFor(() => firstSocket?.uploadingTold().at(-1)?.length === 0, 10_000)
    expect(firstSocket?.uploadingTold()).toEqual([[fileId], []])
    expect(secondSocket?.uploadingTold()).toEqual([])
  })
})
