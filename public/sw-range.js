// @ts-check

/**
 * How the service worker answers a GET or HEAD of one file it has whole: the file (200), one
 * byte range of it (206), "you have it already" (304), or "that range is not in the file" (416),
 * with the headers that go with each answer.
 *
 * A `<video>` asks for `Range: bytes=<offset>-` on every seek; answering with just those bytes,
 * sliced from a disk-backed File, is what lets it seek at once in a 2 GB file without reading it.
 *
 * Pure: it sees headers and numbers, never the bytes, so every case is unit-tested
 * (tests/unit/sw-range.test.ts). A classic script, as sw.js is: `importScripts('sw-range.js')`
 * defines the one global `swRange`.
 */

/**
 * The file a request is about.
 * @typedef {object} Representation
 * @property {number} size bytes
 * @property {string} etag a strong entity tag, quoted: `"<sha256>"`
 * @property {number} lastModified milliseconds since the epoch
 * @property {string} type its MIME type
 */

/**
 * @typedef {{ status: 200 } | { status: 206, start: number, end: number } | { status: 304 } | { status: 416 }} Answer
 * `end` is the last byte's offset, as in `Content-Range`.
 */

/**
 * Request headers: a `Headers`, or anything with the same `get`.
 * @typedef {{ get(name: string): string | null }} RequestHeaders
 */

// biome-ignore lint/correctness/noUnusedVariables: the service worker's global, used by sw.js after importScripts.
const swRange = (() => {
  /**
   * What to answer, in RFC 9110's order: the preconditions first (If-None-Match, else
   * If-Modified-Since), then Range, when If-Range (if any) says the client's copy is this file.
   * HEAD gets the same answer as GET would, without the body.
   * @param {RequestHeaders} headers
   * @param {Representation} file
   * @returns {Answer}
   */
  const answer = (headers, file) => {
    if (notModified(headers, file)) return { status: 304 }
    const range = headers.get('Range')
    if (range === null || !ifRangeHolds(headers.get('If-Range'), file)) return { status: 200 }
    const wanted = parseRange(range, file.size)
    if (wanted === 'unsatisfiable') return { status: 416 }
    return wanted === undefined ? { status: 200 } : { status: 206, ...wanted }
  }

  /**
   * The one range a `Range` header asks for, clamped to the file. `undefined` when the header is
   * to be ignored and the whole file sent: another unit than bytes, or several ranges (no
   * multipart answers; media players ask for one). 'unsatisfiable' when it starts past the end
   * (as any range of an empty file does), or is a `bytes=` range that does not parse: a broken
   * client is told so at once rather than sent the whole file.
   * @param {string} value
   * @param {number} size
   * @returns {{ start: number, end: number } | 'unsatisfiable' | undefined}
   */
  const parseRange = (value, size) => {
    const set = /^\s*bytes\s*=(.*)$/is.exec(value)?.[1]
    if (set === undefined || set.includes(',')) return undefined
    const [, first = '', last = ''] = /^\s*(\d*)-(\d*)\s*$/.exec(set) ?? []
    if (first === '' && last === '') return 'unsatisfiable'
    if (first === '') {
      // `bytes=-n`: the last n bytes.
      const suffix = Number(last)
      if (suffix === 0 || size === 0) return 'unsatisfiable'
      return { start: Math.max(0, size - suffix), end: size - 1 }
    }
    const start = Number(first)
    const end = last === '' ? Infinity : Number(last)
    if (end < start || start >= size) return 'unsatisfiable'
    return { start, end: Math.min(end, size - 1) }
  }

  /**
   * If-None-Match (weak comparison, a list or `*`) decides alone when present; else
   * If-Modified-Since, when it is a date at or after the file's Last-Modified.
   * @param {RequestHeaders} headers
   * @param {Representation} file
   */
  const notModified = (headers, file) => {
    const ifNoneMatch = headers.get('If-None-Match')
    if (ifNoneMatch !== null) return ifNoneMatch.trim() === '*' || entityTags(ifNoneMatch).some((tag) => opaque(tag) === opaque(file.etag))
    const since = Date.parse(headers.get('If-Modified-Since') ?? '')
    return !Number.isNaN(since) && toSeconds(file.lastModified) <= since
  }

  /**
   * If-Range names the copy the client already has part of: its ranges apply only if it is this
   * file, by strong comparison (a weak tag never matches) or by its exact Last-Modified date.
   * @param {string | null} value
   * @param {Representation} file
   */
  const ifRangeHolds = (value, file) => {
    if (value === null) return true
    const validator = value.trim()
    if (validator.startsWith('"') || validator.startsWith('W/')) return validator === file.etag
    return Date.parse(validator) === toSeconds(file.lastModified)
  }

  /**
   * The representation headers of an answer. The caller adds its own (caching, security).
   * @param {Answer} answer
   * @param {Representation} file
   * @returns {Array<[string, string]>}
   */
  const headersFor = (answer, file) => {
    /** @type {Array<[string, string]>} */
    const validators = [
      ['Accept-Ranges', 'bytes'],
      ['ETag', file.etag],
      ['Last-Modified', httpDate(file.lastModified)],
    ]
    switch (answer.status) {
      case 200:
        return [...validators, ['Content-Type', file.type], ['Content-Length', String(file.size)]]
      case 206:
        return [
          ...validators,
          ['Content-Type', file.type],
          ['Content-Range', `bytes ${answer.start}-${answer.end}/${file.size}`],
          ['Content-Length', String(answer.end - answer.start + 1)],
        ]
      case 304:
        return validators
      case 416:
        return [...validators, ['Content-Range', `bytes */${file.size}`]]
    }
  }

  /** What makes a request ranged or conditional: sent on to the server when the bytes are there. */
  const forwardedHeaderNames = ['Range', 'If-Range', 'If-None-Match', 'If-Modified-Since']

  /**
   * @param {RequestHeaders} headers
   * @returns {Array<[string, string]>}
   */
  const forwardedHeaders = (headers) =>
    forwardedHeaderNames.flatMap((name) => {
      const value = headers.get(name)
      return value === null ? [] : [/** @type {[string, string]} */ ([name, value])]
    })

  /** The server's answers that are about the file (the others are errors of its own). */
  const fileStatuses = [200, 206, 304, 416]

  /** @param {string} list */
  const entityTags = (list) => list.match(/(?:W\/)?"[^"]*"/g) ?? []
  /** @param {string} tag */
  const opaque = (tag) => (tag.startsWith('W/') ? tag.slice(2) : tag)
  /** HTTP dates have whole seconds. @param {number} ms */
  const toSeconds = (ms) => Math.floor(ms / 1000) * 1000
  /** @param {number} ms */
  const httpDate = (ms) => new Date(toSeconds(ms)).toUTCString()

  return { answer, parseRange, headersFor, forwardedHeaders, fileStatuses }
})()
