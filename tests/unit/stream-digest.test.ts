import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'

import { DIGEST_BUFFER_BYTES, digestHex, type DigestSink } from '../../src/file-sync/server/stream-digest.ts'

/** Like workerd's crypto.DigestStream: a writable stream that hashes each chunk as it is written. */
const sha256Sink = (failWrites = false): DigestSink & WritableStream<Uint8Array> => {
  const hash = createHash('sha256')
  let finished: (digest: ArrayBuffer) => void = () => {}
  const digest = new Promise<ArrayBuffer>((resolve) => (finished = resolve))
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      if (failWrites) throw new Error('digest failed')
      hash.update(chunk)
    },
    close() {
      finished(new Uint8Array(hash.digest()).buffer)
    },
  })
  return Object.assign(stream, { digest })
}

/**
 * A byte stream of `bytes` that only fills buffers its reader brings: asked for
 * a chunk of its own (a pipe, a default reader) it fails, as that is what made
 * workerd allocate per chunk. Gives at most `piece` bytes a read, like a socket.
 */
const byteSource = (bytes: Uint8Array, piece: number, seen: { buffers: number[]; cancelled?: unknown }) => {
  let offset = 0
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      const request = controller.byobRequest
      if (request?.view == null) throw new Error('asked for a chunk without a buffer to read into')
      const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength)
      // Recorded now: once answered, the buffer moves on to the reader (and reads 0 bytes here).
      seen.buffers.push(view.buffer.byteLength)
      if (offset === bytes.length) {
        controller.close()
        request.respond(0)
        return
      }
      const length = Math.min(piece, view.byteLength, bytes.length - offset)
      view.set(bytes.subarray(offset, offset + length))
      offset += length
      request.respond(length)
    },
    cancel(reason) {
      seen.cancelled = reason
    },
  })
}

describe('digestHex', () => {
  test('hashes a stream larger than its buffer, every read into a buffer of its own size', async () => {
    const bytes = new Uint8Array(randomBytes(2 * DIGEST_BUFFER_BYTES + 12345))
    const seen = { buffers: [] as number[] }

    const hex = await digestHex(byteSource(bytes, 300_000, seen), sha256Sink())

    expect(hex).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(seen.buffers.length).toBeGreaterThan(3)
    expect(new Set(seen.buffers)).toEqual(new Set([DIGEST_BUFFER_BYTES]))
  })

  test('hashes an empty stream', async () => {
    const hex = await digestHex(byteSource(new Uint8Array(0), 1, { buffers: [] }), sha256Sink())
    expect(hex).toBe(createHash('sha256').digest('hex'))
  })

  test('cancels the stream when the digest fails', async () => {
    const seen: { buffers: number[]; cancelled?: unknown } = { buffers: [] }
    await expect(digestHex(byteSource(new Uint8Array(1000), 100, seen), sha256Sink(true))).rejects.toThrow('digest failed')
    expect(seen.cancelled).toEqual(new Error('digest failed'))
  })
})
