import { type FileSyncStore, emptyLocalFileState, type FileRow, type LocalFileState, fileSyncTables as tables } from '../schema.ts'
import { type FileChange, type FileChangeListener, fileChanges } from './file-changes.ts'

/**
 * Every file of a store and this device's state of each, kept in memory and updated row by row:
 * a change to k files costs reading k rows, whatever the size of the store. The file sync plans
 * from it, and the page shows from it. One per tab and store.
 *
 * It reads every row once when it starts; after that only the rows the materializers report as
 * written (file-changes.ts), in one pass after each burst of changes.
 */
export interface FileIndex {
  /** The file's synced row; undefined while the store has none. */
  file(fileId: string): FileRow | undefined
  /** This device's state of the file; the default one while none was recorded. */
  state(fileId: string): LocalFileState
  /** Every row, deleted ones included, in no particular order. */
  files(): IterableIterator<FileRow>
  /** Every recorded state, by file id (a state can outlive its row's arrival or precede it). */
  states(): IterableIterator<[string, LocalFileState]>
  readonly size: number
  /** The ids of the rows that have this content. */
  withContent(hash: string): ReadonlySet<string>
  /**
   * Told, after each burst of changes, which files have a new row or a new state (by identity:
   * the objects `file` and `state` return are replaced, never changed in place).
   */
  subscribe(listener: (changed: ReadonlySet<string>) => void): () => void
  /** Stops following the store. */
  close(): void
}

export interface FileIndexOptions {
  store: FileSyncStore
  /** Where the materializers report (the real feed unless a test gives another). */
  changes?: { subscribe(listener: FileChangeListener): () => void }
  /** When a burst of changes is read: after the commit that made them. */
  schedule?: (callback: () => void) => void
}

/** Bind values per query: far below SQLite's limit, and a query plan that stays an index lookup. */
const chunkSize = 500

export const createFileIndex = ({ store, changes = fileChanges, schedule = queueMicrotask }: FileIndexOptions): FileIndex => {
  const rows = new Map<string, FileRow>()
  const states = new Map<string, LocalFileState>()
  const byContent = new Map<string, Set<string>>()
  const listeners = new Set<(changed: ReadonlySet<string>) => void>()
  const touchedIds = new Set<string>()
  const touchedContent = new Set<string>()
  let scheduled = false
  let closed = false

  const link = (row: FileRow) => {
    let ids = byContent.get(row.contentHash)
    if (!ids) byContent.set(row.contentHash, (ids = new Set()))
    ids.add(row.id)
  }
  const unlink = (row: FileRow) => {
    const ids = byContent.get(row.contentHash)
    ids?.delete(row.id)
    if (ids?.size === 0) byContent.delete(row.contentHash)
  }

  /** Puts a row read from the store in place; whether it differs from the one held. */
  const putRow = (row: FileRow | undefined, id: string): boolean => {
    const held = rows.get(id)
    if (row === undefined) {
      if (!held) return false
      unlink(held)
      rows.delete(id)
      return true
    }
    if (held && sameRow(held, row)) return false
    if (held) unlink(held)
    rows.set(id, row)
    link(row)
    return true
  }
  const putState = (value: LocalFileState | undefined, id: string): boolean => {
    const held = states.get(id)
    if (value === undefined) return held ? states.delete(id) : false
    if (held && sameState(held, value)) return false
    states.set(id, value)
    return true
  }

  // Everything once.
  for (const row of store.query(tables.files.where({}))) putRow(row, row.id)
  for (const { id, value } of store.query(tables.localFilesState.where({}))) putState(value, id)

  const read = () => {
    scheduled = false
    if (closed || (touchedIds.size === 0 && touchedContent.size === 0)) return
    const ids = new Set(touchedIds)
    touchedIds.clear()
    const hashes = [...touchedContent]
    touchedContent.clear()
    // A change of content reaches every row that has it, before and after.
    for (const hash of hashes) for (const id of byContent.get(hash) ?? []) ids.add(id)
    const found = new Map<string, FileRow>()
    for (const chunk of chunks(hashes)) {
      for (const row of store.query(tables.files.where({ contentHash: { op: 'IN', value: chunk } }))) found.set(row.id, row)
    }
    const wanted = [...ids].filter((id) => !found.has(id))
    for (const chunk of chunks(wanted)) {
      for (const row of store.query(tables.files.where({ id: { op: 'IN', value: chunk } }))) found.set(row.id, row)
    }
    for (const id of found.keys()) ids.add(id)
    const foundStates = new Map<string, LocalFileState>()
    for (const chunk of chunks([...ids])) {
      for (const { id, value } of store.query(tables.localFilesState.where({ id: { op: 'IN', value: chunk } }))) foundStates.set(id, value)
    }
    const changed = new Set<string>()
    for (const id of ids) {
      // Both, always: a row and a state can change in the same burst.
      const rowChanged = putRow(found.get(id), id)
      const stateChanged = putState(foundStates.get(id), id)
      if (!rowChanged && !stateChanged) continue
      changed.add(id)
      // A preview's change is its file's too: what the file's card shows changed.
      const previewOf = rows.get(id)?.previewOf
      if (previewOf) changed.add(previewOf)
    }
    if (changed.size === 0) return
    for (const listener of listeners) listener(changed)
  }

  const onChange = ({ fileId, contentHash }: FileChange) => {
    if (fileId !== undefined) touchedIds.add(fileId)
    if (contentHash !== undefined) touchedContent.add(contentHash)
    if (scheduled) return
    scheduled = true
    schedule(read)
  }
  const unsubscribe = changes.subscribe(onChange)

  return {
    file: (fileId) => rows.get(fileId),
    state: (fileId) => states.get(fileId) ?? emptyLocalFileState,
    files: () => rows.values(),
    states: () => states.entries(),
    get size() {
      return rows.size
    },
    withContent: (hash) => byContent.get(hash) ?? noIds,
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

const noIds: ReadonlySet<string> = new Set()

/** `items` in slices small enough for one query's bind values. */
export function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += chunkSize) yield items.slice(start, start + chunkSize)
}

/** Rows and states are flat records of primitives, but for the state's `partsUpload`, one level down. */
const sameRow = (a: FileRow, b: FileRow): boolean => sameFields(a, b, 0)
const sameState = (a: LocalFileState, b: LocalFileState): boolean => sameFields(a, b, 0)

const sameFields = (a: object, b: object, depth: number): boolean => {
  const keysA = Object.keys(a) as Array<keyof typeof a>
  if (keysA.length !== Object.keys(b).length) return false
  return keysA.every((key) => {
    const [x, y] = [a[key] as unknown, b[key] as unknown]
    if (x === y) return true
    return depth === 0 && typeof x === 'object' && typeof y === 'object' && x !== null && y !== null && sameFields(x, y, 1)
  })
}
