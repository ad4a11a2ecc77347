import { emptyLocalFileState, type FileRow, type LocalFileState } from '../schema.ts'
import { failedFor } from './file-state.ts'
import { isContentHash } from './peer-input.ts'

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
 *
 * A delete is soft: for a grace period (24 hours by default) the bytes stay
 * somewhere, so that `v1.FileRestored` can bring the file back on every device. The server owns
 * the grace of its copy: asked to delete, it marks the bytes and removes them only once the grace
 * is over, unless asked to keep them in between (src/file-sync/server/pending-deletion.ts).
 *
 *   file deleted, uploaded,     bytes here   → remove the local copy at once (the server has one)
 *   file deleted, uploaded,     content not used by a live file, not asked yet
 *                                            → ask the server to delete its copy (each device
 *                                              asks once; the server keeps it for the grace)
 *   file deleted, not uploaded, bytes here   → nothing until the grace is over (the only copy),
 *                                              then remove the local copy
 *   file deleted, not uploaded               → never anything on the server: no upload starts,
 *                                              and a running one is cancelled (no longer planned)
 *   file restored                            → a live file again: the rows above apply, and if
 *                                              it was restored here, or this device asked the
 *                                              server to delete it → ask the server to keep it
 *
 * A local copy's bytes stay when its removal runs if a live file, or a deleted file whose only
 * copy they are, has the same content. Time enters through `now` only: the caller plans again
 * at `nextGraceEnd`.
 *
 * An upload in parts that this device began (`partsUpload` in its state) is abandoned (the
 * server drops its parts) once it can no longer complete: the file was deleted, has new content,
 * or was uploaded by another device. A new upload of the file waits until that is done.
 *
 * A transfer that failed for good is not planned again for that content until the user retries
 * it; a new version of the file is tried afresh. A row whose content hash is no SHA-256 (written
 * so by another device) plans nothing.
 */
export type PlannedTransfer =
  | { kind: 'upload'; fileId: string; hash: string; mimeType: string; size: number }
  | { kind: 'download'; fileId: string; hash: string; size: number }
  | { kind: 'useLocal'; fileId: string; hash: string }
  | { kind: 'removeLocal'; fileId: string; hash: string }
  | { kind: 'removeRemote'; fileId: string; hash: string }
  | { kind: 'keepRemote'; fileId: string; hash: string }
  | { kind: 'abandonUpload'; fileId: string; hash: string; uploadId: string }

export const transferKey = (transfer: PlannedTransfer): string => `${transfer.kind}:${transfer.fileId}:${transfer.hash}`

/** How long a deleted file can be restored: its bytes are kept at least that long. */
export const defaultDeleteGraceMs = 24 * 60 * 60 * 1000

export interface PlanTime {
  now: number
  deleteGraceMs: number
}

/** Whether `file` is deleted and its grace period not over yet. */
export const inGrace = (file: Pick<FileRow, 'deletedAt'>, { now, deleteGraceMs }: PlanTime): boolean =>
  file.deletedAt !== null && now - file.deletedAt < deleteGraceMs

/** When the earliest grace period among `files` that is not over yet ends; undefined when none is. */
export const nextGraceEnd = (files: readonly Pick<FileRow, 'deletedAt'>[], time: PlanTime): number | undefined => {
  let next: number | undefined
  for (const file of files) {
    if (file.deletedAt === null || !inGrace(file, time)) continue
    const end = file.deletedAt + time.deleteGraceMs
    if (next === undefined || end < next) next = end
  }
  return next
}

/** Whether this device must keep `file`'s bytes: its content, or a deleted file's only copy. */
export const needsBytes = (file: FileRow, time: PlanTime): boolean => file.deletedAt === null || (file.remoteKey === '' && inGrace(file, time))

/** What planning one file needs to know of the others, and of this device. */
export interface PlanContext extends PlanTime {
  /** Whether a live file has this content: the server's copy of it is never to be deleted. */
  isLive(hash: string): boolean
  /**
   * The hashes whose bytes this device holds, as far as it knows. A row can appear with content
   * this device has under another file (a conflict copy made by a rebase, a twin): its own
   * state cannot know that yet.
   */
  onDevice: ReadonlySet<string>
}

/** The transfers one file needs now: the table above, for one row and its state. */
export const planFile = (file: FileRow, state: LocalFileState, { isLive, onDevice, ...time }: PlanContext): PlannedTransfer[] => {
  const plan: PlannedTransfer[] = []
  // Another device wrote a content hash that is none: it names no bytes, here or on the server,
  // and goes into no URL or path. An upload in parts this device began for an earlier content
  // of the file is still dropped.
  if (!isContentHash(file.contentHash)) {
    const parts = state.partsUpload
    return parts ? [{ kind: 'abandonUpload', fileId: file.id, hash: parts.hash, uploadId: parts.uploadId }] : plan
  }
  const uploaded = file.remoteKey !== ''
  const parts = state.partsUpload
  const partsOfThisContent = parts?.hash === file.contentHash && file.deletedAt === null && !uploaded
  if (parts && !partsOfThisContent) {
    plan.push({ kind: 'abandonUpload', fileId: file.id, hash: parts.hash, uploadId: parts.uploadId })
  }
  if (file.deletedAt === null) {
    // Back from a deletion: the server must keep the bytes it was asked to delete.
    if (uploaded && (state.remoteRemoved || state.keepRemote === true)) {
      plan.push({ kind: 'keepRemote', fileId: file.id, hash: file.contentHash })
    }
    const hasBytes = state.localHash === file.contentHash
    if (hasBytes && !uploaded && !failedFor(state.upload, state, file)) {
      if (!parts || partsOfThisContent) {
        plan.push({ kind: 'upload', fileId: file.id, hash: file.contentHash, mimeType: file.mimeType, size: file.size })
      }
    } else if (!hasBytes && onDevice.has(file.contentHash)) {
      plan.push({ kind: 'useLocal', fileId: file.id, hash: file.contentHash })
    } else if (!hasBytes && uploaded && !failedFor(state.download, state, file)) {
      plan.push({ kind: 'download', fileId: file.id, hash: file.contentHash, size: file.size })
    }
    return plan
  }
  const graceOver = !inGrace(file, time)
  if (state.localHash !== '' && (uploaded || graceOver)) {
    plan.push({ kind: 'removeLocal', fileId: file.id, hash: state.localHash })
  }
  if (uploaded && !state.remoteRemoved && !isLive(file.contentHash)) {
    plan.push({ kind: 'removeRemote', fileId: file.id, hash: file.contentHash })
  }
  return plan
}

/** The plan of a whole store at once (the file sync plans file by file, as rows change). */
export const planTransfers = (
  files: readonly FileRow[],
  states: ReadonlyMap<string, LocalFileState>,
  time: PlanTime,
  onDevice: ReadonlySet<string> = new Set(),
): PlannedTransfer[] => {
  const live = new Set(files.filter((file) => file.deletedAt === null).map((file) => file.contentHash))
  const context: PlanContext = { ...time, isLive: (hash) => live.has(hash), onDevice }
  return files.flatMap((file) => planFile(file, states.get(file.id) ?? emptyLocalFileState, context))
}

export { type LocalView, localView, type RemoteView, remoteView } from './file-state.ts'
