import { emptyLocalFileState, type FileRow, type LocalFileState } from '../schema.ts'
import type { FileIndex } from './file-index.ts'
import { localView, remoteView } from './file-state.ts'

/** What is left to move in one direction: files, and bytes (less what the running transfers already moved). */
export interface DirectionTotals {
  files: number
  bytes: number
}

export interface SyncTotals {
  /** Live files in the store. */
  files: number
  /** Of them, those whose bytes are on this device. */
  here: number
  /** Of them, those the server has. */
  onServer: number
  /** Saved on this device and not on the server yet (failed uploads excluded: they wait for the person). */
  upload: DirectionTotals
  /** On the server and not on this device yet (failed downloads excluded). */
  download: DirectionTotals
}

/** One file's part of the totals: which counts it is in, and its size. */
interface Share {
  here: boolean
  onServer: boolean
  toUpload: boolean
  toDownload: boolean
  size: number
}

const shareOf = (file: FileRow, state: LocalFileState): Share | undefined => {
  // A preview is no file of the person's: it is counted with none.
  if (file.deletedAt !== null || file.previewOf !== '') return undefined
  const local = localView(file, state)
  const remote = remoteView(file, state)
  return {
    here: local === 'present',
    onServer: remote === 'uploaded',
    toUpload: local === 'present' && remote !== 'uploaded' && remote !== 'failed',
    toDownload: remote === 'uploaded' && local !== 'present' && local !== 'failed',
    size: file.size,
  }
}

const emptyTotals = (): SyncTotals => ({ files: 0, here: 0, onServer: 0, upload: { files: 0, bytes: 0 }, download: { files: 0, bytes: 0 } })

const add = (totals: SyncTotals, share: Share, sign: 1 | -1) => {
  totals.files += sign
  if (share.here) totals.here += sign
  if (share.onServer) totals.onServer += sign
  if (share.toUpload) {
    totals.upload.files += sign
    totals.upload.bytes += sign * share.size
  }
  if (share.toDownload) {
    totals.download.files += sign
    totals.download.bytes += sign * share.size
  }
}

/** Less the bytes that running transfers (those in `moved`) already moved. */
const lessMoved = (totals: SyncTotals, shares: (fileId: string) => Share | undefined, moved: ReadonlyMap<string, number>): SyncTotals => {
  const result = { ...totals, upload: { ...totals.upload }, download: { ...totals.download } }
  for (const [fileId, bytes] of moved) {
    const share = shares(fileId)
    if (share?.toUpload) result.upload.bytes -= Math.min(bytes, share.size)
    else if (share?.toDownload) result.download.bytes -= Math.min(bytes, share.size)
  }
  return result
}

/**
 * A store's whole picture on this device, from the same two facts the plan reads, and the bytes
 * the running transfers moved so far, by file (see transfer-progress.ts).
 */
export const syncTotals = (
  files: readonly FileRow[],
  states: ReadonlyMap<string, LocalFileState>,
  moved: ReadonlyMap<string, number> = new Map(),
): SyncTotals => {
  const totals = emptyTotals()
  const shares = new Map<string, Share>()
  for (const file of files) {
    const share = shareOf(file, states.get(file.id) ?? emptyLocalFileState)
    if (!share) continue
    shares.set(file.id, share)
    add(totals, share, 1)
  }
  return lessMoved(totals, (fileId) => shares.get(fileId), moved)
}

/** The same totals, kept up to date file by file as the index changes: no pass over the store. */
export interface SyncTotalsTracker {
  current(moved?: ReadonlyMap<string, number>): SyncTotals
  /** Called after each change of the totals. */
  subscribe(listener: () => void): () => void
  close(): void
}

export const trackSyncTotals = (index: FileIndex): SyncTotalsTracker => {
  const totals = emptyTotals()
  const shares = new Map<string, Share>()
  const listeners = new Set<() => void>()
  const update = (fileId: string) => {
    const before = shares.get(fileId)
    if (before) add(totals, before, -1)
    const file = index.file(fileId)
    const after = file && shareOf(file, index.state(fileId))
    if (after) {
      shares.set(fileId, after)
      add(totals, after, 1)
    } else {
      shares.delete(fileId)
    }
  }
  for (const file of index.files()) update(file.id)
  const unsubscribe = index.subscribe((changed) => {
    for (const fileId of changed) update(fileId)
    for (const listener of listeners) listener()
  })
  return {
    current: (moved = new Map()) => lessMoved(totals, (fileId) => shares.get(fileId), moved),
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      unsubscribe()
      listeners.clear()
    },
  }
}
