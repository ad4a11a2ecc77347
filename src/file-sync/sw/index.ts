/// <reference lib="webworker" />
/**
 * The service worker's part of file sync: it answers `GET /files/<storeId>/<sha256>?type=<mime>`
 * so a page renders plain `<img src="/files/...">` and `<video src="/files/...">`: from this
 * device's OPFS when the bytes are here, else from the Worker's file API (with the token a page
 * hands over by message, never in a URL), else a JSON error. It touches no other request.
 *
 * Range, If-None-Match and If-Modified-Since are answered too (206, 304, 416), by the same rules
 * and headers as the Worker's (../shared/http-range, ../shared/file-headers): from OPFS by slicing
 * the file on disk, from the Worker by passing them on.
 *
 * An app's service worker entry calls `serveFiles(self)`; the build bundles it into `/sw.js`
 * (../vite.ts), which the page registers (../client/file-service-worker.ts).
 */
import { answerRead } from '../shared/http-range.ts'
import { FILE_READ_STATUSES, FILE_SECURITY_HEADERS, forwardedReadHeaders, readAnswerHeaders, type ServedFile, servedAs } from '../shared/file-headers.ts'
import { opfsFolderOf } from '../shared/opfs.ts'
import { isValidStoreId } from '../shared/store-id.ts'
import { withFreshToken } from '../shared/token-retry.ts'
import type { ServiceWorkerMessage } from '../client/file-service-worker.ts'

export interface ServeFilesOptions {
  /** Where the Worker's file API is mounted on this origin. */
  apiBasePath?: string
  /** How long to wait for an open page to hand over a token. */
  tokenRequestTimeoutMs?: number
}

const filePath = /^\/files\/([^/]+)\/([0-9a-f]{64})$/

/** Installs the service worker's listeners: lifecycle, the pages' messages, and `/files/*`. */
export const serveFiles = (sw: ServiceWorkerGlobalScope, { apiBasePath = '/api/files', tokenRequestTimeoutMs = 3000 }: ServeFilesOptions = {}): void => {
  /** storeId → token, as handed over by the pages. Lost when the browser stops this worker. */
  const tokens = new Map<string, string>()

  sw.addEventListener('install', () => {
    void sw.skipWaiting()
  })

  sw.addEventListener('activate', (event) => {
    event.waitUntil(sw.clients.claim())
  })

  sw.addEventListener('message', (event) => {
    const message = event.data as ServiceWorkerMessage | undefined
    if (message?.type === 'file-sync/token' && typeof message.storeId === 'string') {
      if (message.token) tokens.set(message.storeId, message.token)
    } else if (message?.type === 'file-sync/claim') {
      event.waitUntil(sw.clients.claim())
    }
  })

  sw.addEventListener('fetch', (event) => {
    const { request } = event
    const url = new URL(request.url)
    if (url.origin !== sw.location.origin || !url.pathname.startsWith('/files/')) return
    if (request.method !== 'GET' && request.method !== 'HEAD') return
    const [, storeId = '', hash = ''] = filePath.exec(url.pathname) ?? []
    if (!isValidStoreId(storeId) || hash === '') {
      event.respondWith(jsonError(404, 'There is no such file.'))
      return
    }
    event.respondWith(serveFile(request, storeId, hash, servedAs(url.searchParams.get('type') ?? '')))
  })

  const serveFile = async (request: Request, storeId: string, hash: string, served: Pick<ServedFile, 'type' | 'disposition'>) => {
    const local = await readLocal(storeId, hash)
    if (local) return localResponse(request, local, { etag: hash, size: local.size, lastModified: new Date(local.lastModified), ...served })
    return remoteResponse(request, storeId, hash)
  }

  const remoteResponse = async (request: Request, storeId: string, hash: string): Promise<Response> => {
    // undefined: no token to ask with (no open page gave one).
    const ask = async (refresh: boolean): Promise<Response | undefined> => {
      const token = await tokenFor(storeId, refresh)
      if (!token) return undefined
      return fetch(`${apiBasePath}/${storeId}/${hash}`, {
        method: request.method,
        // The server answers Range and the conditions itself, with the same 206/304/416.
        headers: [['Authorization', `Bearer ${token}`], ...forwardedReadHeaders(request.headers)],
        signal: request.signal,
        // A response cut short would otherwise be cached for good under an immutable URL.
        cache: 'no-store',
      }).catch(() => jsonError(503, 'This file is not on this device yet, and the server cannot be reached.'))
    }
    const response = await withFreshToken(ask, { refused: (response) => response?.status === 401, discard: (response) => void response?.body?.cancel() })
    if (response === undefined) return jsonError(404, 'This file is not on this device, and the server cannot be asked without a token.')
    if (response.status === 401) return jsonError(401, 'The server refused the token for this store.')
    if (!FILE_READ_STATUSES.includes(response.status)) return response
    const headers = new Headers(response.headers)
    addFileHeaders(headers, 'remote')
    // Streamed on as it arrives. Chromium gives a 304 an empty body stream, which a new 304
    // Response refuses (the page would see a network error): a 304 has no body at all.
    return new Response(response.status === 304 ? null : response.body, { status: response.status, headers })
  }

  /** The token for a store: from memory, or asked of an open page of this origin. */
  const tokenFor = async (storeId: string, refresh: boolean): Promise<string> => {
    const known = tokens.get(storeId)
    if (!refresh && known) return known
    const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })
    const answers = windows.map(
      (client) =>
        new Promise<string>((resolve) => {
          const channel = new MessageChannel()
          channel.port1.onmessage = (event: MessageEvent<ServiceWorkerMessage>) => {
            if (event.data?.type === 'file-sync/token' && event.data.token) resolve(event.data.token)
          }
          client.postMessage({ type: 'file-sync/token-request', storeId, refresh } satisfies ServiceWorkerMessage, [channel.port2])
        }),
    )
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(''), tokenRequestTimeoutMs))
    const token = await Promise.race([...answers, timeout])
    if (token) tokens.set(storeId, token)
    return token
  }
}

const readLocal = async (storeId: string, hash: string): Promise<File | undefined> => {
  try {
    let folder = await navigator.storage.getDirectory()
    for (const name of opfsFolderOf(storeId)) folder = await folder.getDirectoryHandle(name)
    return await (await folder.getFileHandle(hash)).getFile()
  } catch {
    return undefined // not on this device (NotFoundError), or OPFS unavailable
  }
}

/**
 * From this device's disk: the whole file, one slice of it, or nothing (304, 416). A File from
 * OPFS is disk-backed and so is its slice: the browser streams the bytes from disk, none are read
 * into memory here, which is what lets a <video> seek at once in a file of gigabytes.
 */
const localResponse = (request: Request, file: File, served: ServedFile): Response => {
  const answer = answerRead(request.headers, served)
  const headers = readAnswerHeaders(answer, served)
  addFileHeaders(headers, 'local')
  const body = answer.status === 200 ? file : answer.status === 206 ? file.slice(answer.offset, answer.offset + answer.length) : null
  return new Response(request.method === 'HEAD' ? null : body, { status: answer.status, headers })
}

/** What every answer about a file carries, wherever its bytes came from. */
const addFileHeaders = (headers: Headers, source: 'local' | 'remote') => {
  for (const [name, value] of FILE_SECURITY_HEADERS) headers.set(name, value)
  headers.set('X-File-Source', source)
}

const jsonError = (status: number, message: string) =>
  new Response(JSON.stringify({ error: message }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' },
  })
