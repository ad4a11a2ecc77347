import { FileError } from './errors.ts'
import type { Sha256 } from './hash.ts'

/**
 * Writing a stream into a file through an OPFS synchronous access handle (dedicated workers
 * only), in place and hashing on the way: what local-file-storage.ts does for saves and downloads.
 */

/** The synchronous access handle, missing from TypeScript's DOM types. */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}

const readChunkBytes = 1024 * 1024

/** Feeds the bytes already on disk, up to `length`, to the hash: a resumed download is verified whole. */
export const hashKept = (access: SyncAccessHandle, length: number, sha: Sha256) => {
  const buffer = new Uint8Array(Math.min(readChunkBytes, Math.max(length, 1)))
  for (let at = 0; at < length; ) {
    const read = access.read(buffer.subarray(0, Math.min(buffer.byteLength, length - at)), { at })
    if (read === 0) throw new FileError('integrity', 'The kept part of this download could not be read back.')
    sha.update(buffer.subarray(0, read))
    at += read
  }
}

/** Writes `body` from byte `at` while hashing it; resolves to the size the file then has. */
export const writeStream = async (
  access: SyncAccessHandle,
  body: ReadableStream<Uint8Array>,
  at: number,
  sha: Sha256,
  signal: AbortSignal | undefined,
): Promise<number> => {
  const reader = chunksOf(body)
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason
      const value = await reader.read()
      // A cancel ends the reads as if the body were complete: the signal tells them apart.
      if (signal?.aborted) throw signal.reason
      if (value === undefined) return at
      for (let written = 0; written < value.byteLength; ) {
        written += access.write(value.subarray(written), { at: at + written })
      }
      sha.update(value)
      at += value.byteLength
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {})
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.release()
  }
}

const byobChunkBytes = 1024 * 1024

/**
 * Reads a stream chunk by chunk. A byte stream (a Blob's, a fetch body's) is read into one buffer
 * used over and over, so a large file leaves no trail of garbage chunks behind it; any other
 * stream (one that crossed from the page) chunk by chunk as it comes.
 */
const chunksOf = (body: ReadableStream<Uint8Array>) => {
  let byob: ReadableStreamBYOBReader | undefined
  try {
    byob = body.getReader({ mode: 'byob' })
  } catch {
    byob = undefined // not a byte stream
  }
  if (byob) {
    const reader = byob
    let buffer: ArrayBuffer | undefined = new ArrayBuffer(byobChunkBytes)
    return {
      async read(): Promise<Uint8Array | undefined> {
        const { done, value } = await reader.read(new Uint8Array(buffer ?? new ArrayBuffer(byobChunkBytes)))
        if (done || !value) return undefined
        buffer = value.buffer as ArrayBuffer // the same memory, handed back for the next read
        return value
      },
      cancel: (reason: unknown) => reader.cancel(reason),
      release: () => reader.releaseLock(),
    }
  }
  const reader = body.getReader()
  return {
    async read(): Promise<Uint8Array | undefined> {
      const { done, value } = await reader.read()
      return done ? undefined : value
    },
    cancel: (reason: unknown) => reader.cancel(reason),
    release: () => reader.releaseLock(),
  }
}
