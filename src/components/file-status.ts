import type { LocalFileState } from '../livestore/schema.ts'
import type { LocalView, RemoteView } from '../file-sync/client/index.ts'

export interface FileStatus {
  label: string
  tone: 'done' | 'busy' | 'waiting' | 'failed'
  canRetry: boolean
}

/** Where a file is, in words a person understands. */
export const describeFileStatus = (
  local: LocalView,
  remote: RemoteView,
  state: LocalFileState,
  online: boolean,
  size = 0,
  /** Bytes the running transfer moved so far. */
  received = 0,
): FileStatus => {
  const retrying = state.lastError ? ` (retrying: ${state.lastError})` : ''
  const percent = size > 0 && received > 0 ? ` ${Math.min(100, Math.floor((received / size) * 100))}%` : ''
  if (local === 'damaged') {
    return { label: 'Damaged: another device recorded this file without a valid content hash; nothing is fetched', tone: 'failed', canRetry: false }
  }
  if (local === 'failed') return { label: `Download failed: ${state.lastError}`, tone: 'failed', canRetry: true }
  if (remote === 'failed') return { label: `Upload failed: ${state.lastError}`, tone: 'failed', canRetry: true }
  if (local === 'downloading') return { label: `Downloading…${percent}${retrying}`, tone: 'busy', canRetry: false }
  if (local === 'present') {
    if (remote === 'uploaded') return { label: 'Synced', tone: 'done', canRetry: false }
    if (remote === 'uploading') return { label: `Saved here · uploading…${percent}${retrying}`, tone: 'busy', canRetry: false }
    return online
      ? { label: 'Saved here · waiting to upload', tone: 'waiting', canRetry: false }
      : { label: 'Saved here · uploads when back online', tone: 'waiting', canRetry: false }
  }
  if (remote === 'uploaded') {
    return online
      ? { label: 'On the server · waiting to download', tone: 'waiting', canRetry: false }
      : { label: 'On the server · downloads when back online', tone: 'waiting', canRetry: false }
  }
  // Not on this device nor on the server: the device that added it, or after an eviction any
  // device that holds it, uploads it.
  return { label: 'Waiting for a device that has it to upload it', tone: 'waiting', canRetry: false }
}
