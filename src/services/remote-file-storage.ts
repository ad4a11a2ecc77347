import { FileError, toFileError } from './errors.ts'
import { fetchWithUploadProgress } from './upload-progress-fetch.ts'

/** The HTTP client of the Worker's file API: `/api/files/<storeId>/<sha256>`. */
export interface RemoteFileStorage {
  /** The object key the server stores `hash` under; what `v1.FileUploaded` records. */
  keyOf(hash: string): string
  /** Sends a disk-backed Blob as it is, so the bytes do not pass through JavaScript. */
  /** `onProgress` hears the bytes sent so far, where the platform can tell (XMLHttpRequest). */
  upload(
    hash: string,
    body: Blob,
    mimeType: string,
    options?: { signal?: AbortSignal; onProgress?: (sentBytes: number) => void },
  ): Promise<{ created: boolean }>
  download(hash: string, options?: { signal?: AbortSignal }): Promise<{ body: ReadableStream<Uint8Array>; size: number }>
  head(hash: string, options?: { signal?: AbortSignal }): Promise<{ size: number; mimeType: string } | undefined>
  remove(hash: string, options?: { signal?: AbortSignal }): Promise<void>
}

export type GetToken = (options?: { refresh?: boolean }) => Promise<string>

export interface RemoteFileStorageOptions {
  /** Origin of the Worker, e.g. `location.origin` when the page and the API share it. */
  baseUrl: string
  storeId: string
  getToken: GetToken
  fetch?: typeof globalThis.fetch
  /** The `fetch` for uploads whose progress is wanted; XMLHttpRequest's where there is one. */
  fetchWithProgress?: typeof fetchWithUploadProgress | undefined
  /** How long to wait for the server's answer to begin. */
  timeoutMs?: number
  /** Uploads get extra time for their bytes, assuming at least this speed. */
  minBytesPerSecond?: number
  /** A download whose bytes stop coming for this long has stalled: it fails, to be retried. */
  bodyIdleTimeoutMs?: number
}

export const createRemoteFileStorage = ({
  baseUrl,
  storeId,
  getToken,
  fetch = globalThis.fetch.bind(globalThis),
  fetchWithProgress = typeof XMLHttpRequest === 'undefined' ? undefined : fetchWithUploadProgress,
  timeoutMs = 30_000,
  minBytesPerSecond = 64 * 1024,
  bodyIdleTimeoutMs = 20_000,
}: RemoteFileStorageOptions): RemoteFileStorage => {
  const urlOf = (hash: string) => new URL(`/api/files/${encodeURIComponent(storeId)}/${encodeURIComponent(hash)}`, baseUrl)

  /**
   * One request with the token, retried once with a fresh token on 401 (it may have expired).
   * The timeout covers the wait for the answer's headers, not the streaming of its body.
   */
  const request = async (
    hash: string,
    init: RequestInit & { timeoutMs?: number; onProgress?: ((sentBytes: number) => void) | undefined },
    signal: AbortSignal | undefined,
  ): Promise<Response> => {
    const { onProgress, ...fetchInit } = init
    const send: typeof fetch =
      onProgress && fetchWithProgress ? (url, options = {}) => fetchWithProgress(url as URL, options, onProgress) : fetch
    for (const refresh of [false, true]) {
      const controller = new AbortController()
      const onAbort = () => controller.abort(signal?.reason)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (signal?.aborted) onAbort()
      const timer = setTimeout(
        () => controller.abort(new DOMException('The server took too long to answer.', 'TimeoutError')),
        init.timeoutMs ?? timeoutMs,
      )
      let response: Response
      try {
        // The token request is part of the wait: a cancel or a timeout ends it too.
        const token = await untilAborted(getToken({ refresh }), controller.signal)
        response = await send(urlOf(hash), {
          ...fetchInit,
          headers: { ...init.headers, Authorization: `Bearer ${token}` },
          signal: controller.signal,
          // Never the browser's HTTP cache: the bytes are verified and kept in OPFS, and a cut
          // response cached under an immutable URL would come back on every retry.
          cache: 'no-store',
        })
      } catch (error) {
        if (controller.signal.aborted) throw toFileError(controller.signal.reason)
        // Not cancelled by us: the browser dropped the request (a navigation, a network change).
        if (error instanceof DOMException && error.name === 'AbortError') {
          throw new FileError('network', 'The connection was interrupted.', { cause: error })
        }
        throw toFileError(error)
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      if (response.status === 401 && !refresh) {
        await response.body?.cancel()
        continue
      }
      return response
    }
    throw new FileError('unauthorized', 'The server refused our credentials.')
  }

  return {
    keyOf: (hash) => `${storeId}/${hash}`,

    async upload(hash, body, mimeType, { signal, onProgress } = {}) {
      const response = await request(
        hash,
        {
          method: 'PUT',
          body,
          headers: { 'Content-Type': mimeType || 'application/octet-stream' },
          timeoutMs: timeoutMs + (body.size / minBytesPerSecond) * 1000,
          onProgress,
        },
        signal,
      )
      if (!response.ok) throw await errorFrom(response, 'The server could not store the file')
      const result = (await response.json()) as { created?: boolean }
      return { created: result.created === true }
    },

    async download(hash, { signal } = {}) {
      const response = await request(hash, { method: 'GET' }, signal)
      if (!response.ok || !response.body) throw await errorFrom(response, 'The server could not send the file')
      return {
        body: response.body.pipeThrough(stallDetector(bodyIdleTimeoutMs)),
        size: Number(response.headers.get('Content-Length') ?? -1),
      }
    },

    async head(hash, { signal } = {}) {
      const response = await request(hash, { method: 'HEAD' }, signal)
      if (response.status === 404) return undefined
      if (!response.ok) throw await errorFrom(response, 'The server could not check the file')
      return {
        size: Number(response.headers.get('Content-Length') ?? -1),
        mimeType: response.headers.get('Content-Type') ?? 'application/octet-stream',
      }
    },

    async remove(hash, { signal } = {}) {
      const response = await request(hash, { method: 'DELETE' }, signal)
      if (!response.ok && response.status !== 404) throw await errorFrom(response, 'The server could not delete the file')
    },
  }
}

/**
 * Passes bytes through, and errors the stream when none came for `idleMs`: a connection that
 * died without closing (a proxy, a mobile network) must not hold a download forever.
 */
const stallDetector = (idleMs: number): TransformStream<Uint8Array, Uint8Array> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (controller: TransformStreamDefaultController<Uint8Array>) => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      try {
        controller.error(new DOMException('The download stalled: no bytes came for a while.', 'TimeoutError'))
      } catch {
        // Already closed or cancelled.
      }
    }, idleMs)
  }
  return new TransformStream({
    start: arm,
    transform(chunk, controller) {
      arm(controller)
      controller.enqueue(chunk)
    },
    flush: () => clearTimeout(timer),
  })
}

const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    promise.then(resolve, reject)
  })

/** Maps an error response to a FileError carrying the server's own message. */
export const errorFrom = async (response: Response, failure: string): Promise<FileError> => {
  let message = `${failure} (HTTP ${response.status}).`
  try {
    const body = (await response.json()) as { error?: unknown }
    if (typeof body.error === 'string' && body.error) message = body.error
  } catch {
    // Not JSON (a proxy's error page, or no body for HEAD): keep the generic message.
  }
  const status = response.status
  const retryAfter = Number(response.headers.get('Retry-After'))
  const options = { status, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}) }
  if (status === 401 || status === 403) return new FileError('unauthorized', message, options)
  if (status === 404) return new FileError('not-found', message, options)
  if (status === 413) return new FileError('too-large', message, options)
  if (status === 408) return new FileError('timeout', message, options)
  if (status === 429 || status >= 500) return new FileError('server', message, options)
  return new FileError('bad-request', message, options)
}
