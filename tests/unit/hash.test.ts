import { describe, expect, test } from 'vitest'
import { createSha256, hashingStream, sha256OfBlob } from '../../src/file-sync/client/hash.ts'
import { bytesOf, readAll } from '../support/fakes.ts'

// Test vectors from FIPS 180-2.
const sha256OfEmpty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const sha256OfAbc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'

const streamOf = (...chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })

describe('createSha256', () => {
  test('gives the standard digest in lowercase hex', async () => {
    const empty = await createSha256()
    expect(empty.digest()).toBe(sha256OfEmpty)
    const abc = await createSha256()
    abc.update(bytesOf('abc'))
    expect(abc.digest()).toBe(sha256OfAbc)
  })

  test('gives the same digest whatever the chunks', async () => {
    const sha = await createSha256()
    for (const chunk of ['a', '', 'b', 'c']) sha.update(bytesOf(chunk))
    expect(sha.digest()).toBe(sha256OfAbc)
  })

  test('keeps two hashers apart', async () => {
    const [first, second] = await Promise.all([createSha256(), createSha256()])
    first.update(bytesOf('abc'))
    expect(second.digest()).toBe(sha256OfEmpty)
    expect(first.digest()).toBe(sha256OfAbc)
  })
})

describe('hashingStream', () => {
  test('passes the bytes on unchanged while hashing and counting them', async () => {
    const hashing = await hashingStream()
    const out = await readAll(streamOf(bytesOf('a'), bytesOf('bc')).pipeThrough(hashing.stream))
    expect(new TextDecoder().decode(out)).toBe('abc')
    expect(hashing.digest()).toBe(sha256OfAbc)
    expect(hashing.bytes()).toBe(3)
  })
})

describe('sha256OfBlob', () => {
  test('hashes a Blob, however large', async () => {
    expect(await sha256OfBlob(new Blob(['abc']))).toBe(sha256OfAbc)
    expect(await sha256OfBlob(new Blob([]))).toBe(sha256OfEmpty)
    const big = new Uint8Array(3 * 1024 * 1024).fill(7)
    const expected = await crypto.subtle.digest('SHA-256', big)
    expect(await sha256OfBlob(new Blob([big]))).toBe(Buffer.from(expected).toString('hex'))
  })
})
