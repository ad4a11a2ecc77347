import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { type AppStore, emptyLocalFileState, events, tables } from '../../src/livestore/schema.ts'
import { createFileIndex, type FileIndex } from '../../src/file-sync/client/file-index.ts'
import { trackSyncTotals } from '../../src/file-sync/client/sync-totals.ts'
import { createTestStore } from '../support/store.ts'
import { waitFor } from '../support/wait.ts'

let store: AppStore
let index: FileIndex | undefined

beforeEach(async () => {
  store = await createTestStore()
})
afterEach(async () => {
  index?.close()
  index = undefined
  await store.shutdownPromise()
})

const hashOf = (n: number) => n.toString(16).padStart(64, '0')
const created = (id: string, hash: string) => events.fileCreated({ id, name: `${id}.jpg`, mimeType: 'image/jpeg', size: 100, contentHash: hash, createdAt: 1 })

/** Commits `count` files in one commit, as a pick would. */
const addFiles = (count: number, from = 0) => store.commit(...Array.from({ length: count }, (_, n) => created(`f${from + n}`, hashOf(from + n))))

/**
 * Waits until LiveStore's leader has applied this session's commits. In Node it runs in this
 * realm, and its materializers report the files they write too: a test that counts reads waits
 * for it first. (In the browser it runs in a worker of its own, whose reports nobody hears.)
 */
const leaderCaughtUp = () => waitFor(() => store.syncStatus().pendingCount === 0)

/** The rows each query of the store returned, from now on. */
const countReads = () => {
  const rowsRead: number[] = []
  const query = store.query.bind(store)
  vi.spyOn(store, 'query').mockImplementation(((...args: Parameters<typeof query>) => {
    const result = query(...args)
    if (Array.isArray(result)) rowsRead.push(result.length)
    return result
  }) as typeof store.query)
  return rowsRead
}

/** Collects what each burst told the listeners. */
const listen = (fileIndex: FileIndex) => {
  const told: string[][] = []
  fileIndex.subscribe((changed) => told.push([...changed].sort()))
  return told
}

describe('createFileIndex', () => {
  test('holds every file and its state from the start', () => {
    addFiles(3)
    store.commit(tables.localFilesState.set({ localHash: hashOf(1) }, 'f1'))
    index = createFileIndex({ store })
    expect(index.size).toBe(3)
    expect(index.file('f2')?.contentHash).toBe(hashOf(2))
    expect(index.state('f1').localHash).toBe(hashOf(1))
    expect(index.state('f0')).toEqual(emptyLocalFileState)
    expect([...index.withContent(hashOf(0))]).toEqual(['f0'])
  })

  test('a change to a few files of a store of thousands reads those rows only, and tells of those only', async () => {
    addFiles(2_000)
    await leaderCaughtUp()
    index = createFileIndex({ store })
    const told = listen(index)
    const rowsRead = countReads()
    store.commit(events.fileDeleted({ id: 'f7', deletedAt: 5 }), tables.localFilesState.set({ localHash: hashOf(9) }, 'f9'), created('new', hashOf(5_000)))
    await waitFor(() => told.length > 0)
    await leaderCaughtUp()
    expect(told).toEqual([['f7', 'f9', 'new']])
    // Three files changed: no query returned more rows than that.
    expect(rowsRead.length).toBeGreaterThan(0)
    expect(Math.max(...rowsRead)).toBeLessThanOrEqual(3)
    expect(index.file('f7')?.deletedAt).toBe(5)
    expect(index.state('f9').localHash).toBe(hashOf(9))
    expect(index.size).toBe(2_001)
  })

  test('an upload reaches every file with that content: a twin, a conflict copy', async () => {
    const hash = hashOf(1)
    store.commit(created('a', hash), created('b', hash), created('other', hashOf(2)))
    index = createFileIndex({ store })
    const told = listen(index)
    store.commit(events.fileUploaded({ id: 'a', contentHash: hash, remoteKey: `store/${hash}` }))
    await waitFor(() => told.length === 1)
    expect(told).toEqual([['a', 'b']])
    expect(index.file('b')?.remoteKey).toBe(`store/${hash}`)
  })

  test('a new content moves a file from one content to the other', async () => {
    store.commit(created('a', hashOf(1)))
    index = createFileIndex({ store })
    const told = listen(index)
    store.commit(events.fileUpdated({ id: 'a', name: 'a.jpg', mimeType: 'image/jpeg', size: 5, contentHash: hashOf(2), updatedAt: 2, previousHash: hashOf(1) }))
    await waitFor(() => told.length === 1)
    expect([...index.withContent(hashOf(1))]).toEqual([])
    expect([...index.withContent(hashOf(2))]).toEqual(['a'])
  })

  test('tells nothing when a write changed nothing, and nothing of another store', async () => {
    store.commit(created('a', hashOf(1)), tables.localFilesState.set({ localHash: hashOf(1) }, 'a'))
    index = createFileIndex({ store })
    const told = listen(index)
    const other = await createTestStore()
    try {
      other.commit(created('elsewhere', hashOf(3)))
      store.commit(tables.localFilesState.set({ localHash: hashOf(1) }, 'a'))
      store.commit(created('b', hashOf(2)))
      await waitFor(() => told.length === 1)
      expect(told).toEqual([['b']])
      expect(index.file('elsewhere')).toBeUndefined()
    } finally {
      await other.shutdownPromise()
    }
  })
})

describe('trackSyncTotals', () => {
  test('keeps where the files are, file by file, as they change', async () => {
    store.commit(created('up', hashOf(1)), created('down', hashOf(2)), tables.localFilesState.set({ localHash: hashOf(1) }, 'up'))
    store.commit(events.fileUploaded({ id: 'down', contentHash: hashOf(2), remoteKey: `s/${hashOf(2)}` }))
    index = createFileIndex({ store })
    const totals = trackSyncTotals(index)
    expect(totals.current()).toEqual({ files: 2, here: 1, onServer: 1, upload: { files: 1, bytes: 100 }, download: { files: 1, bytes: 100 } })
    let heard = 0
    totals.subscribe(() => (heard += 1))
    store.commit(
      events.fileUploaded({ id: 'up', contentHash: hashOf(1), remoteKey: `s/${hashOf(1)}` }),
      tables.localFilesState.set({ localHash: hashOf(2) }, 'down'),
    )
    await waitFor(() => heard === 1)
    expect(totals.current()).toEqual({ files: 2, here: 2, onServer: 2, upload: { files: 0, bytes: 0 }, download: { files: 0, bytes: 0 } })
    // A running transfer's moved bytes are taken off what is left.
    store.commit(events.fileDeleted({ id: 'up', deletedAt: 3 }), created('third', hashOf(3)), tables.localFilesState.set({ localHash: hashOf(3) }, 'third'))
    await waitFor(() => heard === 2)
    expect(totals.current(new Map([['third', 40]]))).toEqual({
      files: 2,
      here: 2,
      onServer: 1,
      upload: { files: 1, bytes: 60 },
      download: { files: 0, bytes: 0 },
    })
    totals.close()
  })
})
