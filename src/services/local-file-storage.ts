import { FileError, toFileError } from './errors.ts'
import { hashingStream, isSha256Hex } from './hash.ts'

/**
 * Bytes on this device, addressed by their SHA-256. Two files with the same content share one
 * copy, and a new version of a file never overwrites the old one: it has another name.
 */
export interface LocalFileStorage {
  /**
   * Streams bytes to disk while hashing them. They become visible under their hash only once
   * complete, and only if the hash equals `expectedHash` when one is given: a truncated or
   * corrupted transfer never shows.
   */
  put(
    body: ReadableStream<Uint8Array>,
    options?: { expectedHash?: string; signal?: AbortSignal },
  ): Promise<{ hash: string; size: number }>
  /** A disk-backed File: reading it does not load it into memory. */
  read(hash: string): Promise<File | undefined>
  exists(hash: string): Promise<boolean>
  remove(hash: string): Promise<void>
  /** Hashes of the complete files on disk. */
  list(): Promise<string[]>
  /** Drops the leftovers of writes that never finished (a crash, a closed tab). */
  removePartials(): Promise<void>
}

const partialSuffix = '.partial'
const partialMaxAgeMs = 10 * 60_000

/** The subset of the OPFS API this module needs; `move` is missing from TypeScript's DOM types. */
type MovableFileHandle = FileSystemFileHandle & {
  move(destination: FileSystemDirectoryHandle, name: string): Promise<void>
}

/**
 * OPFS implementation. Files live in `<folder...>/<sha256>`, a folder of their own apart from
 * LiveStore's databases (e.g. `['files', storeId]`).
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

  const fileHandle = async (hash: string): Promise<FileSystemFileHandle | undefined> => {
    if (!isSha256Hex(hash)) throw new FileError('bad-request', `Not a SHA-256 hash: ${hash}`)
    try {
      return await (await directory()).getFileHandle(hash)
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

  const exists = async (hash: string) => (await fileHandle(hash)) !== undefined

  return {
    async put(body, { expectedHash, signal } = {}) {
      const dir = await directory()
      const partialName = `${crypto.randomUUID()}${partialSuffix}`
      const handle = (await dir.getFileHandle(partialName, { create: true })) as MovableFileHandle
      try {
        const hashing = await hashingStream()
        // createWritable writes to a swap file and commits on close; an abort discards it.
        const writable = await handle.createWritable()
        await body.pipeThrough(hashing.stream).pipeTo(writable, signal ? { signal } : {})
        const hash = hashing.digest()
        if (expectedHash !== undefined && hash !== expectedHash) {
          throw new FileError(
            'integrity',
            `The received bytes do not match the file (expected SHA-256 ${expectedHash.slice(0, 12)}…, got ${hash.slice(0, 12)}…).`,
          )
        }
        if (await exists(hash)) {
          await removeEntry(partialName)
        } else {
          await handle.move(dir, hash)
        }
        return { hash, size: hashing.bytes() }
      } catch (error) {
        await removeEntry(partialName).catch(() => {})
        throw toFileError(signal?.aborted ? (signal.reason ?? error) : error)
      }
    },

    async read(hash) {
      const handle = await fileHandle(hash)
      return handle ? await handle.getFile() : undefined
    },

    exists,

    async remove(hash) {
      if (!isSha256Hex(hash)) throw new FileError('bad-request', `Not a SHA-256 hash: ${hash}`)
      await removeEntry(hash)
    },

    async list() {
      return (await names()).filter(isSha256Hex)
    },

    async removePartials() {
      const dir = await directory()
      const now = Date.now()
      for (const name of (await names()).filter((name) => name.endsWith(partialSuffix))) {
        // Another tab may be writing this one right now: its open writable makes removeEntry
        // fail, and a recent modification time tells it apart from a crash's leftover.
        const file = await (await dir.getFileHandle(name)).getFile()
        if (now - file.lastModified < partialMaxAgeMs) continue
        await dir.removeEntry(name).catch(() => {})
      }
    },
  }
}
