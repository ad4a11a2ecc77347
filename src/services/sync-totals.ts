import { emptyLocalFileState, type FileRow, type LocalFileState } from '../livestore/schema.ts'
import { localView, remoteView } from './file-state.ts'

/** What is left to move in one direction: files, and bytes (less what the running transfers already moved). */
export interface DirectionTotals {
  files: number
  bytes: number
}

export interface SyncTotals {
  /** Saved on this device and not on the server yet (failed uploads excluded: they wait for the person). */
  upload: DirectionTotals
  /** On the server and not on this device yet (failed downloads excluded). */
  download: DirectionTotals
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
  const totals: SyncTotals = { upload: { files: 0, bytes: 0 }, download: { files: 0, bytes: 0 } }
  for (const file of files) {
    if (file.deletedAt !== null) continue
    const state = states.get(file.id) ?? emptyLocalFileState
    const local = localView(file, state)
    const remote = remoteView(file, state)
    const left = (active: boolean) => Math.max(0, file.size - (active ? (moved.get(file.id) ?? 0) : 0))
    if (local === 'present' && (remote === 'pending' || remote === 'uploading')) {
      totals.upload.files += 1
      totals.upload.bytes += left(remote === 'uploading')
    } else if (remote === 'uploaded' && (local === 'missing' || local === 'downloading')) {
      totals.download.files += 1
      totals.download.bytes += left(local === 'downloading')
    }
  }
  return totals
}
