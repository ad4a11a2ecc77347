/// <reference path="../../public/sw-range.js" />
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'

// sw-range.js is a classic script for `importScripts`, not a module: run it as the service
// worker would and take the one global it defines.
const source = readFileSync(new URL('../../public/sw-range.js', import.meta.url), 'utf8')
const range = new Function(`${source}\nreturn swRange`)() as typeof swRange

const hash = 'a'.repeat(64)
const lastModified = Date.UTC(2026, 0, 15, 10, 30, 45, 678)
const lastModifiedDate = 'Thu, 15 Jan 2026 10:30:45 GMT'
const file = { size: 1000, etag: `"${hash}"`, lastModified, type: 'video/webm' }
const answer = (headers: Record<string, string>, of = file) => range.answer(new Headers(headers), of)

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
    expect(range.parseRange(header, 1000)).toEqual(wanted)
    expect(answer({ Range: header })).toEqual({ status: 206, ...wanted })
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
    expect(range.parseRange(header, size)).toBe('unsatisfiable')
    expect(answer({ Range: header }, { ...file, size })).toEqual({ status: 416 })
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
    expect(range.parseRange(header, 1000)).toBeUndefined()
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
  const validators = [
    ['Accept-Ranges', 'bytes'],
    ['ETag', `"${hash}"`],
    ['Last-Modified', lastModifiedDate],
  ]

  test('the whole file', () => {
    expect(range.headersFor({ status: 200 }, file)).toEqual([...validators, ['Content-Type', 'video/webm'], ['Content-Length', '1000']])
  })

  test('one range', () => {
    expect(range.headersFor({ status: 206, start: 500, end: 599 }, file)).toEqual([
      ...validators,
      ['Content-Type', 'video/webm'],
      ['Content-Range', 'bytes 500-599/1000'],
      ['Content-Length', '100'],
    ])
  })

  test('not modified: the validators, no body to describe', () => {
    expect(range.headersFor({ status: 304 }, file)).toEqual(validators)
  })

  test('unsatisfiable: the size', () => {
    expect(range.headersFor({ status: 416 }, file)).toEqual([...validators, ['Content-Range', 'bytes */1000']])
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
    expect(range.forwardedHeaders(headers)).toEqual([
      ['Range', 'bytes=0-99'],
      ['If-Range', `"${hash}"`],
      ['If-None-Match', `W/"${hash}"`],
      ['If-Modified-Since', lastModifiedDate],
    ])
    expect(range.forwardedHeaders(new Headers({ Accept: '*/*' }))).toEqual([])
  })
})
