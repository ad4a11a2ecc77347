import { type FileSyncEvent, type FileSyncStore, fileSyncEvents as events, type LocalFileState, fileSyncTables as tables } from '../schema.ts'
import { batchEvents } from './batch-events.ts'
import type { Connectivity } from './connectivity.ts'
import { downloadInto } from './download.ts'
import { FileError, toFileError } from './errors.ts'
import { transitions } from './file-state.ts'
import type { LocalFileStorage } from './local-file-storage.ts'
import { bytesLock, type WithLock } from './locks.ts'
import type { RemoteFileStorage, UploadedPart } from './remote-file-storage.ts'
import type { TransferTask } from './sync-executor.ts'
import { needsBytes, type PlannedTransfer, transferKey } from './sync-plan.ts'

/**
 * What each planned transfer does (sync-plan.ts decides which), and which transitions of the
 * file's state machine (file-state.ts) it records before and after. The file sync builds these
 * tasks and hands them to the executor; everything a task needs comes in through this context.
 */
export interface TransferContext {
  store: FileSyncStore
  local: LocalFileStorage
  remote: RemoteFileStorage
  withLock: WithLock
  connectivity: Connectivity
  deleteGraceMs: number
  now: () => number
  /** Files larger than this go up in parts of `partBytes`, each confirmed and kept as it is done. */
  partsAboveBytes: number
  partBytes: number
  /** The hashes this device holds as far as the file sync knows (see file-sync.ts). */
  onDevice: DeviceContent
  setState(fileId: string, patch: Partial<LocalFileState>): void
  stateOf(fileId: string): LocalFileState
  /**
   * Commits what a finished transfer of the file found, with other facts that come close
   * (commit-queue.ts): nothing waits for it. The file is not planned again until it is in.
   */
  commitSoon(fileId: string, events: FileSyncEvent[]): void
  /** The transfer of the file begins to move bytes: every tab shows it moving (transfer-progress.ts). */
  moving(fileId: string): void
  /** It stopped without ending: it waits (a full disk holds it), and shows as not moving. */
  waiting(fileId: string): void
  /** Where a transfer tells the bytes it has moved so far (in memory, see transfer-progress.ts). */
  progressOf(fileId: string): (bytes: number) => void
  /** A full disk: hold every download until space is freed. */
  holdDownloads(error: FileError): void
  /** Space was freed: held downloads may try again. */
  resumeDownloads(): void
  onError?: ((error: FileError, transfer: PlannedTransfer) => void) | undefined
}

/** The contents whose bytes are on this device, as far as the file sync knows. */
export interface DeviceContent {
  has(hash: string): boolean
  add(hash: string): void
  delete(hash: string): void
}

/** R2 joins at most 10,000 parts: larger files get larger parts. */
const maxParts = 10_000

/**
 * A file up to this size uploads without a word to the store before it ends: if a crash cuts it,
 * the next try sends it again, and the server, which has it already, says so (and keeps one
 * copy). A larger one records that it started, so that a try after a crash asks the server
 * first. For many small files, a commit more each would cost more than their bytes.
 */
export const recordStartAboveBytes = 1024 * 1024

/** `express`: a preview's transfer, which starts whatever else runs (sync-executor.ts). */
export const transferTask = (context: TransferContext, transfer: PlannedTransfer, priority: number, express = false): TransferTask => {
  const { store, local, remote, withLock, onDevice, setState, stateOf } = context
  const { fileId, hash } = transfer
  const key = transferKey(transfer)
  switch (transfer.kind) {
    case 'upload':
      return {
        key,
        kind: 'upload',
        priority,
        weight: transfer.size,
        express,
        async run(signal) {
          // Checked when it starts, not only when planned: a delete may have come in since.
          const current = store.query(tables.files.where({ id: fileId }).first())
          if (current?.deletedAt !== null || current.contentHash !== hash) return
          const bytes = await local.read(hash)
          if (!bytes) {
            // The copy vanished from disk (cleared by the browser or by hand): say so, and the
            // plan turns into a download if another device has uploaded it.
            onDevice.delete(hash)
            setState(fileId, transitions.bytesVanished())
            return
          }
          context.moving(fileId)
          if (bytes.size > context.partsAboveBytes) await uploadInParts(context, transfer, bytes, signal)
          else await uploadWhole(context, transfer, bytes, signal)
          const state = stateOf(fileId)
          // The state only when it has something to forget (a retry's error, an upload in parts).
          const forget = state.upload !== 'idle' || state.uploadAttempts !== 0 || state.lastError !== '' || (state.partsUpload ?? null) !== null
          context.commitSoon(fileId, [
            events.fileUploaded({ id: fileId, contentHash: hash, remoteKey: remote.keyOf(hash) }),
            ...(forget ? [tables.localFilesState.set(transitions.uploaded(), fileId)] : []),
          ])
        },
        onFailure: failure(context, 'upload', transfer),
      }
    case 'download':
      return {
        key,
        kind: 'download',
        priority,
        weight: transfer.size,
        express,
        async run(signal) {
          // Nothing is recorded before the bytes are here: what an interrupted try received is
          // on disk under the hash's name, and the next try continues it.
          context.moving(fileId)
          try {
            // Where the local storage can fetch by itself (the files worker), the bytes go from
            // the network to the disk without crossing to the page.
            const onProgress = context.progressOf(fileId)
            if (local.download && remote.endpoint) await local.download(hash, remote.endpoint, { signal, onProgress })
            else await downloadInto(local, remote, hash, { signal, onProgress })
          } catch (cause) {
            const error = toFileError(cause)
            if (error.kind === 'storage-full') {
              setState(fileId, transitions.downloadHeld())
              context.waiting(fileId)
              context.holdDownloads(error)
            }
            if (error.kind === 'not-found') {
              // The server lost the bytes (evicted, or removed once deleted): this device waits
              // for one that holds them.
              remoteLost(context, transfer, transitions.downloadCancelled())
              return
            }
            throw error
          }
          onDevice.add(hash)
          context.commitSoon(fileId, [tables.localFilesState.set(transitions.downloaded(hash), fileId)])
        },
        onFailure: failure(context, 'download', transfer),
      }
    case 'useLocal':
      return {
        key,
        kind: 'local',
        // Under the bytes' lock, like a removal of the same content: that one has either
        // removed them before this looks, or sees this file's live row and keeps them.
        run: () =>
          withLock(bytesLock(store.storeId), async () => {
            if (await local.exists(hash)) {
              setState(fileId, transitions.downloaded(hash))
              return
            }
            // Not here after all: every claim on them is wrong, and the plan must stop asking.
            onDevice.delete(hash)
            const claims = store.query(tables.localFilesState.where({})).filter((row) => row.value.localHash === hash)
            if (claims.length > 0) store.commit(...batchEvents(claims.map((row) => tables.localFilesState.set(transitions.bytesVanished(), row.id))))
          }),
        // A disk that cannot answer: treat the bytes as not here, so the file downloads or waits.
        onFailure: (_error, _attempt, retryInMs) => {
          if (retryInMs === undefined) onDevice.delete(hash)
        },
      }
    case 'removeLocal':
      return {
        key,
        kind: 'local',
        // Decided under the bytes' lock, not when planned: a file saved meanwhile with the
        // same content (in any tab) keeps them, and so does a deleted file whose only copy
        // they are.
        run: () =>
          withLock(bytesLock(store.storeId), async () => {
            const time = { now: context.now(), deleteGraceMs: context.deleteGraceMs }
            const stillUsed = store.query(tables.files.where({ contentHash: hash })).some((file) => needsBytes(file, time))
            if (!stillUsed) {
              await local.remove(hash)
              onDevice.delete(hash)
            }
            setState(fileId, transitions.localRemoved())
            if (!stillUsed) context.resumeDownloads() // space was freed
          }),
        onFailure: (error, _attempt, retryInMs) => {
          if (retryInMs === undefined) setState(fileId, transitions.localRemovalFailed(error.message))
        },
      }
    case 'removeRemote':
      return {
        key,
        kind: 'remove',
        async run(signal) {
          await remote.remove(hash, { signal })
          setState(fileId, transitions.serverCopyRemoved())
        },
        // Asked once: a server that refuses keeps its copy, and this device stops asking.
        onFailure: (error, _attempt, retryInMs) => {
          if (retryInMs === undefined) setState(fileId, transitions.serverCopyKept(error.message))
        },
      }
    case 'keepRemote':
      return {
        key,
        kind: 'remove',
        async run(signal) {
          const outcome = await remote.keep(hash, { signal })
          if (outcome === 'gone') {
            remoteLost(context, transfer, transitions.serverCopyKeptForRestore())
          } else {
            setState(fileId, transitions.serverCopyKeptForRestore())
          }
        },
        // Asked until it answers (network errors are retried); a final refusal stops asking. If
        // the server then removes the bytes, the next device that misses them says so
        // (v1.FileRemoteLost) and one that holds them uploads them again.
        onFailure: (error, _attempt, retryInMs) => {
          if (retryInMs === undefined) {
            setState(fileId, { ...transitions.serverCopyKeptForRestore(), lastError: `The server was not asked to keep its copy: ${error.message}` })
          }
        },
      }
    case 'abandonUpload':
      return {
        key,
        kind: 'remove',
        async run(signal) {
          await remote.abortUpload(hash, transfer.uploadId, { signal })
          if (stateOf(fileId).partsUpload?.uploadId === transfer.uploadId) setState(fileId, transitions.partsAbandoned())
          // Its record on disk, unless another file's upload of the same bytes replaced it since.
          if ((await local.partsOf(hash).catch(() => undefined))?.uploadId === transfer.uploadId) await local.keepParts(hash, null).catch(() => {})
        },
        // A server that cannot drop the parts now drops them by itself (R2: after 7 days).
        onFailure: (_error, _attempt, retryInMs) => {
          if (retryInMs === undefined && stateOf(fileId).partsUpload?.uploadId === transfer.uploadId) {
            setState(fileId, transitions.partsAbandoned())
          }
        },
      }
  }
}

type Upload = Extract<PlannedTransfer, { kind: 'upload' }>

/** One request. */
const uploadWhole = async ({ remote, setState, stateOf, progressOf }: TransferContext, transfer: Upload, bytes: File, signal: AbortSignal) => {
  if (bytes.size <= recordStartAboveBytes) {
    // Small: no progress to show, so a plain fetch, and nothing recorded (see recordStartAboveBytes).
    await remote.upload(transfer.hash, bytes, transfer.mimeType, { signal })
    return
  }
  // 'active' already: an earlier try (before a retry, a reload or a crash) may have stored the
  // bytes and lost only the answer. Ask first instead of sending them again.
  const resumed = stateOf(transfer.fileId).upload === 'active'
  const stored = resumed ? await remote.head(transfer.hash, { signal }) : undefined
  if (!resumed) setState(transfer.fileId, transitions.uploadStarted())
  // The server checked the SHA-256 when it stored them: present under the hash is enough.
  if (stored === undefined) {
    await remote.upload(transfer.hash, bytes, transfer.mimeType, { signal, onProgress: progressOf(transfer.fileId) })
  }
}

/**
 * In parts, each a slice of the file on disk. Every part the server confirms is recorded beside
 * the bytes on disk (not in the store: see transfer-progress.ts for why), so a try after a
 * reload, a crash or a lost connection sends only the rest.
 */
const uploadInParts = async (context: TransferContext, transfer: Upload, bytes: File, signal: AbortSignal) => {
  const { local, remote, setState, stateOf } = context
  const { fileId, hash } = transfer
  let upload = stateOf(fileId).partsUpload ?? undefined
  let parts: UploadedPart[] = []
  if (upload?.hash === hash) {
    // A record that cannot be read costs only the parts sent again.
    const kept = await local.partsOf(hash).catch(() => undefined)
    if (kept?.uploadId === upload.uploadId) parts = kept.parts
    setState(fileId, transitions.uploadStarted())
  } else {
    const partSize = Math.max(context.partBytes, Math.ceil(bytes.size / maxParts))
    const started = await remote.createUpload(hash, { size: bytes.size, mimeType: transfer.mimeType, partSize, signal })
    if (!('uploadId' in started)) return // the server has this content already
    upload = { hash, uploadId: started.uploadId, partSize }
    setState(fileId, transitions.partsStarted(upload))
  }
  const { uploadId, partSize } = upload
  const report = context.progressOf(fileId)
  const partCount = Math.max(1, Math.ceil(bytes.size / partSize))
  const sizeOf = (partNumber: number) => Math.min(partNumber * partSize, bytes.size) - (partNumber - 1) * partSize
  const done = new Set(parts.map((part) => part.partNumber))
  let sent = [...done].reduce((total, partNumber) => total + sizeOf(partNumber), 0)
  report(sent)
  try {
    for (let partNumber = 1; partNumber <= partCount; partNumber += 1) {
      if (done.has(partNumber)) continue
      const slice = bytes.slice((partNumber - 1) * partSize, partNumber * partSize)
      const before = sent
      const onProgress = (bytes: number) => report(before + bytes)
      const { etag } = await remote.uploadPart(hash, uploadId, partNumber, slice, { signal, onProgress })
      parts = [...parts, { partNumber, etag }]
      sent += slice.size
      report(sent)
      // A record that cannot be written (a full disk) costs only the parts sent again after a reload.
      await local.keepParts(hash, { uploadId, parts }).catch(() => {})
    }
    await remote.completeUpload(
      hash,
      uploadId,
      [...parts].sort((a, b) => a.partNumber - b.partNumber),
      { size: bytes.size, signal },
    )
  } catch (cause) {
    const error = toFileError(cause)
    // The server no longer knows this upload (expired, or joined wrong): the next try starts anew.
    if (error.kind === 'not-found' || error.kind === 'bad-request') {
      setState(fileId, transitions.partsAbandoned())
      if (error.kind === 'not-found') throw new FileError('server', 'The server no longer had this upload; it starts again.', { cause: error })
    }
    throw error
  }
  await local.keepParts(hash, null).catch(() => {})
}

/**
 * The server has no bytes for this content though a row says it was uploaded (a 404): every
 * device hears of it (v1.FileRemoteLost), and one that holds the bytes uploads them again.
 */
const remoteLost = ({ store, now }: TransferContext, { fileId, hash }: PlannedTransfer, patch: Partial<LocalFileState>) =>
  store.commit(events.fileRemoteLost({ contentHash: hash, foundAt: now() }), tables.localFilesState.set(patch, fileId))

/** Records a failed try; a final one marks the transfer failed for this content. */
const failure =
  ({ setState, onError, connectivity }: TransferContext, direction: 'upload' | 'download', transfer: PlannedTransfer) =>
  (error: FileError, attempt: number, retryInMs: number | undefined) => {
    const final = retryInMs === undefined
    const patch =
      direction === 'upload'
        ? final
          ? transitions.uploadFailed(error.message, attempt, transfer.hash)
          : transitions.uploadRetrying(error.message, attempt)
        : final
          ? transitions.downloadFailed(error.message, attempt, transfer.hash)
          : transitions.downloadRetrying(error.message, attempt)
    setState(transfer.fileId, patch)
    if (final) onError?.(error, transfer)
    if (error.kind === 'network' || error.kind === 'timeout') connectivity.check()
  }
