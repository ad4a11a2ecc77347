/**
 * The headers of an answer about one stored file, the same from the Worker (R2's copy) and from
 * the service worker (this device's copy): what the answer is (./http-range decides 200, 206,
 * 304 or 416), how its bytes may be shown, and what keeps them from running as a page.
 *
 * Pure: it sees numbers and strings, never the bytes.
 */
import { httpDate, type ReadAnswer } from './http-range.ts'
import { isInlineType, isMediaType, OCTET_STREAM } from './media-type.ts'

/**
 * The bytes are whatever a user dropped, served from the app's own origin: never let them run as
 * a page (an HTML or SVG file opened directly), and never let a browser guess another type.
 */
export const FILE_SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Security-Policy', "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"],
  ['X-Content-Type-Options', 'nosniff'],
]

/** The URL names the content's hash, so what it answers never changes. */
export const IMMUTABLE = 'private, max-age=31536000, immutable'

/** The request headers that can make a read ranged or conditional: what a proxy passes on. */
export const READ_CONDITION_HEADERS = ['Range', 'If-Range', 'If-None-Match', 'If-Modified-Since'] as const

/** The answers about a file itself; any other status is an error of the server's own. */
export const FILE_READ_STATUSES: ReadonlyArray<number> = [200, 206, 304, 416]

/** A file as it is served. `etag` is the opaque tag (the SHA-256), without quotes. */
export type ServedFile = {
  etag: string
  size: number
  lastModified: Date
  type: string
  disposition: 'inline' | 'attachment'
}

/**
 * How bytes said to be of `type` are served: as that type when it is a media type, inline only
 * when the page itself shows such bytes (./media-type, `isInlineType`); anything else as bytes to
 * save. A link can name any `type`, so this is the only way one is taken.
 */
export const servedAs = (type: unknown): Pick<ServedFile, 'type' | 'disposition'> =>
  isMediaType(type) ? { type, disposition: isInlineType(type) ? 'inline' : 'attachment' } : { type: OCTET_STREAM, disposition: 'attachment' }

/**
 * Every header of an answer about `file`, but for its body's own (a 416's error body). A 304
 * carries the validators and caching of the 200 it stands for, nothing about a body.
 */
export const readAnswerHeaders = (answer: ReadAnswer, file: ServedFile): Headers => {
  const headers = new Headers(FILE_SECURITY_HEADERS as Array<[string, string]>)
  headers.set('ETag', `"${file.etag}"`)
  headers.set('Last-Modified', httpDate(file.lastModified))
  if (answer.status === 304) {
    headers.set('Cache-Control', IMMUTABLE)
    return headers
  }
  headers.set('Accept-Ranges', 'bytes')
  if (answer.status === 416) {
    headers.set('Content-Range', answer.contentRange)
    return headers
  }
  headers.set('Cache-Control', IMMUTABLE)
  headers.set('Content-Type', file.type)
  headers.set('Content-Disposition', file.disposition)
  headers.set('Content-Length', String(answer.status === 206 ? answer.length : file.size))
  if (answer.status === 206) headers.set('Content-Range', answer.contentRange)
  return headers
}

/** What of a request is passed on to the server that holds the bytes: its ranges and conditions. */
export const forwardedReadHeaders = (headers: { get(name: string): string | null }): Array<[string, string]> =>
  READ_CONDITION_HEADERS.flatMap((name) => {
    const value = headers.get(name)
    return value === null ? [] : [[name, value] as [string, string]]
  })
