// @ts-check
/// <reference lib="webworker" />

/**
 * Answers `GET /files/<storeId>/<sha256>?type=<mime>` so the page can render plain
 * `<img src="/files/...">` and `<video src="/files/...">`: from this device's OPFS when the bytes
 * are here, else from the Worker's file API (with the token the page handed over by message),
 * else 404. It touches no other request.
 *
 * Range, If-None-Match and If-Modified-Since are answered too (206, 304, 416: see sw-range.js),
 * from OPFS by slicing the file on disk, from the Worker by passing them on.
 *
 * OPFS layout, shared with src/file-sync/client/local-file-storage.ts: `files/<storeId>/<sha256>`.
 */

importScripts('sw-range.js') // defines swRange

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self))

const filePath = /^\/files\/([A-Za-z0-9_-]{1,64})\/([0-9a-f]{64})$/

/**
 * How a copy on this device is served. The page names its type in the URL (`?type=`), which a
 * link can set too: it is taken only when it is a media type, and shown inline only when it is
 * one the page itself shows (pictures, not SVG or any XML; sound; video). Anything else goes out
 * as an attachment, so an HTML or SVG file opened from a crafted link is saved, never run on this
 * origin. The Worker serves its copies by the same rules (src/file-sync/shared/media-type.ts,
 * `isMediaType` and `isInlineType`; a unit test keeps the copies in step).
 * @param {string} type
 * @returns {boolean}
 */
function isMediaType(type) {
  const token = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
  const quoted = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"'
  return type.length <= 255 && new RegExp(`^${token}/${token}(?:[ \\t]*;[ \\t]*${token}=(?:${token}|${quoted}))*$`).test(type)
}

/**
 * @param {string} type
 * @returns {boolean}
 */
function isInlineType(type) {
  return /^(image\/(?!svg)[a-z0-9.+-]+|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)\s*(;.*)?$/i.test(type) && !/\+xml\b/i.test(type)
}

/** @param {string} type */
function servedAs(type) {
  return isMediaType(type)
    ? { type, disposition: isInlineType(type) ? 'inline' : 'attachment' }
    : { type: 'application/octet-stream', disposition: 'attachment' }
}

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
  event.respondWith(serveFile(request, storeId, hash, servedAs(url.searchParams.get('type') ?? '')))
})

/**
 * @param {Request} request
 * @param {string} storeId
 * @param {string} hash
 * @param {{ type: string, disposition: string }} served how a copy on this device is served
 */
async function serveFile(request, storeId, hash, served) {
  const local = await readLocal(storeId, hash)
  if (local) return localResponse(request, local, hash, served)
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
 * From this device's disk, answering Range and the conditions as swRange decides.
 * @param {Request} request
 * @param {File} file
 * @param {string} hash
 * @param {{ type: string, disposition: string }} served
 */
function localResponse(request, file, hash, served) {
  const representation = { size: file.size, etag: `"${hash}"`, lastModified: file.lastModified, type: served.type }
  const answer = swRange.answer(request.headers, representation)
  const headers = new Headers(swRange.headersFor(answer, representation))
  headers.set('Content-Disposition', served.disposition)
  // The URL names the content's hash: it never changes.
  headers.set('Cache-Control', 'private, max-age=31536000, immutable')
  addFileHeaders(headers, 'local')
  return new Response(request.method === 'HEAD' ? null : localBody(answer, file), { status: answer.status, headers })
}

/**
 * The whole file or one slice of it, or nothing (304, 416). A File from OPFS is disk-backed and
 * so is its slice: the browser streams the bytes from disk, none are read into memory here,
 * which is what lets a <video> seek at once in a file of gigabytes.
 * @param {Answer} answer
 * @param {File} file
 */
function localBody(answer, file) {
  if (answer.status === 200) return file
  if (answer.status === 206) return file.slice(answer.start, answer.end + 1)
  return null
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
        // The server answers Range and the conditions itself, with the same 206/304/416.
        headers: [['Authorization', `Bearer ${token}`], ...swRange.forwardedHeaders(request.headers)],
        signal: request.signal,
        // A response cut short would otherwise be cached for good under an immutable URL.
        cache: 'no-store',
      })
    } catch {
      return jsonError(503, 'This file is not on this device yet, and the server cannot be reached.')
    }
    if (response.status === 401 && !refresh) continue
    if (!swRange.fileStatuses.includes(response.status)) return response
    const headers = new Headers(response.headers)
    addFileHeaders(headers, 'remote')
    // Streamed on as it arrives. Chromium gives a 304 an empty body stream, which a new 304
    // Response refuses (the page would see a network error): a 304 has no body at all.
    return new Response(response.status === 304 ? null : response.body, { status: response.status, headers })
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
        client.postMessage({ type: 'file-sync/token-request', storeId, refresh }, [channel.port2])
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
 * What every answer about a file carries, wherever its bytes came from.
 * @param {Headers} headers
 * @param {'local' | 'remote'} source
 */
function addFileHeaders(headers, source) {
  for (const [name, value] of securityHeaders) headers.set(name, value)
  headers.set('X-File-Source', source)
}

/**
 * @param {number} status
 * @param {string} message
 */
function jsonError(status, message) {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' },
  })
}
