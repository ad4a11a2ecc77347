import { describe, expect, test } from 'vitest'
import { answerRead, httpDate, parseRange, type Representation } from '../../src/file-sync/shared/http-range.ts'

const etag = 'a'.repeat(64)
const lastModified = new Date('2025-07-01T10:00:00.750Z')
const object: Representation = { etag, size: 1000, lastModified }
const headers = (values: Record<string, string>) => new Headers(values)

describe('parseRange', () => {
  test.each([
    ['bytes=0-99', { kind: 'satisfiable', offset: 0, length: 100 }],
    ['bytes=100-199', { kind: 'satisfiable', offset: 100, length: 100 }],
    ['bytes=999-999', { kind: 'satisfiable', offset: 999, length: 1 }],
    ['bytes=900-', { kind: 'satisfiable', offset: 900, length: 100 }],
    ['bytes=0-', { kind: 'satisfiable', offset: 0, length: 1000 }],
    ['bytes=-100', { kind: 'satisfiable', offset: 900, length: 100 }],
    // Clamped: the end past the last byte, a suffix longer than the object.
    ['bytes=900-5000', { kind: 'satisfiable', offset: 900, length: 100 }],
    ['bytes=0-99999999999999999999999', { kind: 'satisfiable', offset: 0, length: 1000 }],
    ['bytes=-5000', { kind: 'satisfiable', offset: 0, length: 1000 }],
    // The unit is case-insensitive, and spaces around the range are allowed.
    ['Bytes=0-9', { kind: 'satisfiable', offset: 0, length: 10 }],
    ['bytes= 0-9 ', { kind: 'satisfiable', offset: 0, length: 10 }],
  ])('%s of 1000 bytes', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected)
  })

  test.each(['bytes=1000-', 'bytes=1000-1999', 'bytes=5000-6000', 'bytes=-0'])('%s of 1000 bytes is unsatisfiable', (header) => {
    expect(parseRange(header, 1000)).toEqual({ kind: 'unsatisfiable' })
  })

  test.each(['bytes=0-0', 'bytes=0-', 'bytes=-1'])('%s of an empty object is unsatisfiable', (header) => {
    expect(parseRange(header, 0)).toEqual({ kind: 'unsatisfiable' })
  })

  // Our choice (see the module): a broken bytes range is refused, not ignored.
  test.each(['bytes=', 'bytes=-', 'bytes=abc', 'bytes=5-2', 'bytes=1-2-3', 'bytes=0x10-', 'bytes=1.5-2'])('malformed %s is unsatisfiable', (header) => {
    expect(parseRange(header, 1000)).toEqual({ kind: 'unsatisfiable' })
  })

  test.each(['bytes=0-9,20-29', 'bytes=0-9, 5000-', 'items=0-9', 'garbage', ''])('%s is ignored (answered in full)', (header) => {
    expect(parseRange(header, 1000)).toEqual({ kind: 'none' })
  })
})

describe('answerRead', () => {
  test('answers 200 without conditions or Range', () => {
    expect(answerRead(headers({}), object)).toEqual({ status: 200 })
  })

  test('answers 206 with the Content-Range of the range', () => {
    expect(answerRead(headers({ Range: 'bytes=0-99' }), object)).toEqual({
      status: 206,
      offset: 0,
      length: 100,
      contentRange: 'bytes 0-99/1000',
    })
    expect(answerRead(headers({ Range: 'bytes=-10' }), object)).toMatchObject({ contentRange: 'bytes 990-999/1000' })
    expect(answerRead(headers({ Range: 'bytes=500-9999' }), object)).toMatchObject({ contentRange: 'bytes 500-999/1000' })
  })

  test('answers 416 with the size for a range outside the object', () => {
    expect(answerRead(headers({ Range: 'bytes=1000-' }), object)).toEqual({ status: 416, contentRange: 'bytes */1000' })
    expect(answerRead(headers({ Range: 'bytes=0-0' }), { ...object, size: 0 })).toEqual({
      status: 416,
      contentRange: 'bytes */0',
    })
  })

  describe('If-None-Match', () => {
    test.each([`"${etag}"`, `W/"${etag}"`, `"other", "${etag}"`, `"other",W/"${etag}"`, '*', ' * '])('%s matches: 304', (value) => {
      expect(answerRead(headers({ 'If-None-Match': value }), object)).toEqual({ status: 304 })
    })

    test.each(['"other"', 'W/"other", "b"', etag, '""'])('%s does not match', (value) => {
      expect(answerRead(headers({ 'If-None-Match': value }), object)).toEqual({ status: 200 })
    })

    test('wins over If-Modified-Since, which is then ignored', () => {
      const request = headers({ 'If-None-Match': '"other"', 'If-Modified-Since': httpDate(new Date('2030-01-01')) })
      expect(answerRead(request, object)).toEqual({ status: 200 })
    })

    test('is decided before Range', () => {
      expect(answerRead(headers({ 'If-None-Match': `"${etag}"`, Range: 'bytes=0-9' }), object)).toEqual({ status: 304 })
      expect(answerRead(headers({ 'If-None-Match': '"other"', Range: 'bytes=0-9' }), object)).toMatchObject({ status: 206 })
    })
  })

  describe('If-Modified-Since', () => {
    test('at or after Last-Modified: 304 (Last-Modified counts whole seconds)', () => {
      expect(answerRead(headers({ 'If-Modified-Since': httpDate(lastModified) }), object)).toEqual({ status: 304 })
      expect(answerRead(headers({ 'If-Modified-Since': 'Tue, 01 Jul 2025 10:00:00 GMT' }), object)).toEqual({ status: 304 })
      expect(answerRead(headers({ 'If-Modified-Since': 'Wed, 02 Jul 2025 00:00:00 GMT' }), object)).toEqual({ status: 304 })
    })

    test('before Last-Modified, or not a date: 200', () => {
      expect(answerRead(headers({ 'If-Modified-Since': 'Tue, 01 Jul 2025 09:59:59 GMT' }), object)).toEqual({ status: 200 })
      expect(answerRead(headers({ 'If-Modified-Since': 'yesterday' }), object)).toEqual({ status: 200 })
    })
  })

  describe('If-Range', () => {
    const ranged = (ifRange: string) => answerRead(headers({ Range: 'bytes=0-9', 'If-Range': ifRange }), object)

    test('our strong ETag, or the exact Last-Modified, keeps the range', () => {
      expect(ranged(`"${etag}"`)).toMatchObject({ status: 206 })
      expect(ranged(httpDate(lastModified))).toMatchObject({ status: 206 })
    })

    test('anything else answers in full', () => {
      expect(ranged('"other"')).toEqual({ status: 200 })
      // If-Range compares strongly: a weak tag never matches.
      expect(ranged(`W/"${etag}"`)).toEqual({ status: 200 })
      expect(ranged('Tue, 01 Jul 2025 09:00:00 GMT')).toEqual({ status: 200 })
      expect(ranged('not a validator')).toEqual({ status: 200 })
    })

    test('does not turn an unsatisfiable range into 416 when it does not match', () => {
      expect(answerRead(headers({ Range: 'bytes=5000-', 'If-Range': '"other"' }), object)).toEqual({ status: 200 })
    })
  })
})

test('httpDate gives an IMF-fixdate', () => {
  expect(httpDate(lastModified)).toBe('Tue, 01 Jul 2025 10:00:00 GMT')
})
