import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { createGalleryOrder, type GalleryOrder } from '../../src/livestore/gallery-order.ts'
import { type AppStore, batchKinds, events } from '../../src/livestore/schema.ts'
import { batchEvents } from '../../src/file-sync/client/batch-events.ts'
import { createTestStore, visibleGalleryItems$ } from '../support/store.ts'
import { waitFor } from '../support/wait.ts'

let store: AppStore
let order: GalleryOrder | undefined

beforeEach(async () => {
  store = await createTestStore()
})
afterEach(async () => {
  order?.close()
  order = undefined
  await store.shutdownPromise()
})

const added = (id: string, addedAt: number, fileId = `file-${id}`) => events.galleryItemAdded({ id, fileId, addedAt })
const settled = () => new Promise((resolve) => setTimeout(resolve, 0))
/** The order as SQLite gives it: what the page showed before this module. */
const queried = () => store.query(visibleGalleryItems$)
const idsOf = (order: GalleryOrder) => order.items().map(({ id, fileId }) => ({ id, fileId }))
/**
 * In Node, LiveStore's leader runs in this realm and its materializers report too: a test that
 * counts reads waits until it has applied this session's commits.
 */
const leaderCaughtUp = () => waitFor(() => store.syncStatus().pendingCount === 0)

test('follows adds, removes, restores and conflict copies, in the order SQLite gives', async () => {
  store.commit(added('b', 2), added('a', 2), added('old', 1))
  order = createGalleryOrder({ store })
  expect(idsOf(order)).toEqual(queried())
  let told = 0
  order.subscribe(() => (told += 1))

  // A pick (one batch event), an odd id, a remove and a restore of an earlier one.
  const odd = 'Zé "quoted" 😀 \uffff'
  store.commit(...batchEvents([added('p1', 5), added('p2', 5), added(odd, 3), added('same-time', 2)], { kinds: batchKinds }))
  store.commit(events.galleryItemRemoved({ id: 'a', removedAt: 6 }))
  await settled()
  expect(idsOf(order)).toEqual(queried())
  expect(order.items().map((item) => item.id)).toEqual(['p1', 'p2', odd, 'b', 'same-time', 'old'])

  store.commit(events.galleryItemRestored({ id: 'a', restoredAt: 7 }))
  await settled()
  expect(idsOf(order)).toEqual(queried())
  expect(told).toBeGreaterThanOrEqual(2)

  // A conflict copy's item joins right after its original's (schema.ts).
  const hash = (c: string) => c.repeat(64)
  store.commit(
    events.fileCreated({ id: 'file-b', name: 'b.png', mimeType: 'image/png', size: 1, contentHash: hash('a'), createdAt: 2 }),
    events.fileUpdated({ id: 'file-b', name: 'b.png', mimeType: 'image/png', size: 1, contentHash: hash('b'), previousHash: hash('a'), updatedAt: 8 }),
    events.fileUpdated({ id: 'file-b', name: 'b.png', mimeType: 'image/png', size: 1, contentHash: hash('c'), previousHash: hash('a'), updatedAt: 9 }),
  )
  await settled()
  expect(idsOf(order)).toEqual(queried())
  expect(order.items().map((item) => item.id)).toContain(`b~file-b~${hash('b').slice(0, 16)}`)
})

test('a change to a few items of thousands reads only those rows', async () => {
  store.commit(...batchEvents(Array.from({ length: 2_000 }, (_, n) => added(`i${n}`, n))))
  await leaderCaughtUp()
  order = createGalleryOrder({ store })
  const before = order.items()
  expect(before).toHaveLength(2_000)

  const rowsRead: number[] = []
  const query = store.query.bind(store)
  vi.spyOn(store, 'query').mockImplementation(((...args: Parameters<typeof query>) => {
    const result = query(...args)
    if (Array.isArray(result)) rowsRead.push(result.length)
    return result
  }) as typeof store.query)
  store.commit(added('newest', 5_000), events.galleryItemRemoved({ id: 'i7', removedAt: 1 }))
  await settled()
  await leaderCaughtUp()
  await settled()
  vi.restoreAllMocks()

  expect(Math.max(...rowsRead)).toBeLessThanOrEqual(2)
  expect(order.items()[0]?.id).toBe('newest')
  expect(order.items()).toHaveLength(2_000)
  expect(idsOf(order)).toEqual(queried())
  // Never changed in place: what the page holds is a new array.
  expect(before).toHaveLength(2_000)
  expect(before).not.toBe(order.items())
})
