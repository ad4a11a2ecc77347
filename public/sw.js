// @ts-check
/// <reference lib="webworker" />

/**
 * Answers `GET /files/<storeId>/<sha256>?type=<mime>` so the page can render plain
 * `<img src="/files/...">`: from this device's OPFS when the bytes are here, else from the
 * Worker's file API (with the token the page handed over by message), else 404.
 * It touches no other request.
 *
 * OPFS layout, shared with src/services/local-file-storage.ts: `files/<storeId>/<sha256>`.
 */

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self))

const filePath = /^\/files\/([A-Za-z0-9_-]{1,64})\/([0-9a-f]{64})$/
const mimeType = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(;.*)?$/i
const tokenRequestTimeoutMs = 3000

/** storeId → token, as handed over by the pages. Lost when the browser stops this worker. */
const tokens = new Map()

sw.addEventListener('install', () => {
  void sw.skipWaiting()
})

sw.addEventListener('activate', (event) => {
  event.waitUntil(sw.clients.claim())
})

sw.addEventListener('message', (event) => {
  const message = event.data
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
  const match = filePath.exec(url.pathname)
  if (!match) {
    event.respondWith(jsonError(404, 'There is no such file.'))
    return
  }
  const [, storeId, hash] = /** @type {[string, string, string]} */ (/** @type {unknown} */ (match))
  const type = url.searchParams.get('type') ?? ''
  event.respondWith(serveFile(request, storeId, hash, mimeType.test(type) ? type : 'application/octet-stream'))
})

/**
 * @param {Request} request
 * @param {string} storeId
 * @param {string} hash
 * @param {string} type
 */
async function serveFile(request, storeId, hash, type) {
  const local = await readLocal(storeId, hash)
  if (local) return localResponse(request, local, hash, type)
  return remoteResponse(request, storeId, hash)
}

/**
 * @param {string} storeId
 * @param {string} hash
 * @returns {Promise<File | undefined>}
 */
async function readLocal(storeId, hash) {
  try {
    const root = await navigator.storage.getDirectory()
    const folder = await (await root.getDirectoryHandle('files')).getDirectoryHandle(storeId)
    return await (await folder.getFileHandle(hash)).getFile()
  } catch {
    return undefined // not on this device (NotFoundError), or OPFS unavailable
  }
}

/**
 * A disk-backed File as the body: the browser streams it from disk.
 * @param {Request} request
 * @param {File} file
 * @param {string} hash
 * @param {string} type
 */
function localResponse(request, file, hash, type) {
  const headers = fileHeaders(hash, type)
  headers.set('Content-Length', String(file.size))
  headers.set('X-File-Source', 'local')
  return new Response(request.method === 'HEAD' ? null : file, { status: 200, headers })
}

/**
 * @param {Request} request
 * @param {string} storeId
 * @param {string} hash
 */
async function remoteResponse(request, storeId, hash) {
  for (const refresh of [false, true]) {
    const token = await tokenFor(storeId, refresh)
    if (!token) return jsonError(404, 'This file is not on this device, and the server cannot be asked without a token.')
    let response
    try {
      response = await fetch(`/api/files/${storeId}/${hash}`, {
        method: request.method,
        headers: { Authorization: `Bearer ${token}` },
        signal: request.signal,
        // A response cut short would otherwise be cached for good under an immutable URL.
        cache: 'no-store',
      })
    } catch {
      return jsonError(503, 'This file is not on this device yet, and the server cannot be reached.')
    }
    if (response.status === 401 && !refresh) continue
    if (!response.ok) return response
    const headers = new Headers(response.headers)
    for (const [name, value] of securityHeaders) headers.set(name, value)
    headers.set('X-File-Source', 'remote')
    return new Response(response.body, { status: response.status, headers })
  }
  return jsonError(401, 'The server refused the token for this store.')
}

/**
 * The token for a store: from memory, or asked of an open page of this origin.
 * @param {string} storeId
 * @param {boolean} refresh
 * @returns {Promise<string>}
 */
async function tokenFor(storeId, refresh) {
  if (!refresh && tokens.has(storeId)) return tokens.get(storeId)
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const answers = windows.map(
    (client) =>
      new Promise((resolve) => {
        const channel = new MessageChannel()
        channel.port1.onmessage = (event) => (event.data?.token ? resolve(event.data.token) : undefined)
        client.postMessage({ type: 'file-sync/token-request', storeId }, [channel.port2])
      }),
  )
  const timeout = new Promise((resolve) => setTimeout(() => resolve(''), tokenRequestTimeoutMs))
  const token = /** @type {string} */ (await Promise.race([...answers, timeout]))
  if (token) tokens.set(storeId, token)
  return token
}

// The bytes are whatever a user dropped, served from this origin: never let them run as a
// page (an HTML or SVG file), and never let the browser guess another type.
const securityHeaders = [
  ['Content-Security-Policy', "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"],
  ['X-Content-Type-Options', 'nosniff'],
]

/**
 * @param {string} hash
 * @param {string} type
 */
function fileHeaders(hash, type) {
  const headers = new Headers({
    'Content-Type': type,
    ETag: `"${hash}"`,
    // The URL names the content's hash: it never changes.
    'Cache-Control': 'private, max-age=31536000, immutable',
  })
  for (const [name, value] of securityHeaders) headers.set(name, value)
  return headers
}

/**
 * @param {number} status
 * @param {string} message
 */
function jsonError(status, message) {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}
