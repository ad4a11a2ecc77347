import type { FileRow, LocalFileState, PartsUpload, TransferStatus } from '../schema.ts'
import { isContentHash } from './peer-input.ts'

/**
 * One file's state machine on one device.
 *
 * What is recorded: the synced `files` row (which content the file has; `remoteKey` once some
 * device uploaded it) and this device's `localFilesState` document (which bytes it holds, what
 * its transfers are doing). Both are persisted, so a reload, a crash or a new leader tab resumes
 * from them. What a person sees on each side is derived from the two (`localView`, `remoteView`):
 *
 *   local side   damaged      the row's contentHash is no SHA-256 (another device wrote it so):
 *                             nothing is requested for it, anywhere
 *                present      localHash = the row's contentHash
 *                failed       download 'failed' for this content (failedHash = contentHash)
 *                downloading  a download of it runs, or download 'active'
 *                missing      otherwise
 *   remote side  uploaded     the row's remoteKey is set
 *                failed       upload 'failed' for this content
 *                uploading    an upload of it runs, or upload 'active'
 *                pending      otherwise
 *
 * Two axes, as TanStack Query has them: what is recorded (above), and what is happening now,
 * which is not recorded: whether a transfer of the file runs (`moving`, known from
 * transfer-progress.ts in every tab). A transfer records nothing when it starts, only what it
 * found when it ends; all that a person would miss after a reload is a bar that starts again.
 * Only an upload of a file larger than 1 MiB records that it started (upload 'active'), so that
 * a try after a crash asks the server first; a retry's error keeps it 'active' too.
 *
 * Transitions (each is one function below; the file sync applies them, the plan in
 * `sync-plan.ts` decides which transfer runs next):
 *
 *   side    from          transition                     to
 *   local   missing       (a download runs)              downloading
 *   local   downloading   downloadRetrying               downloading (error, attempt)
 *   local   downloading   downloaded                     present (hash verified)
 *   local   downloading   downloadFailed                 failed (a final error, or tries used up)
 *   local   downloading   downloadCancelled/downloadHeld missing (deleted, or the disk is full)
 *   local   failed        retried                        missing, planned again
 *   local   missing       downloaded                     present (the bytes were found on disk)
 *   local   present       localRemoved / bytesVanished   missing (file deleted / copy gone)
 *   local   any           saved                          present (saved or edited on this device)
 *   remote  pending       (an upload runs)               uploading
 *   remote  pending       uploadStarted (over 1 MiB)     uploading
 *   remote  uploading     uploadRetrying                 uploading
 *   remote  uploading     partsStarted                   uploading (an upload in parts: a resume
 *                                                        continues it, after the parts kept on disk)
 *   remote  uploading     uploaded + v1.FileUploaded     uploaded
 *   remote  uploading     uploadFailed                   failed
 *   remote  uploading     uploadCancelled/bytesVanished  pending
 *   remote  failed        retried                        pending, planned again
 *   remote  pending       v1.FileUploaded (elsewhere)    uploaded
 *   remote  any           partsAbandoned                 the same, without an upload in parts (the
 *                                                        file was deleted, changed or uploaded elsewhere)
 *   both    any           v1.FileUpdated                 the new content: both sides start afresh
 *   both    active        (start of a new leader)        idle, unless an upload resumes: what the
 *                                                        file sync's reconcile() finds on disk
 *
 * What is not recorded: the bytes a transfer has moved so far (transfer-progress.ts keeps them
 * in memory), and the parts an upload in parts has sent (kept on disk beside the bytes). Writing
 * to the store while a large transfer runs costs the tab memory until it ends.
 *
 * A failure is about one content hash, so a new version of the file is tried afresh. A deleted
 * file leaves the machine: its local copy goes (localRemoved) and the server is asked to delete
 * its copy (serverCopyRemoved, or serverCopyKept when it refused), which it keeps, marked, for the
 * grace period. A file restored (here: restoredHere, or anywhere after this device asked for the
 * deletion) has the server keep its copy (serverCopyKeptForRestore). A server found without a
 * copy it should have (a 404) is told to every device by v1.FileRemoteLost: the row is not
 * uploaded any more, and a device with the bytes uploads them again.
 */
export type FileStatePatch = Partial<LocalFileState>

export const transitions = {
  /** A file saved or edited on this device: its bytes are here, nothing is uploaded yet. */
  saved: (hash: string): FileStatePatch => ({ localHash: hash, upload: 'idle', uploadAttempts: 0, lastError: '' }),

  uploadStarted: (): FileStatePatch => ({ upload: 'active' }),
  uploadRetrying: (error: string, attempt: number): FileStatePatch => ({
    upload: 'active',
    uploadAttempts: attempt,
    lastError: error,
  }),
  uploadFailed: (error: string, attempt: number, hash: string): FileStatePatch => ({
    upload: 'failed',
    uploadAttempts: attempt,
    lastError: error,
    failedHash: hash,
  }),
  /** An upload in parts begun. */
  partsStarted: (upload: PartsUpload): FileStatePatch => ({ upload: 'active', partsUpload: upload }),
  partsAbandoned: (): FileStatePatch => ({ partsUpload: null }),
  /** Committed together with v1.FileUploaded, which makes the remote side 'uploaded'. */
  uploaded: (): FileStatePatch => ({ upload: 'idle', uploadAttempts: 0, lastError: '', partsUpload: null }),
  uploadCancelled: (): FileStatePatch => ({ upload: 'idle' }),

  downloadRetrying: (error: string, attempt: number): FileStatePatch => ({
    download: 'active',
    downloadAttempts: attempt,
    lastError: error,
  }),
  downloadFailed: (error: string, attempt: number, hash: string): FileStatePatch => ({
    download: 'failed',
    downloadAttempts: attempt,
    lastError: error,
    failedHash: hash,
  }),
  /** The bytes are here and verified (downloaded, or found on disk under the right hash). */
  downloaded: (hash: string): FileStatePatch => ({ localHash: hash, download: 'idle', downloadAttempts: 0, lastError: '' }),
  downloadCancelled: (): FileStatePatch => ({ download: 'idle' }),
  /** The disk is full: the download waits in the queue, with no failure of its own. */
  downloadHeld: (): FileStatePatch => ({ download: 'idle' }),

  /** The copy is gone from the disk (cleared by the browser or by hand): upload cannot go on. */
  bytesVanished: (): FileStatePatch => ({ localHash: '', upload: 'idle' }),
  /** The copy of a deleted file was removed from this device. */
  localRemoved: (): FileStatePatch => ({ localHash: '' }),
  localRemovalFailed: (error: string): FileStatePatch => ({ localHash: '', lastError: `Could not remove the copy on this device: ${error}` }),
  /** This device asked the server to delete a deleted file's bytes (once, whatever it answered). */
  serverCopyRemoved: (): FileStatePatch => ({ remoteRemoved: true }),
  serverCopyKept: (error: string): FileStatePatch => ({ remoteRemoved: true, lastError: `The server kept its copy: ${error}` }),
  /** Restored on this device: the server is to keep the bytes. */
  restoredHere: (): FileStatePatch => ({ keepRemote: true }),
  /** The server keeps the bytes of a file that came back (or found them gone: the row says so). */
  serverCopyKeptForRestore: (): FileStatePatch => ({ remoteRemoved: false, keepRemote: false }),

  /** The person asked to try a failed transfer again. */
  retried: (state: LocalFileState): FileStatePatch => ({
    ...(state.upload === 'failed' ? { upload: 'idle' as TransferStatus, uploadAttempts: 0 } : {}),
    ...(state.download === 'failed' ? { download: 'idle' as TransferStatus, downloadAttempts: 0 } : {}),
    lastError: '',
    failedHash: '',
  }),
} as const

/** Whether a transfer in this direction failed for good for the file's current content. */
export const failedFor = (status: TransferStatus, state: LocalFileState, file: Pick<FileRow, 'contentHash'>): boolean =>
  status === 'failed' && state.failedHash === file.contentHash

/** Where a file's bytes are, in the words of the test contract and the UI. */
export type LocalView = 'present' | 'downloading' | 'missing' | 'failed' | 'damaged'
export type RemoteView = 'uploaded' | 'uploading' | 'pending' | 'failed'

/** `moving`: a transfer of the file runs now (which way follows from where its bytes are). */
export const localView = (file: Pick<FileRow, 'contentHash'>, state: LocalFileState, moving = false): LocalView => {
  if (!isContentHash(file.contentHash)) return 'damaged'
  if (state.localHash === file.contentHash) return 'present'
  if (failedFor(state.download, state, file)) return 'failed'
  if (moving || state.download === 'active') return 'downloading'
  return 'missing'
}

export const remoteView = (file: Pick<FileRow, 'contentHash' | 'remoteKey'>, state: LocalFileState, moving = false): RemoteView => {
  if (file.remoteKey !== '') return 'uploaded'
  if (failedFor(state.upload, state, file)) return 'failed'
  if ((moving && state.localHash === file.contentHash) || state.upload === 'active') return 'uploading'
  return 'pending'
}
