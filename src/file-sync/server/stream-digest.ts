/**
 * The digest of a byte stream of any size, in constant memory: the stream is
 * read again and again into one buffer (a BYOB reader), and each read is
 * written to a digest sink, workerd's `crypto.DigestStream`.
 *
 * Why not `body.pipeTo(new crypto.DigestStream(...))`: DigestStream is a
 * JavaScript stream in workerd, so a pipe hands it every chunk in a new
 * ArrayBuffer, freed only when the garbage collector runs. Measured with
 * scripts/worker-memory.ts on a fresh workerd: hashing 90 MiB from R2 grew it
 * by 112 MiB piped, by 10 MiB with one buffer.
 *
 * Every few MiB the loop gives the event loop a turn. Local R2 reads ahead,
 * so a read can resolve at once, and a loop of resolved promises never lets a
 * timer or another request's I/O run: verifying 2 GiB held every request of
 * the Worker and its sync Durable Object for 40 s, and the devices took the
 * silence for a lost connection.
 */

import { SHA256 } from '@stablelib/sha256'

/** What the reading needs of `crypto.DigestStream` (structural, so Node tests can pass their own). */
export type DigestSink = {
  getWriter(): { write(chunk: Uint8Array): Promise<void>; close(): Promise<void> }
  readonly digest: Promise<ArrayBuffer>
}

// What one read may take: the only memory hashing holds.
export const DIGEST_BUFFER_BYTES = 1024 * 1024
// How much is hashed between two turns of the event loop.
export const DIGEST_YIELD_BYTES = 4 * DIGEST_BUFFER_BYTES

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

/** Reads `body` to its end into `digest`; its digest as lowercase hex. A failed read or write cancels `body`. */
export const digestHex = async (body: ReadableStream<Uint8Array>, digest: DigestSink): Promise<string> => {
  const writer = digest.getWriter()
  const read = byteReads(body)
  let sinceTurn = 0
  try {
    for (;;) {
      const value = await read.next()
      if (value === undefined) break
      // DigestStream hashes a chunk before the write resolves: the buffer is free again.
      await writer.write(value)
      read.done(value)
      sinceTurn += value.byteLength
      if (sinceTurn >= DIGEST_YIELD_BYTES) {
        sinceTurn = 0
        await nextTurn()
      }
    }
  } catch (error) {
    await read.cancel(error).catch(() => {})
    throw error
  }
  await writer.close()
  return [...new Uint8Array(await digest.digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

/**
 * Reads into one buffer again and again where the stream is a byte stream (R2's bodies and
 * workerd's FixedLengthStream are); chunk by chunk otherwise (a plain stream, outside workerd).
 */
const byteReads = (body: ReadableStream<Uint8Array>) => {
  let byob: ReadableStreamBYOBReader | undefined
  try {
    byob = body.getReader({ mode: 'byob' })
  } catch {
    const reader = body.getReader()
    return {
      next: async () => {
        const { done, value } = await reader.read()
        return done ? undefined : value
      },
      done: (_chunk: Uint8Array) => {},
      cancel: (reason: unknown) => reader.cancel(reason),
    }
  }
  const reader = byob
  let buffer = new ArrayBuffer(DIGEST_BUFFER_BYTES)
  return {
    // At the end a BYOB read still gives a view (an empty one): only `done` says it is the end.
    next: async () => {
      const { done, value } = await reader.read(new Uint8Array(buffer))
      return done ? undefined : value
    },
    done: (chunk: Uint8Array) => void (buffer = chunk.buffer as ArrayBuffer),
    cancel: (reason: unknown) => reader.cancel(reason),
  }
}

type DigestStreamConstructor = new (algorithm: string) => DigestSink

/**
 * A SHA-256 sink: workerd's native `crypto.DigestStream`, or elsewhere (the handler under Node's
 * tests) one over @stablelib/sha256 with the same shape.
 */
export const digestSink = (): DigestSink => {
  const Native = (crypto as { DigestStream?: DigestStreamConstructor }).DigestStream
  if (Native !== undefined) return new Native('SHA-256')
  const hash = new SHA256()
  let finished: (digest: ArrayBuffer) => void = () => {}
  const digest = new Promise<ArrayBuffer>((resolve) => (finished = resolve))
  return {
    digest,
    getWriter: () => ({
      write: async (chunk: Uint8Array) => void hash.update(chunk),
      close: async () => finished(hash.digest().slice().buffer),
    }),
  }
}
