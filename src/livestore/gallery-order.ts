import { chunks } from '../file-sync/client/index.ts'
import { type AppStore, tables } from './schema.ts'
import { type GalleryChangeListener, galleryChanges } from './gallery-changes.ts'

/**
 * The gallery's items in the order the page shows them (newest first, then by id, as SQLite
 * orders `addedAt DESC, id ASC`; removed ones gone), kept in memory and updated item by item.
 * LiveStore 0.4 runs a query again on every write to its table, and the query of 10,000 items
 * cost the page's main thread 25 ms on each file added. This reads the whole order once, then
 * only the items the materializers report as written (gallery-changes.ts), in one pass after
 * each burst of changes. One per tab.
 */
export interface GalleryOrder {
  /** The visible items, in order. A new array after each change; never changed in place. */
  items(): ReadonlyArray<GalleryItem>
  /** Told after each burst of changes that moved, added or removed an item. */
  subscribe(listener: () => void): () => void
  close(): void
}

export interface GalleryItem {
  id: string
  fileId: string
}

export interface GalleryOrderOptions {
  store: AppStore
  changes?: { subscribe(listener: GalleryChangeListener): () => void }
  schedule?: (callback: () => void) => void
}

type Placed = GalleryItem & { addedAt: number }

export const createGalleryOrder = ({ store, changes = galleryChanges, schedule = queueMicrotask }: GalleryOrderOptions): GalleryOrder => {
  const touched = new Set<string>()
  const listeners = new Set<() => void>()
  let scheduled = false
  let closed = false

  // Hears the changes before it reads: nothing written in between is missed.
  const unsubscribe = changes.subscribe((itemId) => {
    touched.add(itemId)
    if (scheduled || closed) return
    scheduled = true
    schedule(refresh)
  })
  let items: Placed[] = store
    .query(tables.galleryItems.where({ removedAt: null }))
    .map((row) => ({ id: row.id, fileId: row.fileId, addedAt: row.addedAt }))
    .sort(compare)

  function refresh() {
    scheduled = false
    if (closed || touched.size === 0) return
    const ids = [...touched]
    touched.clear()
    const visible: Placed[] = []
    for (const slice of chunks(ids)) {
      const rows = store.query(tables.galleryItems.where({ id: { op: 'IN', value: slice } }))
      for (const row of rows) if (row.removedAt === null) visible.push({ id: row.id, fileId: row.fileId, addedAt: row.addedAt })
    }
    const changed = new Set(ids)
    const kept = items.filter((item) => !changed.has(item.id))
    if (kept.length === items.length && visible.length === 0) return
    // Each changed item goes where it belongs: a binary search in the rest, which stays sorted.
    visible.sort(compare)
    const merged: Placed[] = []
    let next = 0
    for (const item of visible) {
      const at = insertionPoint(kept, item, next)
      for (; next < at; next += 1) merged.push(kept[next]!)
      merged.push(item)
    }
    for (; next < kept.length; next += 1) merged.push(kept[next]!)
    items = merged
    for (const listener of listeners) listener()
  }

  return {
    items: () => items,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      closed = true
      unsubscribe()
      listeners.clear()
    },
  }
}

/** Newest first, then by id as SQLite orders text (by code point: its bytes in UTF-8). */
const compare = (a: Placed, b: Placed): number => b.addedAt - a.addedAt || compareCodePoints(a.id, b.id)

const compareCodePoints = (a: string, b: string): number => {
  if (a === b) return 0
  for (let index = 0; ; ) {
    const x = a.codePointAt(index)
    const y = b.codePointAt(index)
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : -1) : 1
    if (x !== y) return x - y
    index += x > 0xffff ? 2 : 1
  }
}

/** The first index from `from` at which `item` sorts before the item there. */
const insertionPoint = (sorted: readonly Placed[], item: Placed, from: number): number => {
  let low = from
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compare(sorted[middle]!, item) < 0) low = middle + 1
    else high = middle
  }
  return low
}
