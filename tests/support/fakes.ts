/**
 * In-memory stand-ins for what the services are built from: the device's disk, the server's
 * file API, the network's reachability and the clock. Each behaves like the real one in what
 * the services rely on, and lets a test see and steer what the real one hides.
 */
import type { Connectivity } from '../../src/file-sync/client/connectivity.ts'
import { FileError, toFileError } from '../../src/file-sync/client/errors.ts'
import { hashingStream, sha256OfBlob } from '../../src/file-sync/client/hash.ts'
import { isContentHash } from '../../src/file-sync/client/peer-input.ts'
import type { KeptParts, LocalFileStorage } from '../../src/file-sync/client/local-file-storage.ts'
import type { RemoteFileStorage } from '../../src/file-sync/client/remote-file-storage.ts'
import type { Clock } from '../../src/file-sync/client/sync-executor.ts'

export type Bytes = Uint8Array<ArrayBuffer>

export const bytesOf = (text: string): Bytes => new TextEncoder().encode(text)

export const sha256Of = (bytes: Bytes): Promise<string> => sha256OfBlob(new Blob([bytes]))

export const readAll = async (stream: ReadableStream<Uint8Array>): Promise<Bytes> => new Uint8Array(await new Response(stream).arrayBuffer())

/** The bytes stored under `hash` as text; undefined when there are none. */
export const textOn = async (local: LocalFileStorage, hash: string): Promise<string | undefined> => {
  const file = await local.read(hash)
  return file && new TextDecoder().decode(await readAll(file.stream()))
}

const checkHash = (hash: string) => {
  if (!isContentHash(hash)) throw new FileError('bad-request', `Not a SHA-256 hash: ${hash}`)
}

// ---------------------------------------------------------------------------------------------
// Local disk
// ---------------------------------------------------------------------------------------------

export interface MemoryFileStorage extends LocalFileStorage {
  /** Calls of `put`, finished or not: "nothing was written" means this stayed 0. */
  readonly puts: number
  /** Makes the copy disappear behind the services' back, as a browser clearing storage would. */
  lose(hash: string): void
  /** The bytes kept from interrupted downloads, by hash. */
  readonly partials: Map<string, Bytes>
  /** What `keepParts` recorded, by hash. */
  readonly keptParts: Map<string, KeptParts>
}

/**
 * Content-addressed like the OPFS storage: a put becomes visible under its SHA-256 only when
 * complete, and a download that stops keeps what it received (`partials`) for the next try.
 */
export const createMemoryFileStorage = (): MemoryFileStorage => {
  const files = new Map<string, Bytes>()
  const partials = new Map<string, Bytes>()
  const keptParts = new Map<string, KeptParts>()
  let puts = 0

  /** Reads `body` to its end, or to the abort of `signal`, handing each chunk to `onChunk`. */
  const drain = async (body: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void, signal?: AbortSignal) => {
    const hashing = await hashingStream()
    const sink = new WritableStream<Uint8Array>({ write: (chunk) => onChunk(chunk) })
    await body.pipeThrough(hashing.stream).pipeTo(sink, signal ? { signal } : {})
    return hashing
  }

  return {
    partials,
    keptParts,
    async put(body, { expectedHash, signal } = {}) {
      puts += 1
      const chunks: Uint8Array[] = []
      try {
        const hashing = await drain(body instanceof Blob ? body.stream() : body, (chunk) => void chunks.push(chunk), signal)
        const hash = hashing.digest()
        if (expectedHash !== undefined && hash !== expectedHash) {
          throw new FileError('integrity', `The received bytes do not match the file (expected ${expectedHash}, got ${hash}).`)
        }
        if (!files.has(hash)) files.set(hash, new Uint8Array(Buffer.concat(chunks)))
        return { hash, size: hashing.bytes() }
      } catch (error) {
        throw toFileError(signal?.aborted ? (signal.reason ?? error) : error)
      }
    },
    async partialSize(hash) {
      checkHash(hash)
      return partials.get(hash)?.byteLength ?? 0
    },
    async receive(hash, body, { offset, signal }) {
      checkHash(hash)
      puts += 1
      const kept = partials.get(hash) ?? new Uint8Array()
      if (offset > kept.byteLength) {
        partials.delete(hash)
        throw new FileError('integrity', 'The kept part of this download is shorter than expected.')
      }
      let bytes = kept.slice(0, offset)
      partials.set(hash, bytes)
      try {
        await drain(body, (chunk) => partials.set(hash, (bytes = new Uint8Array(Buffer.concat([bytes, chunk])))), signal)
      } catch (error) {
        throw toFileError(signal?.aborted ? (signal.reason ?? error) : error)
      }
      const received = await sha256Of(bytes)
      partials.delete(hash)
      if (received !== hash) throw new FileError('integrity', `The received bytes do not match the file (expected ${hash}, got ${received}).`)
      if (!files.has(hash)) files.set(hash, bytes)
      return { hash, size: bytes.byteLength }
    },
    async read(hash) {
      checkHash(hash)
      const bytes = files.get(hash)
      return bytes ? new File([bytes], hash) : undefined
    },
    async exists(hash) {
      checkHash(hash)
      return files.has(hash)
    },
    async keepParts(hash, kept) {
      checkHash(hash)
      if (kept === null) keptParts.delete(hash)
      else keptParts.set(hash, structuredClone(kept))
    },
    async partsOf(hash) {
      checkHash(hash)
      const kept = keptParts.get(hash)
      return kept && structuredClone(kept)
    },
    async remove(hash) {
      checkHash(hash)
      files.delete(hash)
      partials.delete(hash)
      keptParts.delete(hash)
    },
    async list() {
      return [...files.keys()]
    },
    async removePartials(keepDownloads = []) {
      // A save in memory cannot outlive the process that made it; kept downloads can.
      const keep = new Set(keepDownloads)
      for (const hash of partials.keys()) if (!keep.has(hash) || files.has(hash)) partials.delete(hash)
      for (const hash of keptParts.keys()) if (!files.has(hash)) keptParts.delete(hash)
    },
    get puts() {
      return puts
    },
    lose(hash) {
      files.delete(hash)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Remote file API
// ---------------------------------------------------------------------------------------------

export type RemoteMethod = 'upload' | 'download' | 'head' | 'remove' | 'keep' | 'createUpload' | 'uploadPart' | 'completeUpload' | 'abortUpload'

export interface MemoryRemote extends RemoteFileStorage {
  /** What the server holds, by hash. Tests may put wrong bytes under a hash to fake corruption. */
  readonly objects: Map<string, { bytes: Bytes; mimeType: string }>
  /** Calls per method, including the ones that failed or were aborted. */
  readonly calls: Record<RemoteMethod, number>
  /** Calls that ended because their signal aborted. */
  readonly aborted: Record<RemoteMethod, number>
  /** Stores bytes as if some device had uploaded them; resolves to their hash. */
  seed(bytes: Bytes, mimeType?: string): Promise<string>
  /** The next `times` calls of `method` fail with `error`. */
  fail(method: RemoteMethod, error: FileError, times?: number): void
  /** Uploads in parts begun and not completed nor aborted, by uploadId. */
  readonly uploads: Map<string, { hash: string; size: number; mimeType: string; parts: Map<number, { etag: string; bytes: Bytes }> }>
  /** The `Range` starts downloads asked for, in order (0 for a whole download). */
  readonly downloadsFrom: number[]
  /** The next download's body breaks off after `bytes` bytes, as a dropped connection does. */
  breakNextDownloadAfter(bytes: number): void
  /** Calls of `method` wait until the returned function is called (or their signal aborts). */
  hold(method: RemoteMethod): () => void
  /** Hashes whose deletion is pending, as the Worker marks them (the bytes stay until `sweep`). */
  readonly pendingDeletion: Set<string>
  /** The Worker's scheduled sweep once the grace period is over: the pending bytes go. */
  sweep(): void
}

const methods = (): Record<RemoteMethod, number> => ({
  upload: 0,
  download: 0,
  head: 0,
  remove: 0,
  keep: 0,
  createUpload: 0,
  uploadPart: 0,
  completeUpload: 0,
  abortUpload: 0,
})

export const createMemoryRemote = ({ storeId = 'store' }: { storeId?: string } = {}): MemoryRemote => {
  const objects = new Map<string, { bytes: Bytes; mimeType: string }>()
  const pendingDeletion = new Set<string>()
  const calls = methods()
  const aborted = methods()
  const failures = Object.fromEntries(Object.keys(methods()).map((method) => [method, []])) as unknown as Record<RemoteMethod, FileError[]>
  const uploads: MemoryRemote['uploads'] = new Map()
  const downloadsFrom: number[] = []
  let breakAfter: number | undefined
  const holds: Partial<Record<RemoteMethod, Promise<void>>> = {}

  /** What every call goes through first: counting, holding, abort and injected failures. */
  const begin = async (method: RemoteMethod, hash: string, signal: AbortSignal | undefined) => {
    calls[method] += 1
    checkHash(hash)
    const abortedError = () => {
      aborted[method] += 1
      return toFileError(signal?.reason)
    }
    if (signal?.aborted) throw abortedError()
    const held = holds[method]
    if (held) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(abortedError())
        signal?.addEventListener('abort', onAbort, { once: true })
        held.then(() => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        })
      })
    }
    const failure = failures[method].shift()
    if (failure) throw failure
  }

  return {
    objects,
    calls,
    aborted,
    keyOf: (hash) => `${storeId}/${hash}`,

    async upload(hash, body, mimeType, { signal } = {}) {
      await begin('upload', hash, signal)
      const bytes = new Uint8Array(await body.arrayBuffer())
      // The real server checks the hash too, and answers 400 when it does not match.
      if ((await sha256Of(bytes)) !== hash) throw new FileError('bad-request', 'The bytes do not match their hash.', { status: 400 })
      const created = !objects.has(hash)
      objects.set(hash, { bytes, mimeType })
      // Another file refers to the content now, as the Worker decides on any upload of it.
      pendingDeletion.delete(hash)
      return { created }
    },
    async createUpload(hash, { size, mimeType, signal }) {
      await begin('createUpload', hash, signal)
      if (objects.has(hash)) {
        pendingDeletion.delete(hash)
        return { created: false as const }
      }
      const uploadId = `upload-${calls.createUpload}`
      uploads.set(uploadId, { hash, size, mimeType, parts: new Map() })
      return { uploadId }
    },
    async uploadPart(hash, uploadId, partNumber, body, { signal, onProgress } = {}) {
      await begin('uploadPart', hash, signal)
      const upload = uploads.get(uploadId)
      if (!upload || upload.hash !== hash) throw new FileError('not-found', 'No such upload.', { status: 404 })
      const bytes = new Uint8Array(await body.arrayBuffer())
      onProgress?.(bytes.byteLength)
      const etag = `etag-${partNumber}-${bytes.byteLength}`
      upload.parts.set(partNumber, { etag, bytes })
      return { etag }
    },
    async completeUpload(hash, uploadId, parts, { signal }) {
      await begin('completeUpload', hash, signal)
      const upload = uploads.get(uploadId)
      if (!upload || upload.hash !== hash) throw new FileError('not-found', 'No such upload.', { status: 404 })
      const chunks = parts.map((part) => {
        const stored = upload.parts.get(part.partNumber)
        if (stored?.etag !== part.etag) throw new FileError('bad-request', `Part ${part.partNumber} is not the one stored.`, { status: 400 })
        return stored.bytes
      })
      uploads.delete(uploadId)
      const bytes = new Uint8Array(Buffer.concat(chunks))
      if ((await sha256Of(bytes)) !== hash) throw new FileError('bad-request', 'The bytes do not match their hash.', { status: 400 })
      const created = !objects.has(hash)
      objects.set(hash, { bytes, mimeType: upload.mimeType })
      return { created }
    },
    async abortUpload(hash, uploadId, { signal } = {}) {
      await begin('abortUpload', hash, signal)
      uploads.delete(uploadId)
    },
    async download(hash, { signal, from = 0 } = {}) {
      await begin('download', hash, signal)
      downloadsFrom.push(from)
      const object = objects.get(hash)
      if (!object) throw new FileError('not-found', 'The server has no such file.', { status: 404 })
      let rest = object.bytes.slice(Math.min(from, object.bytes.byteLength))
      const breaking = breakAfter
      breakAfter = undefined
      if (breaking === undefined) return { body: new Blob([rest]).stream(), size: object.bytes.byteLength, from }
      rest = rest.slice(0, breaking)
      let sent = false
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          // Erroring in the same call would drop the queued chunk unread.
          if (sent) controller.error(new TypeError('The connection was reset.'))
          else controller.enqueue(rest)
          sent = true
        },
      })
      return { body, size: object.bytes.byteLength, from }
    },
    async head(hash, { signal } = {}) {
      await begin('head', hash, signal)
      const object = objects.get(hash)
      return object && { size: object.bytes.byteLength, mimeType: object.mimeType }
    },
    async remove(hash, { signal } = {}) {
      await begin('remove', hash, signal)
      if (objects.has(hash)) pendingDeletion.add(hash)
    },
    async keep(hash, { signal } = {}) {
      await begin('keep', hash, signal)
      pendingDeletion.delete(hash)
      return objects.has(hash) ? 'kept' : 'gone'
    },
    pendingDeletion,
    sweep() {
      for (const hash of pendingDeletion) objects.delete(hash)
      pendingDeletion.clear()
    },

    async seed(bytes, mimeType = 'application/octet-stream') {
      const hash = await sha256Of(bytes)
      objects.set(hash, { bytes, mimeType })
      return hash
    },
    uploads,
    downloadsFrom,
    breakNextDownloadAfter(bytes) {
      breakAfter = bytes
    },
    fail(method, error, times = 1) {
      for (let time = 0; time < times; time += 1) failures[method].push(error)
    },
    hold(method) {
      let release!: () => void
      holds[method] = new Promise<void>((resolve) => {
        release = resolve
      })
      return () => {
        delete holds[method]
        release()
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Connectivity and time
// ---------------------------------------------------------------------------------------------

export interface FakeConnectivity extends Connectivity {
  setOnline(online: boolean): void
  /** How often a service asked for a probe. */
  readonly checks: number
}

export const createFakeConnectivity = (initiallyOnline = true): FakeConnectivity => {
  let online = initiallyOnline
  let checks = 0
  const listeners = new Set<(online: boolean) => void>()
  return {
    get online() {
      return online
    },
    get checks() {
      return checks
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    check() {
      checks += 1
    },
    stop() {
      listeners.clear()
    },
    setOnline(next) {
      if (next === online) return
      online = next
      for (const listener of listeners) listener(online)
    },
  }
}

export interface ManualClock extends Clock {
  /** Every delay asked of `setTimeout` or `setTimer`, in order, fired or not. */
  readonly delays: number[]
  /** Timers neither fired nor cleared. */
  readonly pending: number
  /** The time this clock says it is: 0 at the start, moved on by `advance` only. */
  now(): number
  /** Moves time on, firing the timers due by then in order of their due time. */
  advance(ms: number): void
  /** The `setTimer` form that connectivity takes: returns the cancel function. */
  setTimer(callback: () => void, ms: number): () => void
}

/** Time that moves only when the test says so. */
export const createManualClock = (): ManualClock => {
  let now = 0
  let nextId = 0
  const timers = new Map<number, { at: number; callback: () => void }>()
  const delays: number[] = []

  const setTimeout = (callback: () => void, ms: number) => {
    delays.push(ms)
    const id = nextId++
    timers.set(id, { at: now + ms, callback })
    return id
  }
  const clearTimeout = (handle: unknown) => void timers.delete(handle as number)

  return {
    delays,
    get pending() {
      return timers.size
    },
    setTimeout,
    clearTimeout,
    now: () => now,
    setTimer(callback, ms) {
      const id = setTimeout(callback, ms)
      return () => clearTimeout(id)
    },
    advance(ms) {
      const until = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= until).sort(([, a], [, b]) => a.at - b.at)[0]
        if (!due) break
        const [id, timer] = due
        timers.delete(id)
        now = timer.at
        timer.callback()
      }
      now = until
    },
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface FakeFetch {
  fetch: typeof globalThis.fetch
  /** Every request, in order, with its URL as a string. */
  requests: Array<{ url: string; init: RequestInit }>
}

/** A `fetch` answered by `answer`, which sees each request as the service made it. */
export const createFakeFetch = (answer: (url: string, init: RequestInit) => Response | Promise<Response>): FakeFetch => {
  const requests: FakeFetch['requests'] = []
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : input.toString()
    requests.push({ url, init })
    // Like the real fetch: an aborted signal rejects with its reason, before or during the request.
    const signal = init.signal
    if (signal?.aborted) throw signal.reason
    if (!signal) return answer(url, init)
    return new Promise<Response>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      Promise.resolve()
        .then(() => answer(url, init))
        .then((response) => resolve(tieBodyToSignal(response, signal)), reject)
    })
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}

/** Like the real fetch, an abort after the answer has come breaks the reading of its body. */
const tieBodyToSignal = (response: Response, signal: AbortSignal): Response => {
  if (!response.body) return response
  const reader = response.body.getReader()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      signal.addEventListener('abort', () => controller.error(signal.reason), { once: true })
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}

export const jsonResponse = (body: unknown, init: ResponseInit = {}): Response =>
  new Response(JSON.stringify(body), { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } })

/** `localStorage` or `sessionStorage` as a page has them, in memory. */
export const createMemoryStorage = (): Storage => {
  const items = new Map<string, string>()
  return {
    get length() {
      return items.size
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
  }
}
