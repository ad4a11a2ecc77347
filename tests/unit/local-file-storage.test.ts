import { describe, expect, test } from 'vitest'
import { createOpfsFileStorage, maxConcurrentWrites } from '../../src/file-sync/client/local-file-storage.ts'
import { bytesOf, sha256Of, textOn } from '../support/fakes.ts'
import { settle, waitFor } from '../support/wait.ts'

/**
 * The part of OPFS the storage uses, in memory: a folder tree whose files are written in place
 * through an access handle, which is exclusive (a second one fails, as another tab's would) and
 * keeps the file from being removed while it is open.
 */
class MemoryDirectory {
  /** Makes every write through a writable stream fail, as a full disk does. */
  diskFull = false
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
      createSyncAccessHandle: async () => {
        const file = entry()
        if (file.writing) throw new DOMException(`${name} is open elsewhere`, 'NoModificationAllowedError')
        file.writing = true
        return {
          read: (buffer: Uint8Array, { at }: { at: number }) => {
            const bytes = file.bytes.subarray(at, at + buffer.byteLength)
            buffer.set(bytes)
            return bytes.byteLength
          },
          write: (buffer: Uint8Array, { at }: { at: number }) => {
            if (at + buffer.byteLength > file.bytes.byteLength) {
              const grown = new Uint8Array(at + buffer.byteLength)
              grown.set(file.bytes)
              file.bytes = grown
            }
            file.bytes.set(buffer, at)
            file.lastModified = Date.now()
            return buffer.byteLength
          },
          truncate: (size: number) => void (file.bytes = file.bytes.slice(0, size)),
          getSize: () => file.bytes.byteLength,
          flush: () => {},
          close: () => void (file.writing = false),
        }
      },
      // Writes go to a copy, which replaces the file only when closed (as in the browser).
      createWritable: async () => {
        let copy = ''
        return {
          write: async (data: string) => {
            if (this.diskFull) throw new DOMException('The disk is full.', 'QuotaExceededError')
            copy += data
          },
          close: async () => {
            entry().bytes = new TextEncoder().encode(copy)
            entry().lastModified = Date.now()
          },
          abort: async () => {},
        }
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
    expect(await storage.put(new Blob(['hel', 'lo']))).toEqual({ hash, size: 5 })
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

  test('writes a few files at a time when many are saved at once, and saves them all', async () => {
    const { storage, names } = setup()
    const bodies = Array.from({ length: 3 * maxConcurrentWrites }, () => manualBody())
    const saved = bodies.map((body) => storage.put(body.stream))
    await waitFor(() => names().length === maxConcurrentWrites)
    await settle()
    expect(names()).toHaveLength(maxConcurrentWrites) // the others wait their turn
    bodies.forEach((body, index) => {
      body.controller.enqueue(bytesOf(`file ${index}`))
      body.controller.close()
    })
    expect(new Set((await Promise.all(saved)).map((file) => file.hash)).size).toBe(bodies.length)
    expect(await storage.list()).toHaveLength(bodies.length)
  })

  describe('the parts of an upload', () => {
    const kept = { uploadId: 'upload-1', parts: [{ partNumber: 1, etag: 'e1' }] }

    test('are kept beside the bytes, replaced whole, and forgotten', async () => {
      const { storage, names } = setup()
      const { hash } = await storage.put(new Blob(['a large file']))
      expect(await storage.partsOf(hash)).toBeUndefined()
      await storage.keepParts(hash, kept)
      const more = { ...kept, parts: [...kept.parts, { partNumber: 2, etag: 'e2' }] }
      await storage.keepParts(hash, more)
      expect(await storage.partsOf(hash)).toEqual(more)
      expect(await storage.list()).toEqual([hash])
      expect(names().sort()).toEqual([hash, `${hash}.parts`])
      await storage.keepParts(hash, null)
      expect(await storage.partsOf(hash)).toBeUndefined()
      expect(names()).toEqual([hash])
    })

    test('a record that cannot be written leaves the last one whole, and says why', async () => {
      const { storage, folder } = setup()
      const { hash } = await storage.put(new Blob(['a large file']))
      await storage.keepParts(hash, kept)
      const disk = folder()
      if (disk) disk.diskFull = true
      await expect(storage.keepParts(hash, { ...kept, parts: [] })).rejects.toMatchObject({ kind: 'storage-full' })
      expect(await storage.partsOf(hash)).toEqual(kept)
    })

    test('a record that is not one reads as none: its parts are sent again', async () => {
      const { storage, folder } = setup()
      const { hash } = await storage.put(new Blob(['a large file']))
      for (const text of ['{"uploadId":"u', '[]', '{"uploadId":1,"parts":[]}']) {
        folder()?.files.set(`${hash}.parts`, { bytes: bytesOf(text), lastModified: 0, writing: false })
        expect(await storage.partsOf(hash)).toBeUndefined()
      }
      await expect(storage.keepParts('../secrets', kept)).rejects.toMatchObject({ kind: 'bad-request' })
    })

    test('go with the bytes, and are dropped as leftovers once the bytes are gone', async () => {
      const { storage, names } = setup()
      const { hash } = await storage.put(new Blob(['a large file']))
      const { hash: other } = await storage.put(new Blob(['another one']))
      await storage.keepParts(hash, kept)
      await storage.keepParts(other, kept)
      await storage.remove(hash)
      expect(names()).not.toContain(`${hash}.parts`)
      await storage.keepParts(hash, kept) // as a crash between the removal and the record would leave it
      await storage.removePartials()
      expect(names().sort()).toEqual([other, `${other}.parts`].sort())
    })
  })

  describe('downloads', () => {
    const content = bytesOf('the whole content of a download')

    test('keeps what arrived before an interruption, and continues from there to a verified file', async () => {
      const { storage, names } = setup()
      const hash = await sha256Of(content)
      await expect(storage.receive(hash, erroring(content.slice(0, 10)), { offset: 0 })).rejects.toMatchObject({ kind: 'network' })
      expect(await storage.partialSize(hash)).toBe(10)
      expect(await storage.list()).toEqual([])
      expect(names()).toEqual([`${hash}.download`])

      expect(await storage.receive(hash, new Blob([content.slice(10)]).stream(), { offset: 10 })).toEqual({ hash, size: content.byteLength })
      expect(await textOn(storage, hash)).toBe('the whole content of a download')
      expect(names()).toEqual([hash])
      expect(await storage.partialSize(hash)).toBe(0)
    })

    test('starts afresh at offset 0, dropping what an earlier try kept', async () => {
      const { storage } = setup()
      const hash = await sha256Of(content)
      await storage.receive(hash, erroring(bytesOf('garbage bytes!')), { offset: 0 }).catch(() => {})
      expect(await storage.partialSize(hash)).toBe(14)
      await storage.receive(hash, new Blob([content]).stream(), { offset: 0 })
      expect(await textOn(storage, hash)).toBe('the whole content of a download')
    })

    test('checks the whole file, kept part included: a wrong prefix is dropped, so the next try starts from 0', async () => {
      const { storage, names } = setup()
      const hash = await sha256Of(content)
      await storage.receive(hash, erroring(bytesOf('THE WHOLE')), { offset: 0 }).catch(() => {})
      const error = await storage.receive(hash, new Blob([content.slice(9)]).stream(), { offset: 9 }).catch((error: unknown) => error)
      expect(error).toMatchObject({ kind: 'integrity' })
      expect(names()).toEqual([])
      expect(await storage.partialSize(hash)).toBe(0)
    })

    test('refuses to continue from further than what it kept', async () => {
      const { storage } = setup()
      const hash = await sha256Of(content)
      const error = await storage.receive(hash, new Blob([content.slice(5)]).stream(), { offset: 5 }).catch((error: unknown) => error)
      expect(error).toMatchObject({ kind: 'integrity' })
      expect(await storage.partialSize(hash)).toBe(0)
    })

    test('keeps the received part when cancelled, for the next try', async () => {
      const { storage } = setup()
      const hash = await sha256Of(content)
      const body = manualBody()
      const controller = new AbortController()
      const receiving = storage.receive(hash, body.stream, { offset: 0, signal: controller.signal }).catch((error: unknown) => error)
      body.controller.enqueue(content.slice(0, 7))
      await waitFor(async () => (await storage.partialSize(hash)) === 7)
      controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      expect(await receiving).toMatchObject({ kind: 'aborted' })
      expect(await storage.partialSize(hash)).toBe(7)
    })

    test('says busy while another tab writes the same download', async () => {
      const { storage } = setup()
      const hash = await sha256Of(content)
      const body = manualBody()
      const first = storage.receive(hash, body.stream, { offset: 0 })
      body.controller.enqueue(content.slice(0, 3))
      await waitFor(async () => (await storage.partialSize(hash)) === 3)
      const second = await storage.receive(hash, new Blob([content]).stream(), { offset: 0 }).catch((error: unknown) => error)
      expect(second).toMatchObject({ kind: 'busy', retryable: true })
      body.controller.enqueue(content.slice(3))
      body.controller.close()
      await expect(first).resolves.toEqual({ hash, size: content.byteLength })
    })

    test('removePartials keeps the downloads still wanted, and drops the others', async () => {
      const { storage, names } = setup()
      const wanted = await sha256Of(content)
      const unwanted = await sha256Of(bytesOf('deleted meanwhile'))
      await storage.receive(wanted, erroring(content.slice(0, 4)), { offset: 0 }).catch(() => {})
      await storage.receive(unwanted, erroring(bytesOf('dele')), { offset: 0 }).catch(() => {})
      await storage.removePartials([wanted])
      expect(names()).toEqual([`${wanted}.download`])
      await storage.remove(wanted)
      expect(names()).toEqual([])
    })
  })
})

/** A body that sends `bytes` and then breaks, as a dropped connection does. */
const erroring = (bytes: Uint8Array) => {
  let sent = false
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      // Erroring in the same call would drop the queued chunk unread.
      if (sent) controller.error(new TypeError('The connection was reset.'))
      else controller.enqueue(bytes)
      sent = true
    },
  })
}
