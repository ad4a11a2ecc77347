import { describe, expect, test } from 'vitest'
import { createOpfsFileStorage } from '../../src/services/local-file-storage.ts'
import { bytesOf, sha256Of, textOn } from '../support/fakes.ts'
import { waitFor } from '../support/wait.ts'

/**
 * The part of OPFS the storage uses, in memory: a folder tree whose files are written through a
 * swap copy that replaces the file on close, and which cannot be removed while being written.
 */
class MemoryDirectory {
  readonly files = new Map<string, { bytes: Uint8Array<ArrayBuffer>; lastModified: number; writing: boolean }>()
  readonly folders = new Map<string, MemoryDirectory>()

  async getDirectoryHandle(name: string, { create = false } = {}) {
    let folder = this.folders.get(name)
    if (!folder && !create) throw new DOMException(`No folder ${name}`, 'NotFoundError')
    folder ??= new MemoryDirectory()
    this.folders.set(name, folder)
    return folder
  }

  async getFileHandle(name: string, { create = false } = {}) {
    if (!this.files.has(name)) {
      if (!create) throw new DOMException(`No file ${name}`, 'NotFoundError')
      this.files.set(name, { bytes: new Uint8Array(), lastModified: Date.now(), writing: false })
    }
    return this.handle(name)
  }

  async removeEntry(name: string) {
    const file = this.files.get(name)
    if (!file) throw new DOMException(`No file ${name}`, 'NotFoundError')
    if (file.writing) throw new DOMException(`${name} is being written`, 'NoModificationAllowedError')
    this.files.delete(name)
  }

  async *keys() {
    yield* [...this.files.keys()]
  }

  private handle(initialName: string) {
    let name = initialName
    const entry = () => {
      const file = this.files.get(name)
      if (!file) throw new DOMException(`No file ${name}`, 'NotFoundError')
      return file
    }
    return {
      getFile: async () => new File([entry().bytes], name, { lastModified: entry().lastModified }),
      createWritable: async () => {
        entry().writing = true
        const chunks: Uint8Array[] = []
        const done = () => void (entry().writing = false)
        return new WritableStream<Uint8Array>({
          write: (chunk) => void chunks.push(chunk.slice()),
          close: () => {
            entry().bytes = new Uint8Array(Buffer.concat(chunks))
            entry().lastModified = Date.now()
            done()
          },
          abort: done,
        })
      },
      move: async (directory: MemoryDirectory, newName: string) => {
        directory.files.set(newName, entry())
        this.files.delete(name)
        name = newName
      },
    }
  }
}

const setup = () => {
  const root = new MemoryDirectory()
  let rootCalls = 0
  const storage = createOpfsFileStorage({
    // The fake has only the members this module uses: cast once, at the boundary.
    root: async () => {
      rootCalls += 1
      return root as unknown as FileSystemDirectoryHandle
    },
    folder: ['files', 'store-1'],
  })
  const folder = () => root.folders.get('files')?.folders.get('store-1')
  const names = () => [...(folder()?.files.keys() ?? [])]
  return { storage, folder, names, rootCalls: () => rootCalls }
}

/** A body the test feeds chunk by chunk. */
const manualBody = () => {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
  return { stream, controller }
}

describe('createOpfsFileStorage', () => {
  test('stores bytes under their SHA-256 in its own folder, and reads them back', async () => {
    const { storage, names } = setup()
    const hash = await sha256Of(bytesOf('hello'))
    expect(await storage.put(new Blob(['hel', 'lo']).stream())).toEqual({ hash, size: 5 })
    expect(names()).toEqual([hash])
    expect(await storage.exists(hash)).toBe(true)
    expect(await textOn(storage, hash)).toBe('hello')
    expect(await storage.list()).toEqual([hash])
  })

  test('shows nothing of a write until it is complete', async () => {
    const { storage, names } = setup()
    const body = manualBody()
    const written = storage.put(body.stream)
    body.controller.enqueue(bytesOf('half'))
    await waitFor(() => names().length === 1)
    expect(names()[0]).toMatch(/\.partial$/)
    expect(await storage.list()).toEqual([])
    expect(await storage.exists(await sha256Of(bytesOf('half')))).toBe(false)
    body.controller.enqueue(bytesOf(' and the rest'))
    body.controller.close()
    const { hash } = await written
    expect(await storage.list()).toEqual([hash])
    expect(names()).toEqual([hash])
  })

  test('refuses bytes that do not match expectedHash, and leaves nothing behind', async () => {
    const { storage, names } = setup()
    const expectedHash = await sha256Of(bytesOf('expected'))
    const error = await storage.put(new Blob(['received']).stream(), { expectedHash }).catch((error: unknown) => error)
    expect(error).toMatchObject({ kind: 'integrity' })
    expect(names()).toEqual([])
  })

  test('stops a write when its signal aborts, and leaves nothing behind', async () => {
    const { storage, names } = setup()
    const body = manualBody()
    const controller = new AbortController()
    const written = storage.put(body.stream, { signal: controller.signal }).catch((error: unknown) => error)
    body.controller.enqueue(bytesOf('some'))
    await waitFor(() => names().length === 1)
    controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
    expect(await written).toMatchObject({ kind: 'aborted' })
    expect(names()).toEqual([])
  })

  test('keeps one copy of the same content written twice', async () => {
    const { storage, names } = setup()
    const first = await storage.put(new Blob(['twice']).stream())
    const second = await storage.put(new Blob(['twice']).stream())
    expect(second).toEqual(first)
    expect(names()).toEqual([first.hash])
  })

  test('removes a copy, and does not mind one that is already gone', async () => {
    const { storage } = setup()
    const { hash } = await storage.put(new Blob(['bye']).stream())
    await storage.remove(hash)
    expect(await storage.read(hash)).toBeUndefined()
    await expect(storage.remove(hash)).resolves.toBeUndefined()
  })

  test('refuses a name that is not a SHA-256 hash, so that no path can be made up', async () => {
    const { storage } = setup()
    for (const call of [storage.read, storage.exists, storage.remove]) {
      await expect(call('../secrets')).rejects.toMatchObject({ kind: 'bad-request' })
    }
  })

  test('lists only complete files, not partials or anything else in the folder', async () => {
    const { storage, folder } = setup()
    const { hash } = await storage.put(new Blob(['kept']).stream())
    folder()?.files.set('notes.txt', { bytes: new Uint8Array(), lastModified: 0, writing: false })
    folder()?.files.set('abc.partial', { bytes: new Uint8Array(), lastModified: 0, writing: false })
    expect(await storage.list()).toEqual([hash])
  })

  test('removes partials left by a crash, but not recent ones or ones still being written', async () => {
    const { storage, folder, names } = setup()
    const elevenMinutesAgo = Date.now() - 11 * 60_000
    const body = manualBody()
    const written = storage.put(body.stream)
    await waitFor(() => names().length === 1)
    const [writing] = names()
    const files = folder()?.files
    if (!files || !writing) throw new Error('The write did not start')
    const old = files.get(writing)
    if (old) old.lastModified = elevenMinutesAgo
    files.set('crash.partial', { bytes: bytesOf('left over'), lastModified: elevenMinutesAgo, writing: false })
    files.set('recent.partial', { bytes: bytesOf('another tab'), lastModified: Date.now(), writing: false })
    await storage.removePartials()
    expect(names().sort()).toEqual(['recent.partial', writing].sort())
    body.controller.close()
    const { hash } = await written
    expect(await storage.list()).toEqual([hash])
  })

  test('opens its folder once, creating it when missing', async () => {
    const { storage, folder, rootCalls } = setup()
    await Promise.all([storage.list(), storage.exists('e'.repeat(64))])
    await storage.list()
    expect(folder()).toBeDefined()
    expect(rootCalls()).toBe(1)
  })
})
