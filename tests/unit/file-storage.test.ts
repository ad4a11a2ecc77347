import { queryDb } from '@livestore/livestore'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { type AppStore, events, tables } from '../../src/livestore/schema.ts'
import { FileError } from '../../src/file-sync/client/errors.ts'
import { createFileStorage, type FileStorageOptions, fileUrl, formatBytes, formatDuration } from '../../src/file-sync/client/file-storage.ts'
import type { PickedFile, PickJournal } from '../../src/file-sync/client/pick-journal.ts'
import { bytesOf, createMemoryFileStorage, type MemoryFileStorage, sha256Of, textOn } from '../support/fakes.ts'
import { createTestStore, fileRow, localState } from '../support/store.ts'

describe('createFileStorage', () => {
  let store: AppStore
  let local: MemoryFileStorage

  beforeEach(async () => {
    store = await createTestStore()
    local = createMemoryFileStorage()
  })

  afterEach(async () => {
    await store.shutdownPromise()
  })

  const setup = (options: Partial<FileStorageOptions> = {}) => {
    let ids = 0
    return createFileStorage({ store, local, now: () => 1_000, newId: () => `file-${++ids}`, ...options })
  }

  const galleryItems$ = queryDb(tables.galleryItems.where({}), { label: 'test.galleryItems' })

  describe('saveFile', () => {
    test('writes the bytes under their hash and records the file and this device’s copy', async () => {
      const storage = setup()
      const id = await storage.saveFile(new File([bytesOf('hello')], 'hello.txt', { type: 'text/plain' }))
      const hash = await sha256Of(bytesOf('hello'))
      expect(id).toBe('file-1')
      expect(await textOn(local, hash)).toBe('hello')
      expect(fileRow(store, id)).toEqual({
        id,
        name: 'hello.txt',
        mimeType: 'text/plain',
        size: 5,
        contentHash: hash,
        remoteKey: '',
        createdAt: 1_000,
        updatedAt: 1_000,
        deletedAt: null,
        conflictOf: '',
        previewId: '',
        previewOf: '',
      })
      expect(localState(store, id)).toMatchObject({ localHash: hash, upload: 'idle', download: 'idle', lastError: '' })
    })

    test('names a Blob without a name or type Untitled, application/octet-stream', async () => {
      const id = await setup().saveFile(new Blob(['x']))
      expect(fileRow(store, id)).toMatchObject({ name: 'Untitled', mimeType: 'application/octet-stream' })
    })

    test('commits the app’s own events in the same commit, so no one sees the file without them', async () => {
      const storage = setup()
      const sightings: Array<{ files: number; items: number }> = []
      const unsubscribe = store.subscribe(queryDb(tables.files.where({}), { label: 'test.files' }), (files) =>
        sightings.push({ files: files.length, items: store.query(galleryItems$).length }),
      )
      const id = await storage.saveFile(new Blob(['picture'], { type: 'image/png' }), {
        alsoCommit: (fileId) => [events.galleryItemAdded({ id: 'item-1', fileId, addedAt: 1_000 })],
      })
      unsubscribe()
      expect(store.query(galleryItems$)).toEqual([{ id: 'item-1', fileId: id, addedAt: 1_000, removedAt: null }])
      expect(sightings).toEqual([
        { files: 0, items: 0 },
        { files: 1, items: 1 },
      ])
    })

    test('keeps one copy of content saved twice, as two files', async () => {
      const storage = setup()
      const first = await storage.saveFile(new Blob(['same']))
      const second = await storage.saveFile(new Blob(['same']))
      expect(first).not.toBe(second)
      expect(fileRow(store, first)?.contentHash).toBe(fileRow(store, second)?.contentHash)
      expect(await local.list()).toHaveLength(1)
    })

    test('refuses a file over maxFileBytes before writing a byte, saying how large is allowed', async () => {
      const storage = setup({ maxFileBytes: 1024 })
      const error = await storage.saveFile(new File([new Uint8Array(2048)], 'big.bin')).catch((error: unknown) => error)
      expect(error).toBeInstanceOf(FileError)
      expect(error).toMatchObject({ kind: 'too-large', message: '"big.bin" is 2.0 KB; files up to 1.0 KB can be added.' })
      expect(local.puts).toBe(0)
      expect(await local.list()).toEqual([])
      expect(store.query(queryDb(tables.files.where({}), { label: 'test.files' }))).toEqual([])
    })

    test('accepts a file of exactly maxFileBytes', async () => {
      const id = await setup({ maxFileBytes: 4 }).saveFile(new Blob(['four']))
      expect(fileRow(store, id)?.size).toBe(4)
    })
  })

  describe('saveFiles', () => {
    /** A journal in memory: picks noted, and which were ended and how (see pick-journal.ts for the page's). */
    const memoryJournal = () => {
      const picks: Array<{ files: PickedFile[]; ended?: { saved: boolean } }> = []
      const journal: PickJournal = {
        async begin(files) {
          const pick: (typeof picks)[number] = { files: [...files] }
          picks.push(pick)
          return { end: (outcome) => void (pick.ended = outcome) }
        },
        async takeUnfinished() {
          return picks
            .splice(0)
            .filter((pick) => pick.ended?.saved !== true)
            .flatMap((pick) => pick.files)
        },
      }
      return { journal, picks }
    }

    test('saves a pick of many files in a few commits, each file with its own events, and notes the pick until it is saved', async () => {
      const { journal, picks } = memoryJournal()
      const storage = setup({ picks: journal })
      const files = Array.from({ length: 60 }, (_, index) => new File([bytesOf(`photo ${index}`)], `photo ${index}.jpg`, { type: 'image/jpeg' }))
      const commits = vi.spyOn(store, 'commit')
      const results = await storage.saveFiles(files, {
        alsoCommit: (fileId) => [events.galleryItemAdded({ id: `item-${fileId}`, fileId, addedAt: 1 })],
      })
      expect(results.map((result) => result.status)).toEqual(files.map(() => 'fulfilled'))
      const ids = results.map((result) => (result.status === 'fulfilled' ? result.value : ''))
      for (const [index, id] of ids.entries()) expect(fileRow(store, id)?.name).toBe(`photo ${index}.jpg`)
      expect(store.query(galleryItems$)).toHaveLength(60)
      // The first save at once, the rest together while it was being made: not 60 commits.
      expect(commits.mock.calls.length).toBeLessThanOrEqual(3)
      // Noted before its first byte, with the ids the files got; ended saved, so forgotten.
      expect(picks[0]?.files.map((file) => file.id)).toEqual(ids)
      expect(picks[0]?.ended).toEqual({ saved: true })
      expect(await storage.unsavedFiles()).toEqual([])
    })

    test('a batch is all or nothing: when its commit fails, every file of it fails and none is in the store', async () => {
      const storage = setup()
      const realCommit = store.commit.bind(store)
      vi.spyOn(store, 'commit').mockImplementationOnce(() => {
        throw new Error('the store refused the commit')
      })
      const results = await storage.saveFiles(['one', 'two', 'three'].map((name) => new File([bytesOf(name)], `${name}.txt`)))
      const failed = results.filter((result) => result.status === 'rejected').length
      const saved = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
      // The first batch (at least the first file) failed whole; what came after went in the next.
      expect(failed).toBeGreaterThan(0)
      expect(
        store
          .query(tables.files.where({}))
          .map((file) => file.id)
          .sort(),
      ).toEqual(saved.sort())
      vi.mocked(store.commit).mockImplementation(realCommit)
    })

    test('a save whose bytes cannot be written again fails alone; the rest of its batch is saved', async () => {
      // The removal of an older file with the same content took the bytes between the write and the commit.
      const storage = setup()
      const put = local.put.bind(local)
      let writes = 0
      vi.spyOn(local, 'put').mockImplementation(async (body, options) => {
        const write = (writes += 1)
        const stored = await put(body, options)
        if (options?.expectedHash !== undefined) throw new FileError('storage-full', 'The disk is full.')
        if (write === 1) await local.remove(stored.hash)
        return stored
      })
      const results = await storage.saveFiles(['gone', 'kept'].map((name) => new File([bytesOf(name)], `${name}.txt`)))
      expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled'])
      expect(store.query(tables.files.where({})).map((file) => file.name)).toEqual(['kept.txt'])
    })

    test('names the files of a pick that a page left unfinished and that are not in the store', async () => {
      const { journal } = memoryJournal()
      // A page noted a pick and went away after saving one of its two files.
      const pick = await journal.begin([
        { id: 'saved-one', name: 'saved.jpg', size: 5 },
        { id: 'lost-one', name: 'lost.jpg', size: 7 },
      ])
      void pick
      store.commit(events.fileCreated({ id: 'saved-one', name: 'saved.jpg', mimeType: 'image/jpeg', size: 5, contentHash: 'a'.repeat(64), createdAt: 1 }))
      const storage = setup({ picks: journal })
      expect(await storage.unsavedFiles()).toEqual([{ id: 'lost-one', name: 'lost.jpg', size: 7 }])
      expect(await storage.unsavedFiles()).toEqual([])
    })
  })

  describe('updateFile', () => {
    test('gives the file its new content and hash, not uploaded yet, and keeps the old bytes', async () => {
      const storage = setup({ now: () => 2_000 })
      const id = await storage.saveFile(new File(['v1'], 'notes.txt', { type: 'text/plain' }))
      const oldHash = fileRow(store, id)?.contentHash ?? ''
      store.commit(
        events.fileUploaded({ id, contentHash: oldHash, remoteKey: `store/${oldHash}` }),
        tables.localFilesState.set({ upload: 'failed', uploadAttempts: 3, lastError: 'Too large.' }, id),
      )
      await storage.updateFile(id, new File(['version 2'], 'notes-v2.md', { type: 'text/markdown' }))
      const newHash = await sha256Of(bytesOf('version 2'))
      expect(fileRow(store, id)).toMatchObject({
        name: 'notes-v2.md',
        mimeType: 'text/markdown',
        size: 9,
        contentHash: newHash,
        remoteKey: '',
        updatedAt: 2_000,
      })
      expect(localState(store, id)).toMatchObject({ localHash: newHash, upload: 'idle', uploadAttempts: 0, lastError: '' })
      expect(await textOn(local, newHash)).toBe('version 2')
      expect(await textOn(local, oldHash)).toBe('v1')
    })

    test('edits the version it saw: another edit landing meanwhile is kept as a conflict copy', async () => {
      const storage = setup({ now: () => 3_000 })
      const id = await storage.saveFile(new File(['v1'], 'notes.txt', { type: 'text/plain' }))
      const seen = fileRow(store, id)?.contentHash ?? ''
      const theirs = await sha256Of(bytesOf('their version'))
      // Another device's edit of the same version arrives while this device writes its bytes.
      const put = local.put
      local.put = async (body, options) => {
        store.commit(events.fileUpdated({ id, name: 'notes.txt', mimeType: 'text/plain', size: 13, contentHash: theirs, updatedAt: 2_000, previousHash: seen }))
        return put(body, options)
      }
      await storage.updateFile(id, new File(['my version'], 'notes.txt', { type: 'text/plain' }))
      const mine = await sha256Of(bytesOf('my version'))
      const files = store.query(queryDb(tables.files.where({}).orderBy('id', 'asc'), { label: 'test.files' }))
      expect(files.map((file) => ({ id: file.id, name: file.name, contentHash: file.contentHash, conflictOf: file.conflictOf }))).toEqual([
        { id, name: 'notes.txt', contentHash: mine, conflictOf: '' },
        { id: `${id}~${theirs.slice(0, 16)}`, name: 'notes (conflict copy).txt', contentHash: theirs, conflictOf: id },
      ])
    })

    test('refuses a file that was deleted or never existed, writing nothing', async () => {
      const storage = setup()
      const id = await storage.saveFile(new Blob(['v1']))
      storage.deleteFile(id)
      const writesBefore = local.puts
      for (const fileId of [id, 'unknown']) {
        const error = await storage.updateFile(fileId, new Blob(['v2'])).catch((error: unknown) => error)
        expect(error).toMatchObject({ kind: 'not-found' })
      }
      expect(local.puts).toBe(writesBefore)
    })

    test('refuses new content over maxFileBytes and leaves the file as it was', async () => {
      const storage = setup({ maxFileBytes: 4 })
      const id = await storage.saveFile(new Blob(['v1']))
      const before = fileRow(store, id)
      await expect(storage.updateFile(id, new Blob(['too long']))).rejects.toMatchObject({ kind: 'too-large' })
      expect(fileRow(store, id)).toEqual(before)
    })
  })

  describe('whenIdle', () => {
    /** A file whose bytes arrive when the test says so. */
    const gatedFile = (text: string) => {
      let release = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      const stream = () =>
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await gate
            controller.enqueue(bytesOf(text))
            controller.close()
          },
        })
      return { file: Object.assign(new Blob([text]), { name: 'slow.txt', stream }), release }
    }

    test('waits for a save that is between its first byte and its commit', async () => {
      const storage = setup()
      await storage.whenIdle()
      const { file, release } = gatedFile('slow')
      const saving = storage.saveFile(file)
      let idle = false
      const waiting = storage.whenIdle().then(() => (idle = true))
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(idle).toBe(false)
      release()
      const id = await saving
      await waiting
      expect(fileRow(store, id)?.name).toBe('slow.txt')
    })

    test('ends with a save that fails too', async () => {
      const storage = setup({ maxFileBytes: 2 })
      await expect(storage.saveFile(new Blob(['too large']))).rejects.toThrow(FileError)
      await storage.whenIdle()
    })
  })

  describe('deleteFile', () => {
    test('marks the file deleted but keeps its row and bytes, for sync to act on', async () => {
      const storage = setup({ now: () => 5_000 })
      const id = await storage.saveFile(new Blob(['bye']))
      const hash = fileRow(store, id)?.contentHash ?? ''
      storage.deleteFile(id, { alsoCommit: [events.galleryItemRemoved({ id: 'item-1', removedAt: 5_000 })] })
      expect(fileRow(store, id)?.deletedAt).toBe(5_000)
      expect(await local.exists(hash)).toBe(true)
    })

    test('commits the app’s own events with it', async () => {
      const storage = setup()
      const id = await storage.saveFile(new Blob(['x']), {
        alsoCommit: (fileId) => [events.galleryItemAdded({ id: 'item-1', fileId, addedAt: 1 })],
      })
      storage.deleteFile(id, { alsoCommit: [events.galleryItemRemoved({ id: 'item-1', removedAt: 2 })] })
      expect(store.query(galleryItems$)[0]?.removedAt).toBe(2)
    })
  })

  describe('restoreFile', () => {
    const grace = 60_000

    /** A storage whose clock the test moves, and a file saved at 1 000 and deleted at 2 000 with its gallery item. */
    const deletedFile = async () => {
      let time = 1_000
      const storage = setup({ now: () => time, deleteGraceMs: grace })
      const id = await storage.saveFile(new Blob(['undo me']), {
        alsoCommit: (fileId) => [events.galleryItemAdded({ id: 'item-1', fileId, addedAt: time })],
      })
      time = 2_000
      storage.deleteFile(id, { alsoCommit: [events.galleryItemRemoved({ id: 'item-1', removedAt: time })] })
      return { storage, id, setTime: (at: number) => (time = at) }
    }

    test('brings the file back with the app’s own events, in one commit, while the grace period lasts', async () => {
      const { storage, id, setTime } = await deletedFile()
      setTime(2_000 + grace - 1)
      const sightings: Array<{ deletedAt: number | null | undefined; removedAt: number | null | undefined }> = []
      const unsubscribe = store.subscribe(queryDb(tables.files.where({}), { label: 'test.files' }), (files) =>
        sightings.push({ deletedAt: files[0]?.deletedAt, removedAt: store.query(galleryItems$)[0]?.removedAt }),
      )
      storage.restoreFile(id, { alsoCommit: [events.galleryItemRestored({ id: 'item-1', restoredAt: 3_000 })] })
      unsubscribe()
      expect(fileRow(store, id)?.deletedAt).toBeNull()
      expect(store.query(galleryItems$)[0]?.removedAt).toBeNull()
      expect(sightings).toEqual([
        { deletedAt: 2_000, removedAt: 2_000 },
        { deletedAt: null, removedAt: null },
      ])
      // The content and the upload state are as they were: the file sync takes it from there.
      expect(fileRow(store, id)).toMatchObject({ contentHash: await sha256Of(bytesOf('undo me')), updatedAt: 1_000 })
    })

    test('refuses a file that never existed or is not deleted, saying so, and commits nothing', async () => {
      const { storage, id } = await deletedFile()
      storage.restoreFile(id)
      const before = fileRow(store, id)
      expect(() => storage.restoreFile('unknown')).toThrow(expect.objectContaining({ kind: 'not-found', message: 'This file does not exist.' }))
      expect(() => storage.restoreFile(id)).toThrow(expect.objectContaining({ kind: 'bad-request', message: '"Untitled" is not deleted.' }))
      expect(fileRow(store, id)).toEqual(before)
    })

    test('refuses a file whose grace period is over, since its bytes may be gone', async () => {
      const { storage, id, setTime } = await deletedFile()
      setTime(2_000 + grace)
      expect(() => storage.restoreFile(id)).toThrow(FileError)
      expect(() => storage.restoreFile(id)).toThrow(
        expect.objectContaining({ kind: 'not-found', message: '"Untitled" was deleted more than 1 minute ago: it can no longer be restored.' }),
      )
      expect(fileRow(store, id)?.deletedAt).toBe(2_000)
    })
  })
})

describe('fileUrl', () => {
  test('names the content and its type, escaping both the store and the type', () => {
    const hash = 'd'.repeat(64)
    expect(fileUrl('my store', { contentHash: hash, mimeType: 'image/svg+xml' })).toBe(`/files/my%20store/${hash}?type=image%2Fsvg%2Bxml`)
  })
})

describe('formatDuration', () => {
  test.each([
    [86_400_000, '1 day'],
    [2 * 86_400_000, '2 days'],
    [3_600_000, '1 hour'],
    [90 * 60_000, '90 minutes'],
    [3_000, '3 seconds'],
    [1_000, '1 second'],
    [0, '0 seconds'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('formatBytes', () => {
  test.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [1536, '1.5 KB'],
    [10 * 1024, '10 KB'],
    [100 * 1024 * 1024, '100 MB'],
    [3 * 1024 ** 3, '3.0 GB'],
    [2048 * 1024 ** 4, '2048 TB'],
  ])('%i bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })
})
