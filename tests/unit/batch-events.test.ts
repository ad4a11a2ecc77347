import { afterEach, describe, expect, test } from 'vitest'
import { type AppEvent, type AppStore, batchKinds, events, maxBatchedFacts, tables } from '../../src/livestore/schema.ts'
import { batchEvents } from '../../src/file-sync/client/batch-events.ts'
import { createFileIndex } from '../../src/file-sync/client/file-index.ts'
import { createTestStore } from '../support/store.ts'

const stores: AppStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.shutdownPromise()))
})
const newStore = async () => {
  const store = await createTestStore()
  stores.push(store)
  return store
}

const hashOf = (n: number) => n.toString(16).padStart(64, '0')
const created = (n: number, hash = hashOf(n)) =>
  events.fileCreated({ id: `f${n}`, name: `f${n}.jpg`, mimeType: 'image/jpeg', size: 100 + n, contentHash: hash, createdAt: n })
const uploaded = (n: number, hash = hashOf(n)) => events.fileUploaded({ id: `f${n}`, contentHash: hash, remoteKey: `s/${hash}` })
const lost = (hash: string) => events.fileRemoteLost({ contentHash: hash, foundAt: 5 })
const state = (n: number, value: Parameters<typeof tables.localFilesState.set>[0]) => tables.localFilesState.set(value, `f${n}`)
const galleryAdded = (n: number) => events.galleryItemAdded({ id: `item-f${n}`, fileId: `f${n}`, addedAt: n })

const namesOf = (commit: AppEvent[]) => commit.map((event) => (event as { name: string }).name)
const argsOf = (event: AppEvent) => (event as { args: Record<string, unknown[]> }).args

/** Everything a person or the sync could read back: every row of every table this commit writes. */
const snapshot = (store: AppStore) => ({
  files: store.query(tables.files.orderBy('id', 'asc')),
  gallery: store.query(tables.galleryItems.orderBy('id', 'asc')),
  states: store.query(tables.localFilesState.orderBy('id', 'asc')),
})

/** The same facts committed one event each and batched: the stores must read the same. */
const expectSameOutcome = async (facts: AppEvent[]) => {
  const one = await newStore()
  const batched = await newStore()
  one.commit(...facts)
  batched.commit(...batchEvents(facts, { kinds: batchKinds }))
  expect(snapshot(batched)).toEqual(snapshot(one))
  return snapshot(batched)
}

describe('batchEvents', () => {
  test("a pick's facts become one event of each kind, and the store reads as if they were committed one by one", async () => {
    const facts = [1, 2, 3].flatMap((n) => [created(n), state(n, { localHash: hashOf(n) }), galleryAdded(n)])
    const batch = batchEvents(facts, { kinds: batchKinds })
    expect(namesOf(batch)).toEqual([events.filesCreated.name, events.localFileStatesSet.name, events.galleryItemsAdded.name])
    expect(argsOf(batch[0]!).files).toHaveLength(3)

    const outcome = await expectSameOutcome(facts)
    expect(outcome.files.map((file) => file.id)).toEqual(['f1', 'f2', 'f3'])
    expect(outcome.gallery.map((item) => item.fileId)).toEqual(['f1', 'f2', 'f3'])
    expect(outcome.states.map((row) => row.value.localHash)).toEqual([hashOf(1), hashOf(2), hashOf(3)])
  })

  test('keeps the order of facts on the same table: an upload, its loss and an upload again', async () => {
    const setup = [created(1), created(2), created(3, hashOf(2))]
    // Committed one by one, f2 and f3 (the same content) end uploaded: the last upload wins.
    const facts = [uploaded(1), uploaded(2), lost(hashOf(2)), uploaded(3, hashOf(2))]
    const batch = batchEvents(facts, { kinds: batchKinds })
    expect(namesOf(batch)).toEqual([events.filesUploaded.name, events.fileRemoteLost.name, events.fileUploaded.name])

    const one = await newStore()
    const batched = await newStore()
    one.commit(...setup, ...facts)
    batched.commit(...setup, ...batchEvents(facts, { kinds: batchKinds }))
    expect(snapshot(batched)).toEqual(snapshot(one))
    expect(snapshot(batched).files.map((file) => file.remoteKey)).toEqual([`s/${hashOf(1)}`, `s/${hashOf(2)}`, `s/${hashOf(2)}`])
  })

  test('a fact does not move before another of its table: a file created after an upload of its content stays not uploaded', async () => {
    // One by one, f2 comes after the upload of its content: its row says it is not uploaded (its
    // device uploads it, and the server says it has it). Moved before the upload, it would say
    // uploaded.
    const facts = [created(1), uploaded(1), created(2, hashOf(1))]
    expect(namesOf(batchEvents(facts, { kinds: batchKinds }))).toEqual([events.fileCreated.name, events.fileUploaded.name, events.fileCreated.name])
    const outcome = await expectSameOutcome(facts)
    expect(outcome.files.map((file) => file.remoteKey)).toEqual([`s/${hashOf(1)}`, ''])
  })

  test("two states of one file in a batch apply in order, each merged into the last, as LiveStore's own set does", async () => {
    const facts = [
      state(1, { upload: 'failed', lastError: 'offline', uploadAttempts: 1 }),
      state(2, { localHash: hashOf(2) }),
      state(1, { upload: 'idle', lastError: '' }),
    ]
    expect(namesOf(batchEvents(facts, { kinds: batchKinds }))).toEqual([events.localFileStatesSet.name])
    const outcome = await expectSameOutcome(facts)
    expect(outcome.states.find((row) => row.id === 'f1')?.value).toMatchObject({ upload: 'idle', lastError: '', uploadAttempts: 1 })
  })

  test('a single fact stays the event it was, and a batch never carries more than its limit', () => {
    expect(batchEvents([created(1)], { kinds: batchKinds })).toEqual([created(1)])
    const many = Array.from({ length: maxBatchedFacts * 2 + 1 }, (_, n) => created(n))
    const batch = batchEvents(many, { kinds: batchKinds })
    expect(namesOf(batch)).toEqual([events.filesCreated.name, events.filesCreated.name, events.fileCreated.name])
    expect(batch.flatMap((event, index) => (index < 2 ? argsOf(event).files! : [argsOf(event)]))).toEqual(many.map(argsOf))
  })

  test('a fact it does not batch is a wall: nothing moves across it', () => {
    const device = tables.deviceSyncState.set({ downloadsHeld: 'full' }, 'device')
    const facts = [state(1, { localHash: 'a' }), device, state(2, { localHash: 'b' })]
    expect(batchEvents(facts, { kinds: batchKinds })).toEqual(facts)
  })

  test("a batch tells the file index every file it wrote, so a tab's views read those rows again", async () => {
    const store = await newStore()
    const index = createFileIndex({ store })
    try {
      const changed: string[] = []
      index.subscribe((ids) => changed.push(...ids))
      store.commit(
        ...batchEvents(
          [1, 2, 3].flatMap((n) => [created(n), state(n, { localHash: hashOf(n) })]),
          { kinds: batchKinds },
        ),
      )
      await new Promise((resolve) => setTimeout(resolve, 0))
      expect([...new Set(changed)].sort()).toEqual(['f1', 'f2', 'f3'])
      expect(index.state('f2')?.localHash).toBe(hashOf(2))
      store.commit(...batchEvents([uploaded(1), uploaded(3)], { kinds: batchKinds }))
      await new Promise((resolve) => setTimeout(resolve, 0))
      expect(index.file('f3')?.remoteKey).toBe(`s/${hashOf(3)}`)
    } finally {
      index.close()
    }
  })
})
