/**
 * How to answer a read of a stored file (RFC 9110 §13 and §14): 200 in full,
 * 206 with one range of it, 304 not modified, or 416 for a range outside it.
 *
 * Pure: it sees the request's headers and what the object is (our own ETag,
 * its size and upload date), nothing of R2. The order is the RFC's:
 * If-None-Match (else If-Modified-Since) first, then Range with its If-Range.
 *
 * Choices the RFC leaves to the server:
 * - More than one range (any comma in the range set) is answered 200 in full:
 *   no multipart/byteranges. Browsers and media players ask for one range.
 * - A Range in another unit than `bytes` is ignored (200), as the RFC requires.
 * - A `bytes=` range that does not parse (`bytes=abc`, `bytes=5-2`, `bytes=`)
 *   is refused with 416, not ignored: a client that sends a broken range gets
 *   told so at once instead of the whole file, which may be gigabytes.
 * - HEAD answers what GET would (206 or 416 included), without the body.
 */

/** What the answer depends on. `etag` is the opaque tag, without quotes. */
export type Representation = { etag: string; size: number; lastModified: Date }

/** Enough of `Headers` for both the Worker's and the DOM's. */
export type RequestHeaders = { get(name: string): string | null }

export type ReadAnswer =
  | { status: 200 }
  | { status: 206; offset: number; length: number; contentRange: string }
  | { status: 304 }
  | { status: 416; contentRange: string }

export type RangeSpec = { kind: 'none' } | { kind: 'satisfiable'; offset: number; length: number } | { kind: 'unsatisfiable' }

export const answerRead = (headers: RequestHeaders, representation: Representation): ReadAnswer => {
  if (isNotModified(headers, representation)) return { status: 304 }

  const range = headers.get('Range')
  if (range === null) return { status: 200 }
  const ifRange = headers.get('If-Range')
  if (ifRange !== null && !ifRangeMatches(ifRange, representation)) return { status: 200 }

  const { size } = representation
  const spec = parseRange(range, size)
  switch (spec.kind) {
    case 'none':
      return { status: 200 }
    case 'unsatisfiable':
      return { status: 416, contentRange: `bytes */${size}` }
    case 'satisfiable':
      return {
        status: 206,
        offset: spec.offset,
        length: spec.length,
        contentRange: `bytes ${spec.offset}-${spec.offset + spec.length - 1}/${size}`,
      }
  }
}

/** If-None-Match when present (If-Modified-Since is then ignored), else If-Modified-Since. */
export const isNotModified = (headers: RequestHeaders, { etag, lastModified }: Representation): boolean => {
  const ifNoneMatch = headers.get('If-None-Match')
  if (ifNoneMatch !== null) return ifNoneMatchMatches(ifNoneMatch, etag)
  const ifModifiedSince = parseHttpDate(headers.get('If-Modified-Since'))
  return ifModifiedSince !== undefined && wholeSeconds(lastModified) <= wholeSeconds(ifModifiedSince)
}

/** `*`, or a list of entity tags compared weakly: `W/"x"` matches `"x"`. */
export const ifNoneMatchMatches = (header: string, etag: string): boolean => {
  if (header.trim() === '*') return true
  return entityTags(header).some((tag) => tag.opaque === etag)
}

/** Strong comparison (a weak tag never matches), or a date equal to Last-Modified. */
export const ifRangeMatches = (header: string, { etag, lastModified }: Representation): boolean => {
  const value = header.trim()
  if (value.startsWith('"') || value.startsWith('W/')) {
    const [tag, ...others] = entityTags(value)
    return others.length === 0 && tag !== undefined && !tag.weak && tag.opaque === etag
  }
  const date = parseHttpDate(value)
  return date !== undefined && wholeSeconds(date) === wholeSeconds(lastModified)
}

/**
 * One `bytes=` range against an object of `size` bytes: `a-b` (the end is
 * clamped to the last byte), `a-` (to the end) or `-n` (the last n bytes).
 */
export const parseRange = (header: string, size: number): RangeSpec => {
  const set = /^\s*bytes\s*=(.*)$/i.exec(header)?.[1]
  if (set === undefined) return { kind: 'none' }
  if (set.includes(',')) return { kind: 'none' }

  const spec = /^\s*(\d*)-(\d*)\s*$/.exec(set)
  if (spec === null) return { kind: 'unsatisfiable' }
  const [, first = '', last = ''] = spec
  if (first === '' && last === '') return { kind: 'unsatisfiable' }

  if (first === '') {
    const suffixLength = Math.min(Number(last), size)
    return suffixLength === 0 ? { kind: 'unsatisfiable' } : { kind: 'satisfiable', offset: size - suffixLength, length: suffixLength }
  }
  const offset = Number(first)
  if (last !== '' && Number(last) < offset) return { kind: 'unsatisfiable' }
  if (offset >= size) return { kind: 'unsatisfiable' }
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  return { kind: 'satisfiable', offset, length: end - offset + 1 }
}

/** IMF-fixdate, as Last-Modified wants it: `Tue, 01 Jul 2025 10:00:00 GMT`. */
export const httpDate = (date: Date): string => date.toUTCString()

// HTTP dates count whole seconds; R2's upload dates have milliseconds.
const wholeSeconds = (date: Date): number => Math.floor(date.getTime() / 1000)

const parseHttpDate = (value: string | null): Date | undefined => {
  if (value === null) return undefined
  const time = Date.parse(value)
  return Number.isNaN(time) ? undefined : new Date(time)
}

const entityTags = (header: string): { weak: boolean; opaque: string }[] =>
  [...header.matchAll(/(W\/)?"([^"]*)"/g)].map(([, weak, opaque = '']) => ({ weak: weak !== undefined, opaque }))
