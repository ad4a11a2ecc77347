import { FileError, toFileError } from './errors.ts'
import { hashKept, type SyncAccessHandle, writeStream } from './access-handle-writes.ts'
import { createSha256 } from './hash.ts'
import { isContentHash } from './peer-input.ts'
import { concurrencyLimit } from './locks.ts'
import type { RemoteFileEndpoint, UploadedPart } from './remote-file-storage.ts'

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
  /**
   * Downloads `hash` from the server by itself, as `receive` would write it (continuing the kept
   * bytes). Where the storage runs in a worker, the bytes then go from the network to the disk
   * without crossing to the page. Optional: without it, the page downloads and calls `receive`.
   */
  download?(hash: string, from: RemoteFileEndpoint, options: { signal?: AbortSignal; onProgress?: (bytes: number) => void }): Promise<StoredFile>
  /** A disk-backed File: reading it does not load it into memory. */
  read(hash: string): Promise<File | undefined>
  exists(hash: string): Promise<boolean>
  /**
   * Records, beside the bytes of `hash`, the parts of its upload in parts that the server has
   * confirmed (replacing what was recorded; null forgets them). Written whole or not at all, so
   * that an upload interrupted by a reload or a crash sends only the parts not recorded.
   */
  keepParts(hash: string, kept: KeptParts | null): Promise<void>
  /** What `keepParts` recorded for `hash`, if anything (and readable). */
  partsOf(hash: string): Promise<KeptParts | undefined>
  /** Removes the copy of `hash`, any kept part of a download of it, and its kept upload parts. */
  remove(hash: string): Promise<void>
  /** Hashes of the complete files on disk. */
  list(): Promise<string[]>
  /**
   * Drops the leftovers of writes that never finished (a crash, a closed tab), the kept
   * downloads of content no longer wanted (any hash not in `keepDownloads`), and kept upload
   * parts of content no longer on disk.
   */
  removePartials(keepDownloads?: Iterable<string>): Promise<void>
}

export interface StoredFile {
  hash: string
  size: number
}

/** The parts of one upload in parts (`uploadId`) that the server confirmed. */
export interface KeptParts {
  uploadId: string
  parts: UploadedPart[]
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
const partsSuffix = '.parts'
const partialMaxAgeMs = 10 * 60_000

/**
 * The parts of the OPFS API this module uses that TypeScript's DOM types lack: `move`, and the
 * synchronous access handle (see access-handle-writes.ts), which exists in dedicated workers only.
 */
type OpfsFileHandle = FileSystemFileHandle & {
  createWritable(): Promise<{ write(data: string): Promise<void>; close(): Promise<void>; abort(): Promise<void> }>
  move(destination: FileSystemDirectoryHandle, name: string): Promise<void>
  createSyncAccessHandle(): Promise<SyncAccessHandle>
}

/**
 * OPFS implementation, for a dedicated worker (see local-file-worker.ts): it writes through
 * synchronous access handles, in place and at disk speed, so that a download interrupted by a
 * reload or a crash keeps what it received. Hashing happens there too, off the page's thread.
 * Files live in `<folder...>/<sha256>`, a folder of their own apart from LiveStore's databases
 * (e.g. `['files', storeId]`); `<sha256>.download` holds a download in progress,
 * `<uuid>.partial` a save in progress, and `<sha256>.parts` the confirmed parts of an upload.
 */
export const createOpfsFileStorage = ({ root, folder }: { root: () => Promise<FileSystemDirectoryHandle>; folder: readonly string[] }): LocalFileStorage => {
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
    if (!isContentHash(hash)) throw new FileError('bad-request', `Not a SHA-256 hash: ${hash}`)
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
    new FileError('integrity', `The received bytes do not match the file (expected SHA-256 ${expectedHash.slice(0, 12)}…, got ${hash.slice(0, 12)}…).`)

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

  const saves = concurrencyLimit(maxConcurrentWrites)
  const downloads = concurrencyLimit(maxConcurrentWrites)

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

    async keepParts(hash, kept) {
      checkHash(hash)
      if (kept === null) return removeEntry(`${hash}${partsSuffix}`)
      const handle = (await fileHandle(`${hash}${partsSuffix}`, true)) as OpfsFileHandle
      // A writable stream writes to a copy and replaces the file when closed: a crash in between
      // leaves the last record whole.
      const writable = await handle.createWritable().catch((error: unknown) => Promise.reject(toFileError(error)))
      try {
        await writable.write(JSON.stringify(kept))
        await writable.close()
      } catch (error) {
        await writable.abort().catch(() => {})
        throw toFileError(error)
      }
    },

    async partsOf(hash) {
      checkHash(hash)
      const handle = await fileHandle(`${hash}${partsSuffix}`)
      if (!handle) return undefined
      try {
        const kept = JSON.parse(await (await handle.getFile()).text()) as Partial<KeptParts>
        if (typeof kept.uploadId !== 'string' || !Array.isArray(kept.parts)) return undefined
        return { uploadId: kept.uploadId, parts: kept.parts.filter(isUploadedPart) }
      } catch {
        return undefined // unreadable: the parts are sent again
      }
    },

    async remove(hash) {
      checkHash(hash)
      await removeEntry(hash)
      await removeEntry(`${hash}${downloadSuffix}`)
      await removeEntry(`${hash}${partsSuffix}`)
    },

    async list() {
      return (await names()).filter(isContentHash)
    },

    async removePartials(keepDownloads = []) {
      const dir = await directory()
      const keep = new Set(keepDownloads)
      const now = Date.now()
      const all = await names()
      const complete = new Set(all.filter(isContentHash))
      for (const name of all) {
        if (name.endsWith(partialSuffix)) {
          // Another tab may be writing this one right now: its open access handle makes
          // removeEntry fail, and a recent modification time tells it apart from a crash's leftover.
          const file = await (await dir.getFileHandle(name)).getFile()
          if (now - file.lastModified < partialMaxAgeMs) continue
        } else if (name.endsWith(downloadSuffix)) {
          const hash = name.slice(0, -downloadSuffix.length)
          if (keep.has(hash) && !complete.has(hash)) continue
        } else if (name.endsWith(partsSuffix)) {
          if (complete.has(name.slice(0, -partsSuffix.length))) continue
        } else {
          continue
        }
        await dir.removeEntry(name).catch(() => {})
      }
    },
  }
}

const isUploadedPart = (part: unknown): part is UploadedPart =>
  typeof part === 'object' && part !== null && Number.isInteger((part as UploadedPart).partNumber) && typeof (part as UploadedPart).etag === 'string'
