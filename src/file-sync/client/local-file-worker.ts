import { downloadInto } from './download.ts'
import { FileError, type FileErrorKind, toFileError } from './errors.ts'
import type { KeptParts, LocalFileStorage, StoredFile } from './local-file-storage.ts'
import { createRemoteFileStorage, type RemoteFileEndpoint } from './remote-file-storage.ts'
import { withFreshToken } from '../shared/token-retry.ts'

/**
 * A LocalFileStorage that lives in a dedicated worker, and its stand-in in the page. OPFS's
 * fast, resumable writes (synchronous access handles) exist in dedicated workers only, and the
 * hashing of every byte belongs off the page's thread anyway. Bodies cross as transferred
 * streams or as disk-backed Blobs, so no file is ever copied whole into a message; a cancel
 * crosses as a message of its own. Downloads are fetched by the worker itself, with a token the
 * page sends along, so their bytes do not cross at all; their progress comes back as messages.
 */

/** The few members of a Worker, a DedicatedWorkerGlobalScope or a MessagePort used here. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  /** A worker that fails to load or throws: every call waiting on it fails. */
  addEventListener(type: 'error', listener: (event: Event) => void): void
}

type Method = keyof LocalFileStorage
type Call = { id: number; method: Method; args: unknown[]; folder: readonly string[] } | { id: number; cancel: true }
type Reply = { id: number; value?: unknown; error?: { kind: FileErrorKind; message: string; status?: number } } | { id: number; progress: number }

/** The endpoint as it crosses to the worker: the token itself instead of the function that gets it. */
type EndpointWithToken = Omit<RemoteFileEndpoint, 'getToken'> & { token: string }

/** How often a download in the worker tells the page how far it got. */
const progressEveryMs = 250

/** In the worker: answers the page's calls with the storage of the folder each call names. */
export const serveLocalFileStorage = (endpoint: MessageEndpoint, storageFor: (folder: readonly string[]) => LocalFileStorage) => {
  const storages = new Map<string, LocalFileStorage>()
  const running = new Map<number, AbortController>()
  endpoint.addEventListener('message', (event: MessageEvent<Call>) => {
    const call = event.data
    if ('cancel' in call) {
      running.get(call.id)?.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      return
    }
    const key = call.folder.join('/')
    let storage = storages.get(key)
    if (!storage) storages.set(key, (storage = storageFor(call.folder)))
    const controller = new AbortController()
    running.set(call.id, controller)
    let reportedAt = 0
    const onProgress = (bytes: number) => {
      const now = Date.now()
      if (now - reportedAt < progressEveryMs) return
      reportedAt = now
      endpoint.postMessage({ id: call.id, progress: bytes } satisfies Reply)
    }
    void run(storage, call.method, call.args, controller.signal, onProgress)
      .then(
        (value): Reply => ({ id: call.id, value }),
        (error: unknown): Reply => {
          const { kind, message, status } = toFileError(error)
          return { id: call.id, error: { kind, message, ...(status === undefined ? {} : { status }) } }
        },
      )
      .then((reply) => {
        running.delete(call.id)
        endpoint.postMessage(reply)
      })
  })
}

const run = (storage: LocalFileStorage, method: Method, args: unknown[], signal: AbortSignal, onProgress: (bytes: number) => void): Promise<unknown> => {
  switch (method) {
    case 'download': {
      const { token, ...endpoint } = args[1] as EndpointWithToken
      // The page's token, once: a 401 comes back to the page as 'unauthorized', and the page
      // asks again with a fresh one.
      const getToken = ({ refresh = false } = {}) =>
        refresh ? Promise.reject(new FileError('unauthorized', 'The server refused our credentials.')) : Promise.resolve(token)
      return downloadInto(storage, createRemoteFileStorage({ ...endpoint, getToken }), args[0] as string, { signal, onProgress })
    }
    case 'put':
      return storage.put(args[0] as ReadableStream<Uint8Array> | Blob, { ...(args[1] as { expectedHash?: string }), signal })
    case 'receive':
      return storage.receive(args[0] as string, args[1] as ReadableStream<Uint8Array>, { ...(args[2] as { offset: number }), signal })
    case 'removePartials':
      return storage.removePartials(args[0] as string[])
    case 'keepParts':
      return storage.keepParts(args[0] as string, args[1] as KeptParts | null)
    default:
      return (storage[method] as (hash: string) => Promise<unknown>)(args[0] as string)
  }
}

/** In the page: the storage of `folder`, run by `worker` (which calls serveLocalFileStorage). */
export const connectLocalFileStorage = ({ worker, folder }: { worker: MessageEndpoint; folder: readonly string[] }): LocalFileStorage => {
  let nextId = 0
  type Pending = { resolve: (value: unknown) => void; reject: (error: FileError) => void; onProgress?: ((bytes: number) => void) | undefined }
  const pending = new Map<number, Pending>()
  worker.addEventListener('message', (event: MessageEvent<Reply>) => {
    const reply = event.data
    const call = pending.get(reply.id)
    if (!call) return
    if ('progress' in reply) return call.onProgress?.(reply.progress)
    pending.delete(reply.id)
    if (reply.error) {
      const { kind, message, status } = reply.error
      call.reject(new FileError(kind, message, status === undefined ? {} : { status }))
    } else {
      call.resolve(reply.value)
    }
  })
  worker.addEventListener('error', (event) => {
    event.preventDefault()
    const error = new FileError('bad-request', 'The files on this device cannot be reached: their worker stopped.')
    for (const call of pending.values()) call.reject(error)
    pending.clear()
  })

  const call = <T>(
    method: Method,
    args: unknown[],
    {
      signal,
      transfer = [],
      onProgress,
    }: { signal?: AbortSignal | undefined; transfer?: Transferable[]; onProgress?: ((bytes: number) => void) | undefined } = {},
  ) =>
    new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(toFileError(signal.reason))
      const id = (nextId += 1)
      const onAbort = () => worker.postMessage({ id, cancel: true } satisfies Call)
      signal?.addEventListener('abort', onAbort, { once: true })
      // The worker answers a cancelled call too, once it has let go of the file: wait for that,
      // so that a retry never finds the file still open.
      const settle = () => signal?.removeEventListener('abort', onAbort)
      pending.set(id, {
        onProgress,
        resolve: (value) => {
          settle()
          resolve(value as T)
        },
        reject: (error) => {
          settle()
          reject(signal?.aborted ? toFileError(signal.reason) : error)
        },
      })
      worker.postMessage({ id, method, args, folder } satisfies Call, transfer)
    })

  /** A stream crosses to the worker by transfer; a Blob is cloned as a reference to its bytes. */
  const bodyOf = (body: ReadableStream<Uint8Array> | Blob) => (body instanceof Blob ? [] : [body as unknown as Transferable])

  return {
    put: (body, { expectedHash, signal } = {}) => call('put', [body, expectedHash === undefined ? {} : { expectedHash }], { signal, transfer: bodyOf(body) }),
    partialSize: (hash) => call('partialSize', [hash]),
    receive: (hash, body, { offset, signal }) => call('receive', [hash, body, { offset }], { signal, transfer: bodyOf(body) }),
    read: (hash) => call('read', [hash]),
    exists: (hash) => call('exists', [hash]),
    remove: (hash) => call('remove', [hash]),
    keepParts: (hash, kept) => call('keepParts', [hash, kept]),
    partsOf: (hash) => call('partsOf', [hash]),
    list: () => call('list', []),
    removePartials: (keepDownloads = []) => call('removePartials', [[...keepDownloads]]),
    async download(hash, { getToken, ...endpoint }, { signal, onProgress }) {
      // The token may have expired: once more with a fresh one.
      const outcome = await withFreshToken(
        async (refresh) => {
          const token = await getToken({ refresh })
          return call<StoredFile>('download', [hash, { ...endpoint, token } satisfies EndpointWithToken], { signal, onProgress }).then(
            (stored) => ({ stored }),
            (error: unknown) => {
              if (error instanceof FileError && error.kind === 'unauthorized') return { refusal: error }
              throw error
            },
          )
        },
        { refused: (outcome) => 'refusal' in outcome },
      )
      if ('refusal' in outcome) throw outcome.refusal
      return outcome.stored
    },
  }
}
