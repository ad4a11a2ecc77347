import { FileError, toFileError } from './errors.ts'
import { fetchWithUploadProgress } from './upload-progress-fetch.ts'
// The server's own rule: a type another device wrote may be anything, and would be refused.
import { mediaTypeOr } from '../shared/media-type.ts'
import { withFreshToken } from '../shared/token-retry.ts'
import { isContentHash } from './peer-input.ts'

/** The HTTP client of the Worker's file API: `/api/files/<storeId>/<sha256>`. */
export interface RemoteFileStorage {
  /** The object key the server stores `hash` under; what `v1.FileUploaded` records. */
  keyOf(hash: string): string
  /**
   * Sends a disk-backed Blob as it is, in one request, so the bytes do not pass through
   * JavaScript. `onProgress` hears the bytes sent so far, where the platform can tell.
   */
  upload(
    hash: string,
    body: Blob,
    mimeType: string,
    options?: { signal?: AbortSignal; onProgress?: (sentBytes: number) => void },
  ): Promise<{ created: boolean }>
  /** Starts an upload in parts; `created: false` when the server already has the content. */
  createUpload(
    hash: string,
    /** `partSize`: of every part but the last; the server then refuses any part that does not fit it. */
    options: { size: number; mimeType: string; partSize?: number; signal?: AbortSignal },
  ): Promise<{ uploadId: string } | { created: false }>
  /** Sends part `partNumber` (from 1); a 'not-found' error means the upload is gone (start anew). */
  uploadPart(
    hash: string,
    uploadId: string,
    partNumber: number,
    body: Blob,
    options?: { signal?: AbortSignal; onProgress?: (sentBytes: number) => void },
  ): Promise<{ etag: string }>
  /** Joins the parts; the server checks the whole content's SHA-256 before it keeps it. */
  completeUpload(hash: string, uploadId: string, parts: readonly UploadedPart[], options: { size: number; signal?: AbortSignal }): Promise<{ created: boolean }>
  /** Drops an upload in parts that will not be completed. */
  abortUpload(hash: string, uploadId: string, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * The content from byte `from` on (a `Range` request) when the server can, else from 0:
   * `from` in the answer says where `body` starts, and `size` is the whole content's.
   */
  download(hash: string, options?: { signal?: AbortSignal; from?: number }): Promise<{ body: ReadableStream<Uint8Array>; size: number; from: number }>
  head(hash: string, options?: { signal?: AbortSignal }): Promise<{ size: number; mimeType: string } | undefined>
  /** Asks the server to delete the bytes: it keeps them, marked, for its grace period. */
  remove(hash: string, options?: { signal?: AbortSignal }): Promise<void>
  /** Asks the server to keep the bytes (a deleted file came back): 'gone' when it has none any more. */
  keep(hash: string, options?: { signal?: AbortSignal }): Promise<'kept' | 'gone'>
  /**
   * What another thread needs to make these requests itself, so that a download's bytes go
   * from the network to the disk without crossing to the page (see `LocalFileStorage.download`).
   * Absent when this storage was given its own `fetch`, which cannot cross.
   */
  readonly endpoint?: RemoteFileEndpoint | undefined
}

export type RemoteFileEndpoint = Pick<RemoteFileStorageOptions, 'baseUrl' | 'storeId' | 'getToken' | 'timeoutMs' | 'bodyIdleTimeoutMs'>

export interface UploadedPart {
  partNumber: number
  etag: string
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

export const createRemoteFileStorage = (options: RemoteFileStorageOptions): RemoteFileStorage => {
  const {
    baseUrl,
    storeId,
    getToken,
    fetch = globalThis.fetch.bind(globalThis),
    fetchWithProgress = typeof XMLHttpRequest === 'undefined' ? undefined : fetchWithUploadProgress,
    timeoutMs = 30_000,
    minBytesPerSecond = 64 * 1024,
    bodyIdleTimeoutMs = 20_000,
  } = options

  /** `/api/files/<storeId>/<hash>`, then more segments (an upload's), each encoded on its own. */
  const urlOf = (hash: string, ...more: ReadonlyArray<string | number>) => {
    // What another device wrote never becomes a request: the plan skips such rows, and this holds anyway.
    if (!isContentHash(hash)) throw new FileError('bad-request', 'Not a SHA-256 content hash: nothing is requested for it.')
    return new URL(`/api/files/${[storeId, hash, ...more].map((segment) => encodeURIComponent(segment)).join('/')}`, baseUrl)
  }

  /**
   * One request with the token, retried once with a fresh token on 401 (it may have expired).
   * The timeout covers the wait for the answer's headers, not the streaming of its body.
   */
  const request = async (
    url: URL,
    init: RequestInit & { timeoutMs?: number; onProgress?: ((sentBytes: number) => void) | undefined },
    signal: AbortSignal | undefined,
  ): Promise<Response> => {
    const { onProgress, ...fetchInit } = init
    const send: typeof fetch = onProgress && fetchWithProgress ? (url, options = {}) => fetchWithProgress(url as URL, options, onProgress) : fetch
    const attempt = async (refresh: boolean): Promise<Response> => {
      const controller = new AbortController()
      const onAbort = () => controller.abort(signal?.reason)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (signal?.aborted) onAbort()
      const timer = setTimeout(() => controller.abort(new DOMException('The server took too long to answer.', 'TimeoutError')), init.timeoutMs ?? timeoutMs)
      try {
        // The token request is part of the wait: a cancel or a timeout ends it too.
        const token = await untilAborted(getToken({ refresh }), controller.signal)
        return await send(url, {
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
    }
    return withFreshToken(attempt, { refused: (response) => response.status === 401, discard: (response) => void response.body?.cancel() })
  }

  /** How long the server may take to answer a request that carries (or checks) `bytes`. */
  const timeFor = (bytes: number) => timeoutMs + (bytes / minBytesPerSecond) * 1000
  const jsonBody = (method: string, body: unknown): RequestInit => ({
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  })

  return {
    endpoint: options.fetch ? undefined : { baseUrl, storeId, getToken, timeoutMs, bodyIdleTimeoutMs },

    keyOf: (hash) => `${storeId}/${hash}`,

    async upload(hash, body, mimeType, { signal, onProgress } = {}) {
      const response = await request(
        urlOf(hash),
        {
          method: 'PUT',
          body,
          headers: { 'Content-Type': mediaTypeOr(mimeType) },
          timeoutMs: timeFor(body.size),
          onProgress,
        },
        signal,
      )
      if (!response.ok) throw await errorFrom(response, 'The server could not store the file')
      const result = (await response.json()) as { created?: boolean }
      return { created: result.created === true }
    },

    async createUpload(hash, { size, mimeType, partSize, signal }) {
      const body = { size, mimeType: mediaTypeOr(mimeType), ...(partSize === undefined ? {} : { partSize }) }
      const response = await request(urlOf(hash, 'uploads'), jsonBody('POST', body), signal)
      if (!response.ok) throw await errorFrom(response, 'The server could not start the upload')
      const result = (await response.json()) as { uploadId?: unknown; created?: unknown }
      if (typeof result.uploadId === 'string' && result.uploadId !== '') return { uploadId: result.uploadId }
      if (result.created === false) return { created: false }
      throw new FileError('server', 'The server started the upload without naming it.')
    },

    async uploadPart(hash, uploadId, partNumber, body, { signal, onProgress } = {}) {
      const response = await request(
        urlOf(hash, 'uploads', uploadId, 'parts', partNumber),
        { method: 'PUT', body, timeoutMs: timeFor(body.size), onProgress },
        signal,
      )
      if (!response.ok) throw await errorFrom(response, `The server could not store part ${partNumber}`)
      const result = (await response.json()) as { etag?: unknown }
      if (typeof result.etag !== 'string' || result.etag === '') throw new FileError('server', `The server stored part ${partNumber} without its etag.`)
      return { etag: result.etag }
    },

    async completeUpload(hash, uploadId, parts, { size, signal }) {
      // The server writes the joined parts once more, under their key, checked against the
      // SHA-256 (and reads them through it first beyond 4.995 GiB): give it time for that.
      const response = await request(urlOf(hash, 'uploads', uploadId), { ...jsonBody('POST', { parts }), timeoutMs: timeFor(size) }, signal)
      if (!response.ok) throw await errorFrom(response, 'The server could not join the parts')
      const result = (await response.json()) as { created?: boolean }
      return { created: result.created === true }
    },

    async abortUpload(hash, uploadId, { signal } = {}) {
      const response = await request(urlOf(hash, 'uploads', uploadId), { method: 'DELETE' }, signal)
      if (!response.ok && response.status !== 404) throw await errorFrom(response, 'The server could not drop the upload')
    },

    async download(hash, { signal, from = 0 } = {}) {
      const headers: Record<string, string> = from > 0 ? { Range: `bytes=${from}-` } : {}
      const response = await request(urlOf(hash), { method: 'GET', headers }, signal)
      if (response.status === 416 && from > 0) {
        // Nothing after `from`: the kept part is the whole content (or more, which its hash check will tell).
        await response.body?.cancel()
        return { body: new Blob([]).stream(), size: from, from }
      }
      if (!response.ok || !response.body) throw await errorFrom(response, 'The server could not send the file')
      const range = response.status === 206 ? contentRange(response.headers.get('Content-Range')) : undefined
      if (response.status === 206 && range?.start !== from) {
        await response.body.cancel()
        throw new FileError('server', 'The server sent another part of the file than the one asked for.')
      }
      return {
        body: response.body.pipeThrough(stallDetector(bodyIdleTimeoutMs)),
        size: range?.size ?? Number(response.headers.get('Content-Length') ?? -1),
        from: range ? from : 0,
      }
    },

    async head(hash, { signal } = {}) {
      const response = await request(urlOf(hash), { method: 'HEAD' }, signal)
      if (response.status === 404) return undefined
      if (!response.ok) throw await errorFrom(response, 'The server could not check the file')
      return {
        size: Number(response.headers.get('Content-Length') ?? -1),
        mimeType: response.headers.get('Content-Type') ?? 'application/octet-stream',
      }
    },

    async remove(hash, { signal } = {}) {
      const response = await request(urlOf(hash), { method: 'DELETE' }, signal)
      if (!response.ok && response.status !== 404) throw await errorFrom(response, 'The server could not delete the file')
    },

    async keep(hash, { signal } = {}) {
      const response = await request(urlOf(hash, 'restore'), { method: 'POST' }, signal)
      if (response.status === 404) return 'gone'
      if (!response.ok) throw await errorFrom(response, 'The server could not keep the file')
      return 'kept'
    },
  }
}

/** `bytes 100-199/1000` → its start and the whole size; undefined when it is not that. */
const contentRange = (header: string | null): { start: number; size: number } | undefined => {
  const match = /^bytes (\d+)-\d+\/(\d+)$/.exec(header ?? '')
  return match ? { start: Number(match[1]), size: Number(match[2]) } : undefined
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
