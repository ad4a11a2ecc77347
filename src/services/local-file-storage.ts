import { FileError, toFileError } from './errors.ts'
import { createSha256, isSha256Hex, type Sha256 } from './hash.ts'

/**
 * Bytes on this device, addressed by their SHA-256. Two files with the same content share one
 * copy, and a new version of a file never overwrites the old one: it has another name.
 */
export interface LocalFileStorage {
  /**
   * Streams bytes to disk while hashing them. They become visible under their hash only once
   * complete, and only if the hash equals `expectedHash` when one is given: a truncated or
   * corrupted write never shows. A Blob (a dropped File) is read from its own disk copy.
   */
  put(body: ReadableStream<Uint8Array> | Blob, options?: { expectedHash?: string; signal?: AbortSignal }): Promise<StoredFile>
  /** How many bytes of an interrupted download of `hash` are kept on disk to continue from. */
  partialSize(hash: string): Promise<number>
  /**
   * Writes a download of `hash` whose `body` starts at byte `offset`: 0 starts afresh, the
   * `partialSize` continues the kept bytes. What arrives before an interruption is kept for the
   * next try; the file shows under its hash only once the whole of it hashes right.
   */
  receive(hash: string, body: ReadableStream<Uint8Array>, options: { offset: number; signal?: AbortSignal }): Promise<StoredFile>
  /** A disk-backed File: reading it does not load it into memory. */
  read(hash: string): Promise<File | undefined>
  exists(hash: string): Promise<boolean>
  /** Removes the copy of `hash`, and any kept part of a download of it. */
  remove(hash: string): Promise<void>
  /** Hashes of the complete files on disk. */
  list(): Promise<string[]>
  /**
   * Drops the leftovers of writes that never finished (a crash, a closed tab), and the kept
   * downloads of content no longer wanted (any hash not in `keepDownloads`).
   */
  removePartials(keepDownloads?: Iterable<string>): Promise<void>
}

export interface StoredFile {
  hash: string
  size: number
}

/**
 * Saves at once, at most, and as many downloads. Each hashes in a WebAssembly instance of its
 * own: 200 files dropped together would ask for 200 of them, which the browser refuses (out of
 * memory); the disk is no faster for more anyway. Saves do not wait behind downloads, which wait
 * for the network.
 */
export const maxConcurrentWrites = 4

const partialSuffix = '.partial'
const downloadSuffix = '.download'
const partialMaxAgeMs = 10 * 60_000
const readChunkBytes = 1024 * 1024

/**
 * The parts of the OPFS API this module uses that TypeScript's DOM types lack: `move`, and the
 * synchronous access handle, which exists in dedicated workers only.
 */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}
type OpfsFileHandle = FileSystemFileHandle & {
  move(destination: FileSystemDirectoryHandle, name: string): Promise<void>
  createSyncAccessHandle(): Promise<SyncAccessHandle>
}

/**
 * OPFS implementation, for a dedicated worker (see local-file-worker.ts): it writes through
 * synchronous access handles, in place and at disk speed, so that a download interrupted by a
 * reload or a crash keeps what it received. Hashing happens there too, off the page's thread.
 * Files live in `<folder...>/<sha256>`, a folder of their own apart from LiveStore's databases
 * (e.g. `['files', storeId]`); `<sha256>.download` holds a download in progress, and
 * `<uuid>.partial` a save in progress.
 */
export const createOpfsFileStorage = ({
  root,
  folder,
}: {
  root: () => Promise<FileSystemDirectoryHandle>
  folder: readonly string[]
}): LocalFileStorage => {
  let directoryPromise: Promise<FileSystemDirectoryHandle> | undefined
  const directory = () => {
    directoryPromise ??= (async () => {
      let dir = await root()
      for (const name of folder) dir = await dir.getDirectoryHandle(name, { create: true })
      return dir
    })()
    return directoryPromise
  }

  const checkHash = (hash: string) => {
    if (!isSha256Hex(hash)) throw new FileError('bad-request', `Not a SHA-256 hash: ${hash}`)
  }

  const fileHandle = async (name: string, create = false): Promise<OpfsFileHandle | undefined> => {
    try {
      return (await (await directory()).getFileHandle(name, { create })) as OpfsFileHandle
    } catch (error) {
      if (error instanceof DOMException && error.name === 'NotFoundError') return undefined
      throw toFileError(error)
    }
  }

  const removeEntry = async (name: string) => {
    try {
      await (await directory()).removeEntry(name)
    } catch (error) {
      if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw toFileError(error)
    }
  }

  const names = async () => {
    // `keys()` is missing from TypeScript's DOM lib for directory handles.
    const dir = (await directory()) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }
    const result: string[] = []
    for await (const name of dir.keys()) result.push(name)
    return result
  }

  const exists = async (hash: string) => {
    checkHash(hash)
    return (await fileHandle(hash)) !== undefined
  }

  /** Another tab writes the same name (its access handle is exclusive): worth another try soon. */
  const openExclusive = async (handle: OpfsFileHandle): Promise<SyncAccessHandle> => {
    try {
      return await handle.createSyncAccessHandle()
    } catch (error) {
      if (error instanceof DOMException && error.name === 'NoModificationAllowedError') {
        throw new FileError('busy', 'Another tab is writing this file right now.', { cause: error })
      }
      throw toFileError(error)
    }
  }

  /** Gives complete, verified bytes their name; the same content already there wins. */
  const publish = async (handle: OpfsFileHandle, name: string, hash: string) => {
    if (await exists(hash)) await removeEntry(name)
    else await handle.move(await directory(), hash)
  }

  const mismatch = (expectedHash: string, hash: string) =>
    new FileError(
      'integrity',
      `The received bytes do not match the file (expected SHA-256 ${expectedHash.slice(0, 12)}…, got ${hash.slice(0, 12)}…).`,
    )

  const put: LocalFileStorage['put'] = async (body, { expectedHash, signal } = {}) => {
    const name = `${crypto.randomUUID()}${partialSuffix}`
    const handle = (await fileHandle(name, true)) as OpfsFileHandle
    let access: SyncAccessHandle | undefined
    try {
      access = await openExclusive(handle)
      const sha = await createSha256()
      const size = await writeStream(access, body instanceof Blob ? body.stream() : body, 0, sha, signal)
      access.flush()
      access.close()
      access = undefined
      const hash = sha.digest()
      if (expectedHash !== undefined && hash !== expectedHash) throw mismatch(expectedHash, hash)
      await publish(handle, name, hash)
      return { hash, size }
    } catch (error) {
      access?.close()
      await removeEntry(name).catch(() => {})
      throw toFileError(signal?.aborted ? (signal.reason ?? error) : error)
    }
  }

  const receive: LocalFileStorage['receive'] = async (hash, body, { offset, signal }) => {
    checkHash(hash)
    const name = `${hash}${downloadSuffix}`
    const handle = (await fileHandle(name, true)) as OpfsFileHandle
    let access: SyncAccessHandle | undefined
    let keep = true
    try {
      access = await openExclusive(handle)
      if (offset > access.getSize()) {
        keep = false
        throw new FileError('integrity', 'The kept part of this download is shorter than expected; it starts again.')
      }
      // Bytes after `offset` may be the half-written tail of a try that stopped: not trusted.
      access.truncate(offset)
      const sha = await createSha256()
      hashKept(access, offset, sha)
      const size = await writeStream(access, body, offset, sha, signal)
      access.flush()
      access.close()
      access = undefined
      const received = sha.digest()
      if (received !== hash) {
        keep = false
        throw mismatch(hash, received)
      }
      await publish(handle, name, hash)
      return { hash, size }
    } catch (error) {
      access?.close()
      if (!keep) await removeEntry(name).catch(() => {})
      throw toFileError(signal?.aborted ? (signal.reason ?? error) : error)
    }
  }

  const saves = limit(maxConcurrentWrites)
  const downloads = limit(maxConcurrentWrites)

  return {
    put: (body, options) => saves(() => put(body, options)),
    receive: (hash, body, options) => downloads(() => receive(hash, body, options)),

    async partialSize(hash) {
      checkHash(hash)
      const handle = await fileHandle(`${hash}${downloadSuffix}`)
      return handle ? (await handle.getFile()).size : 0
    },

    async read(hash) {
      checkHash(hash)
      const handle = await fileHandle(hash)
      return handle ? await handle.getFile() : undefined
    },

    exists,

    async remove(hash) {
      checkHash(hash)
      await removeEntry(hash)
      await removeEntry(`${hash}${downloadSuffix}`)
    },

    async list() {
      return (await names()).filter(isSha256Hex)
    },

    async removePartials(keepDownloads = []) {
      const dir = await directory()
      const keep = new Set(keepDownloads)
      const now = Date.now()
      const all = await names()
      const complete = new Set(all.filter(isSha256Hex))
      for (const name of all) {
        if (name.endsWith(partialSuffix)) {
          // Another tab may be writing this one right now: its open access handle makes
          // removeEntry fail, and a recent modification time tells it apart from a crash's leftover.
          const file = await (await dir.getFileHandle(name)).getFile()
          if (now - file.lastModified < partialMaxAgeMs) continue
        } else if (name.endsWith(downloadSuffix)) {
          const hash = name.slice(0, -downloadSuffix.length)
          if (keep.has(hash) && !complete.has(hash)) continue
        } else {
          continue
        }
        await dir.removeEntry(name).catch(() => {})
      }
    },
  }
}

/** Feeds the bytes already on disk, up to `length`, to the hash: a resumed download is verified whole. */
const hashKept = (access: SyncAccessHandle, length: number, sha: Sha256) => {
  const buffer = new Uint8Array(Math.min(readChunkBytes, Math.max(length, 1)))
  for (let at = 0; at < length; ) {
    const read = access.read(buffer.subarray(0, Math.min(buffer.byteLength, length - at)), { at })
    if (read === 0) throw new FileError('integrity', 'The kept part of this download could not be read back.')
    sha.update(buffer.subarray(0, read))
    at += read
  }
}

/** Writes `body` from byte `at` while hashing it; resolves to the size the file then has. */
const writeStream = async (
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

/** Runs at most `count` of the given tasks at once, the others in the order they came. */
const limit = (count: number) => {
  let running = 0
  const waiting: Array<() => void> = []
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= count) await new Promise<void>((resolve) => waiting.push(resolve))
    running += 1
    try {
      return await task()
    } finally {
      running -= 1
      waiting.shift()?.()
    }
  }
}
