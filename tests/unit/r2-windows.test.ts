import { describe, expect, test } from 'vitest'
import { readInWindows, type WindowSource } from '../../src/file-sync/server/r2-windows.ts'

/** An object of `size` bytes (byte i is i % 251) in a bucket that records every read. */
const bucketWith = (size: number, { missingFrom = Infinity } = {}) => {
  const bytes = Uint8Array.from({ length: size }, (_, index) => index % 251)
  const reads: Array<{ offset: number; length: number }> = []
  const bucket: WindowSource = {
    async get(_key, { range }) {
      reads.push(range)
      if (range.offset >= missingFrom) return null
      return { body: new Blob([bytes.slice(range.offset, range.offset + range.length)]).stream() }
    },
  }
  return { bytes, reads, bucket }
}

const readAll = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer())

describe('reading an object in windows', () => {
  test('reads the range window after window, in order, and streams exactly its bytes', async () => {
    const { bytes, reads, bucket } = bucketWith(1000)
    const stream = readInWindows(bucket, 'k', { offset: 100, length: 750, windowBytes: 300, sink: new TransformStream() })
    expect(await readAll(stream)).toEqual(bytes.slice(100, 850))
    expect(reads).toEqual([
      { offset: 100, length: 300 },
      { offset: 400, length: 300 },
      { offset: 700, length: 150 },
    ])
  })

  test('starts with a first window already read, and reads only the rest', async () => {
    const { bytes, reads, bucket } = bucketWith(1000)
    const first = new Blob([bytes.slice(0, 300)]).stream()
    const stream = readInWindows(bucket, 'k', { offset: 0, length: 1000, windowBytes: 300, first, sink: new TransformStream() })
    expect(await readAll(stream)).toEqual(bytes)
    expect(reads.map((read) => read.offset)).toEqual([300, 600, 900])
  })

  test('a small object is its first window alone', async () => {
    const { bytes, reads, bucket } = bucketWith(200)
    const first = new Blob([bytes]).stream()
    expect(await readAll(readInWindows(bucket, 'k', { offset: 0, length: 200, windowBytes: 300, first, sink: new TransformStream() }))).toEqual(bytes)
    expect(reads).toEqual([])
  })

  test('an object deleted while it is read fails the stream instead of ending it short', async () => {
    const { bucket } = bucketWith(1000, { missingFrom: 600 })
    const stream = readInWindows(bucket, 'k', { offset: 0, length: 1000, windowBytes: 300, sink: new TransformStream() })
    await expect(readAll(stream)).rejects.toThrow('k is gone: it was deleted while it was read')
  })

  test('a reader that stops asks for no more windows', async () => {
    const { reads, bucket } = bucketWith(3000)
    const stream = readInWindows(bucket, 'k', { offset: 0, length: 3000, windowBytes: 300, sink: new TransformStream() })
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel(new Error('gone'))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(reads.length).toBeLessThan(10)
    const asked = reads.length
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(reads.length).toBe(asked)
  })
})
