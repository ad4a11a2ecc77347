import { describe, expect, test } from 'vitest'
import { parseFileRoute } from '../../src/file-sync/server/file-routes.ts'

const sha256 = 'ab'.repeat(32)
// What follows the API's base path (`/api/files/` in the built-in Worker).
const base = `store-1/${sha256}`
const file = { storeId: 'store-1', sha256, key: `store-1/${sha256}` }

describe('parseFileRoute', () => {
  test('names the file, its uploads, one upload and one part', () => {
    expect(parseFileRoute(base)).toEqual({ kind: 'file', file })
    expect(parseFileRoute(`${base}/uploads`)).toEqual({ kind: 'uploads', file })
    expect(parseFileRoute(`${base}/uploads/abc`)).toEqual({ kind: 'upload', file, uploadId: 'abc' })
    expect(parseFileRoute(`${base}/uploads/abc/parts/1`)).toEqual({ kind: 'part', file, uploadId: 'abc', partNumber: 1 })
    expect(parseFileRoute(`${base}/uploads/abc/parts/10000`)).toMatchObject({ partNumber: 10000 })
  })

  test('decodes the upload id after splitting the path, so an encoded slash stays in it', () => {
    const uploadId = 'a/b+c=d%'
    expect(parseFileRoute(`${base}/uploads/${encodeURIComponent(uploadId)}/parts/2`)).toMatchObject({ uploadId, partNumber: 2 })
  })

  test.each([
    'store-1',
    `bad.id/${sha256}`,
    `store-1/${sha256.toUpperCase()}`,
    `/store-1/${sha256}`,
    `${base}/extra`,
    `${base}/uploads/`,
    `${base}/uploads/%E0%A4%A`,
    `${base}/uploads/${'x'.repeat(1025)}`,
    `${base}/uploads/abc/parts`,
    `${base}/uploads/abc/parts/0`,
    `${base}/uploads/abc/parts/10001`,
    `${base}/uploads/abc/parts/01x`,
    `${base}/uploads/abc/part/1`,
    `${base}/uploads/abc/parts/1/more`,
  ])('refuses %s with a reason', (path) => {
    expect(parseFileRoute(path)).toEqual(expect.any(String))
  })

  test('takes an upload id of 1024 characters', () => {
    expect(parseFileRoute(`${base}/uploads/${'x'.repeat(1024)}`)).toMatchObject({ kind: 'upload' })
  })
})
