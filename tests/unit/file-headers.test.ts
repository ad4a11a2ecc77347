import { describe, expect, test } from 'vitest'
import { forwardedReadHeaders, readAnswerHeaders, servedAs } from '../../src/file-sync/shared/file-headers.ts'
import { answerRead, parseRange } from '../../src/file-sync/shared/http-range.ts'

// The answers and headers the service worker and the Worker both give for one file.
const hash = 'a'.repeat(64)
const lastModified = Date.UTC(2026, 0, 15, 10, 30, 45, 678)
const lastModifiedDate = 'Thu, 15 Jan 2026 10:30:45 GMT'
const file = { size: 1000, etag: hash, lastModified: new Date(lastModified), type: 'video/webm', disposition: 'inline' as const }
const answer = (headers: Record<string, string>, of = file) => answerRead(new Headers(headers), of)
const ranged = ({ start, end }: { start: number; end: number }, size = 1000) => ({
  status: 206 as const,
  offset: start,
  length: end - start + 1,
  contentRange: `bytes ${start}-${end}/${size}`,
})

describe('Range', () => {
  test.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=500-599', { start: 500, end: 599 }],
    ['bytes=500-', { start: 500, end: 999 }],
    ['bytes=-100', { start: 900, end: 999 }],
    ['bytes=999-999', { start: 999, end: 999 }],
    // Past the end: clamped to the file.
    ['bytes=900-5000', { start: 900, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=0-99999999999999999999999', { start: 0, end: 999 }],
    // The unit is case-insensitive.
    ['Bytes=0-99', { start: 0, end: 99 }],
  ])('%s is one range', (header, wanted) => {
    expect(parseRange(header, 1000)).toEqual({ kind: 'satisfiable', offset: wanted.start, length: wanted.end - wanted.start + 1 })
    expect(answer({ Range: header })).toEqual(ranged(wanted))
  })

  test.each([
    ['bytes=1000-', 1000],
    ['bytes=5000-6000', 1000],
    ['bytes=-0', 1000],
    // An empty file has no byte to give.
    ['bytes=0-', 0],
    ['bytes=-10', 0],
    // A bytes range that does not parse: a broken client, told so rather than sent everything.
    ['bytes=99-0', 1000],
    ['bytes=-', 1000],
    ['bytes=abc-', 1000],
    ['bytes=0-99=1', 1000],
    ['bytes=1.5-2', 1000],
  ])('%s of %i bytes is unsatisfiable', (header, size) => {
    expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' })
    expect(answer({ Range: header }, { ...file, size })).toEqual({ status: 416, contentRange: `bytes */${size}` })
  })

  test.each([
    // Several ranges: the whole file is a fine answer, and no multipart one is needed.
    'bytes=0-99,200-299',
    'bytes=0-99,',
    // Another unit, or no range at all.
    'items=0-99',
    'bytes 0-99',
    '',
  ])('%j is ignored: the whole file', (header) => {
    expect(parseRange(header, 1000)).toEqual({ kind: 'none' })
    expect(answer({ Range: header })).toEqual({ status: 200 })
  })

  test('no Range: the whole file', () => {
    expect(answer({})).toEqual({ status: 200 })
  })
})

describe('If-Range', () => {
  test.each([
    [`"${hash}"`, 206],
    [lastModifiedDate, 206],
    // Another version, a weak tag (If-Range compares strongly), another date, not a date.
    [`"${'b'.repeat(64)}"`, 200],
    [`W/"${hash}"`, 200],
    ['Thu, 15 Jan 2026 10:30:46 GMT', 200],
    ['yesterday', 200],
  ])('%s gives %i', (ifRange, status) => {
    expect(answer({ Range: 'bytes=0-99', 'If-Range': ifRange }).status).toBe(status)
  })
})

describe('conditional requests', () => {
  test.each([
    [`"${hash}"`, 304],
    [`W/"${hash}"`, 304], // weak comparison
    [`"${'b'.repeat(64)}", "${hash}"`, 304],
    [`"${'b'.repeat(64)}",W/"${hash}"`, 304],
    ['*', 304],
    [` * `, 304],
    [`"${'b'.repeat(64)}"`, 200],
    [hash, 200], // not a quoted tag
    ['', 200],
  ])('If-None-Match %s gives %i', (ifNoneMatch, status) => {
    expect(answer({ 'If-None-Match': ifNoneMatch }).status).toBe(status)
  })

  test.each([
    [lastModifiedDate, 304],
    ['Fri, 16 Jan 2026 00:00:00 GMT', 304],
    ['Thu, 15 Jan 2026 10:30:44 GMT', 200],
    ['not a date', 200],
  ])('If-Modified-Since %s gives %i', (since, status) => {
    expect(answer({ 'If-Modified-Since': since }).status).toBe(status)
  })

  test('If-None-Match decides alone when present', () => {
    expect(answer({ 'If-None-Match': `"${'b'.repeat(64)}"`, 'If-Modified-Since': lastModifiedDate }).status).toBe(200)
  })

  test('a 304 comes before a range', () => {
    expect(answer({ 'If-None-Match': `"${hash}"`, Range: 'bytes=0-99' })).toEqual({ status: 304 })
    expect(answer({ 'If-None-Match': `"${hash}"`, Range: 'bytes=5000-' })).toEqual({ status: 304 })
  })
})

describe('headers', () => {
  const entries = (headers: Headers) => Object.fromEntries(headers)
  const security = {
    'content-security-policy': "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
    'x-content-type-options': 'nosniff',
  }
  const validators = { 'accept-ranges': 'bytes', etag: `"${hash}"`, 'last-modified': lastModifiedDate }
  const body = { 'cache-control': 'private, max-age=31536000, immutable', 'content-type': 'video/webm', 'content-disposition': 'inline' }

  test('the whole file', () => {
    expect(entries(readAnswerHeaders({ status: 200 }, file))).toEqual({ ...security, ...validators, ...body, 'content-length': '1000' })
  })

  test('one range', () => {
    expect(entries(readAnswerHeaders(ranged({ start: 500, end: 599 }), file))).toEqual({
      ...security,
      ...validators,
      ...body,
      'content-range': 'bytes 500-599/1000',
      'content-length': '100',
    })
  })

  test('not modified: the validators and caching, no body to describe', () => {
    expect(entries(readAnswerHeaders({ status: 304 }, file))).toEqual({
      ...security,
      etag: `"${hash}"`,
      'last-modified': lastModifiedDate,
      'cache-control': body['cache-control'],
    })
  })

  test('unsatisfiable: the size', () => {
    expect(entries(readAnswerHeaders({ status: 416, contentRange: 'bytes */1000' }, file))).toEqual({
      ...security,
      ...validators,
      'content-range': 'bytes */1000',
    })
  })

  test('served as the type a link names only when it is a media type, inline only when the page shows such bytes', () => {
    expect(servedAs('image/png')).toEqual({ type: 'image/png', disposition: 'inline' })
    expect(servedAs('text/html')).toEqual({ type: 'text/html', disposition: 'attachment' })
    expect(servedAs('image/svg+xml')).toEqual({ type: 'image/svg+xml', disposition: 'attachment' })
    expect(servedAs('image/png\r\nX: 1')).toEqual({ type: 'application/octet-stream', disposition: 'attachment' })
    expect(servedAs(undefined)).toEqual({ type: 'application/octet-stream', disposition: 'attachment' })
  })
})

describe('passed on to the server', () => {
  test('exactly what makes a request ranged or conditional', () => {
    const headers = new Headers({
      Range: 'bytes=0-99',
      'If-Range': `"${hash}"`,
      'If-None-Match': `W/"${hash}"`,
      'If-Modified-Since': lastModifiedDate,
      Accept: '*/*',
      Cookie: 'session=1',
    })
    expect(forwardedReadHeaders(headers)).toEqual([
      ['Range', 'bytes=0-99'],
      ['If-Range', `"${hash}"`],
      ['If-None-Match', `W/"${hash}"`],
      ['If-Modified-Since', lastModifiedDate],
    ])
    expect(forwardedReadHeaders(new Headers({ Accept: '*/*' }))).toEqual([])
  })
})
