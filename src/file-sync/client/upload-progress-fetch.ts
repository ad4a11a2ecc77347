/**
 * `fetch` cannot tell how much of a request body has been sent, and streaming a body to count
 * it needs HTTP/2. XMLHttpRequest can: this is a `fetch` for uploads that also reports the bytes
 * sent, and otherwise behaves as `fetch` does to its caller (a TypeError when no answer came, the
 * signal's reason when aborted, a Response otherwise).
 */
export const fetchWithUploadProgress = (url: string | URL, init: RequestInit, onProgress: (sentBytes: number) => void): Promise<Response> =>
  new Promise<Response>((resolve, reject) => {
    const { signal } = init
    if (signal?.aborted) return reject(signal.reason)
    const xhr = new XMLHttpRequest()
    xhr.open(init.method ?? 'GET', String(url))
    for (const [name, value] of new Headers(init.headers)) xhr.setRequestHeader(name, value)
    xhr.responseType = 'blob'
    const onAbort = () => xhr.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = () => signal?.removeEventListener('abort', onAbort)
    xhr.upload.onprogress = (event) => onProgress(event.loaded)
    xhr.onload = () => {
      done()
      const body = [101, 204, 205, 304].includes(xhr.status) ? null : (xhr.response as Blob)
      resolve(new Response(body, { status: xhr.status, statusText: xhr.statusText, headers: parseHeaders(xhr.getAllResponseHeaders()) }))
    }
    xhr.onerror = () => {
      done()
      reject(new TypeError('The server could not be reached.'))
    }
    xhr.onabort = () => {
      done()
      reject(signal?.aborted ? signal.reason : new DOMException('The request was aborted.', 'AbortError'))
    }
    xhr.send((init.body ?? null) as XMLHttpRequestBodyInit | null)
  })

const parseHeaders = (raw: string): Headers => {
  const headers = new Headers()
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  return headers
}
