import { emptyLocalFileState, type FileRow, type LocalFileState } from '../livestore/schema.ts'

/**
 * What this device has to do for one file, derived from two facts only: the synced row (which
 * content the file has, whether some device uploaded it) and this device's state (which bytes
 * it holds, which transfer failed for good). Deriving instead of recording "to do" lists means
 * a reload, a crash or a new leader tab computes the same work again.
 *
 *   file live,    bytes here,  not uploaded  → upload
 *   file live,    bytes here,  uploaded      → nothing (synced)
 *   file live,    bytes missing, same content on this device → use them (record them as this
 *                                              file's; e.g. a conflict copy of this device's edit)
 *   file live,    bytes missing, uploaded    → download
 *   file live,    bytes missing, not uploaded → nothing (waiting for the device that has them)
 *   file deleted, bytes here                 → remove the local copy (its bytes stay if a live
 *                                              file has the same content when the removal runs)
 *   file deleted, uploaded, content not used by a live file, not asked yet → remove remote copy
 *
 * A transfer that failed for good is not planned again for that content until the user retries
 * it; a new version of the file is tried afresh.
 */
export type PlannedTransfer =
  | { kind: 'upload'; fileId: string; hash: string; mimeType: string }
  | { kind: 'download'; fileId: string; hash: string }
  | { kind: 'useLocal'; fileId: string; hash: string }
  | { kind: 'removeLocal'; fileId: string; hash: string }
  | { kind: 'removeRemote'; fileId: string; hash: string }

export const transferKey = (transfer: PlannedTransfer): string =>
  `${transfer.kind}:${transfer.fileId}:${transfer.hash}`

/**
 * `onDevice`: the hashes whose bytes this device holds, as far as it knows. A row can appear
 * with content this device has under another file (a conflict copy made by a rebase, a twin):
 * its own state cannot know that yet.
 */
export const planTransfers = (
  files: readonly FileRow[],
  states: ReadonlyMap<string, LocalFileState>,
  onDevice: ReadonlySet<string> = new Set(),
): PlannedTransfer[] => {
  const liveHashes = new Set(files.filter((file) => file.deletedAt === null).map((file) => file.contentHash))
  const plan: PlannedTransfer[] = []
  for (const file of files) {
    const state = states.get(file.id) ?? emptyLocalFileState
    const uploaded = file.remoteKey !== ''
    if (file.deletedAt === null) {
      const hasBytes = state.localHash === file.contentHash
      if (hasBytes && !uploaded && !failedFor(state.upload, state, file)) {
        plan.push({ kind: 'upload', fileId: file.id, hash: file.contentHash, mimeType: file.mimeType })
      } else if (!hasBytes && onDevice.has(file.contentHash)) {
        plan.push({ kind: 'useLocal', fileId: file.id, hash: file.contentHash })
      } else if (!hasBytes && uploaded && !failedFor(state.download, state, file)) {
        plan.push({ kind: 'download', fileId: file.id, hash: file.contentHash })
      }
      continue
    }
    if (state.localHash !== '') {
      plan.push({ kind: 'removeLocal', fileId: file.id, hash: state.localHash })
    }
    if (uploaded && !state.remoteRemoved && !liveHashes.has(file.contentHash)) {
      plan.push({ kind: 'removeRemote', fileId: file.id, hash: file.contentHash })
    }
  }
  return plan
}

/** Whether a transfer of this file's current content failed for good. */
const failedFor = (status: LocalFileState['upload'], state: LocalFileState, file: FileRow): boolean =>
  status === 'failed' && state.failedHash === file.contentHash

/** Where a file's bytes are, in the words of the test contract and the UI. */
export type LocalView = 'present' | 'downloading' | 'missing' | 'failed'
export type RemoteView = 'uploaded' | 'uploading' | 'pending' | 'failed'

export const localView = (file: FileRow, state: LocalFileState): LocalView => {
  if (state.localHash === file.contentHash) return 'present'
  if (failedFor(state.download, state, file)) return 'failed'
  if (state.download === 'active') return 'downloading'
  return 'missing'
}

export const remoteView = (file: FileRow, state: LocalFileState): RemoteView => {
  if (file.remoteKey !== '') return 'uploaded'
  if (failedFor(state.upload, state, file)) return 'failed'
  if (state.upload === 'active') return 'uploading'
  return 'pending'
}
