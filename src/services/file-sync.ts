import { queryDb } from '@livestore/livestore'
import {
  type AppStore,
  deviceSyncStateId,
  emptyLocalFileState,
  type FileRow,
  type LocalFileState,
  tables,
} from '../livestore/schema.ts'
import type { Connectivity } from './connectivity.ts'
import { transitions } from './file-state.ts'
import type { FileError } from './errors.ts'
import { type TransferContext, transferTask } from './file-transfers.ts'
import type { LocalFileStorage } from './local-file-storage.ts'
import { realmLocks, type WithLock } from './locks.ts'
import type { RemoteFileStorage } from './remote-file-storage.ts'
import { delayUntil, type SyncExecutor } from './sync-executor.ts'
import { createTransferProgress, type TransferProgress } from './transfer-progress.ts'
import { defaultDeleteGraceMs, nextGraceEnd, type PlannedTransfer, planTransfers, transferKey } from './sync-plan.ts'

export interface FileSync {
  /** Reconciles with the disk once, then follows the store until stopped. */
  start(): Promise<void>
  stop(): void
  /** Clears a failure so the transfer is planned again. */
  retry(fileId: string): void
  /** The files a person can see now: their transfers go first. */
  setVisible(fileIds: Iterable<string>): void
  /** Tries held downloads again (after a full disk), without waiting for the next automatic try. */
  resumeDownloads(): void
}

export interface FileSyncOptions {
  store: AppStore
  local: LocalFileStorage
  remote: RemoteFileStorage
  executor: SyncExecutor
  connectivity: Connectivity
  /** The same locks as the file storage's (Web Locks in the page). */
  withLock?: WithLock
  /** Told of failures that a person may want to see; the state already records them. */
  onError?: (error: FileError, transfer: PlannedTransfer) => void
  /** How long downloads held by a full disk wait before trying again by themselves. */
  heldRetryMs?: number
  /** Where transfers tell how far they got (see transfer-progress.ts); the UI reads it too. */
  progress?: TransferProgress
  /** How long a deleted file stays restorable (see sync-plan.ts); the same as the file storage's. */
  deleteGraceMs?: number
  /**
   * Files larger than `partsAboveBytes` upload in parts of `partBytes` (R2: at least 5 MiB),
   * resumable part by part; both below what one request to the server may carry.
   */
  partBytes?: number
  partsAboveBytes?: number
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => () => void
}

/** 16 MiB: far below Cloudflare's 100 MB request cap, and few enough requests for a large file. */
export const defaultPartBytes = 16 * 1024 * 1024
/** R2 refuses to join parts smaller than 5 MiB (all but the last). */
export const minPartBytes = 5 * 1024 * 1024

const allFiles$ = queryDb(tables.files.where({}), { label: 'fileSync.files' })
const allStates$ = queryDb(tables.localFilesState.where({}), { label: 'fileSync.localStates' })

export const createFileSync = ({
  store,
  local,
  remote,
  executor,
  connectivity,
  withLock = realmLocks,
  onError,
  heldRetryMs = 60_000,
  progress = createTransferProgress(),
  deleteGraceMs = defaultDeleteGraceMs,
  partBytes = defaultPartBytes,
  partsAboveBytes = partBytes,
  now = Date.now,
  setTimer = (callback, ms) => {
    const timer = setTimeout(callback, ms)
    return () => clearTimeout(timer)
  },
}: FileSyncOptions): FileSync => {
  let files: readonly FileRow[] = []
  let states = new Map<string, LocalFileState>()
  /**
   * The hashes whose bytes are on this device, as far as this sync knows: the disk's listing at
   * start, then every copy a state claims (a claim is recorded only once the bytes are written),
   * less what this sync removed. Kept apart from the states because a claim can move on (the
   * file downloads its new version) while its old bytes stay for a conflict copy. An entry that
   * is wrong costs one look at the disk (`useLocal`), which drops it.
   */
  const onDevice = new Set<string>()
  /** Transfers handed to the executor, by key, with the file each is for. */
  const scheduled = new Map<string, string>()
  let visible = new Set<string>()
  const priorityOf = (fileId: string) => (visible.has(fileId) ? 1 : 0)
  const stops: Array<() => void> = []
  let running = false
  let pendingSchedule = false
  /** The one timer that plans again when the earliest grace period ends. */
  let graceTimer: { at: number; cancel: () => void } | undefined

  const setState = (fileId: string, patch: Partial<LocalFileState>) =>
    store.commit(tables.localFilesState.set(patch, fileId))

  /**
   * A full disk fails every download alike, and is no file's fault: the executor holds all
   * downloads (they keep their place and their tries), the device's state says why, and they try
   * again after `heldRetryMs`, when this device frees space, or when the person asks.
   */
  let cancelHeldRetry: (() => void) | undefined
  const holdDownloads = (error: FileError) => {
    if (!cancelHeldRetry) store.commit(tables.deviceSyncState.set({ downloadsHeld: error.message }, deviceSyncStateId))
    cancelHeldRetry?.()
    cancelHeldRetry = setTimer(resumeDownloads, heldRetryMs)
  }
  const resumeDownloads = () => {
    if (cancelHeldRetry) {
      cancelHeldRetry()
      cancelHeldRetry = undefined
      if (running) store.commit(tables.deviceSyncState.set({ downloadsHeld: '' }, deviceSyncStateId))
    }
    executor.release('download')
  }

  // A row query, not `localFilesState.get(id)`: in LiveStore 0.4 `get` of a document that was
  // never written fails, and a subscribed one fails inside later commits of anyone.
  const stateOf = (fileId: string): LocalFileState =>
    store.query(tables.localFilesState.where({ id: fileId }))[0]?.value ?? emptyLocalFileState

  /** Progress stays in memory: writing it to the store would grow the tab's memory with the transfer. */
  const progressOf = (fileId: string) => (bytes: number) => progress.set(fileId, bytes)

  const context: TransferContext = {
    store,
    local,
    remote,
    withLock,
    connectivity,
    deleteGraceMs,
    now,
    partBytes,
    partsAboveBytes,
    onDevice,
    setState,
    stateOf,
    progressOf,
    holdDownloads,
    resumeDownloads,
    onError,
  }

  /** Makes the executor's work equal the plan: start what is new, cancel what is no longer wanted. */
  const schedule = () => {
    pendingSchedule = false
    if (!running) return
    const time = { now: now(), deleteGraceMs }
    const plan = planTransfers(files, states, time, onDevice)
    planAgainAt(nextGraceEnd(files, time))
    const wanted = new Set(plan.map(transferKey))
    for (const key of scheduled.keys()) {
      if (!wanted.has(key)) {
        executor.cancel(key)
        scheduled.delete(key)
      }
    }
    for (const transfer of plan) {
      const key = transferKey(transfer)
      if (scheduled.has(key)) continue
      scheduled.set(key, transfer.fileId)
      executor
        .enqueue(transferTask(context, transfer, priorityOf(transfer.fileId)))
        .catch((error: FileError) => {
          // Failures are recorded by onFailure. A cancelled transfer (the plan no longer wants
          // it) must not leave its file showing a transfer that is not running.
          // After stop() the store may be closing; the next start() resets flags anyway.
          if (!running) return
          if (error.kind === 'aborted' && (transfer.kind === 'upload' || transfer.kind === 'download')) {
            if (stateOf(transfer.fileId)[transfer.kind] === 'active') {
              setState(transfer.fileId, transfer.kind === 'upload' ? transitions.uploadCancelled() : transitions.downloadCancelled())
            }
          }
        })
        .finally(() => {
          scheduled.delete(key)
          if (transfer.kind === 'upload' || transfer.kind === 'download') progress.clear(transfer.fileId)
          requestSchedule()
        })
    }
  }

  /** The plan changes with time only when a deleted file's grace period ends: one timer, for the next one. */
  const planAgainAt = (at: number | undefined) => {
    if (graceTimer?.at === at) return
    graceTimer?.cancel()
    graceTimer = undefined
    if (at === undefined) return
    const cancel = setTimer(() => {
      graceTimer = undefined
      requestSchedule()
    }, delayUntil(at, now()))
    graceTimer = { at, cancel }
  }


  // Many store changes arrive in a burst (a commit touches both tables): plan once per burst.
  const requestSchedule = () => {
    if (pendingSchedule) return
    pendingSchedule = true
    queueMicrotask(schedule)
  }

  /**
   * Once per start, before following changes: make the state agree with the disk (one listing,
   * no per-file disk I/O) and forget transfers that were running when the last leader stopped.
   */
  const reconcile = async () => {
    const currentFiles = store.query(allFiles$)
    // Interrupted downloads of content still wanted are kept, to continue where they stopped.
    await local.removePartials(currentFiles.filter((file) => file.deletedAt === null).map((file) => file.contentHash))
    const onDisk = new Set(await local.list())
    onDevice.clear()
    for (const hash of onDisk) onDevice.add(hash)
    const currentStates = new Map(store.query(allStates$).map((row) => [row.id, row.value]))
    const patches: Array<[string, Partial<LocalFileState>]> = []
    const filesById = new Map(currentFiles.map((file) => [file.id, file]))
    for (const [fileId, state] of currentStates) {
      const patch: { -readonly [K in keyof LocalFileState]?: LocalFileState[K] } = {}
      const file = filesById.get(fileId)
      const bytesHere = state.localHash !== '' && onDisk.has(state.localHash)
      if (state.localHash !== '' && !bytesHere) patch.localHash = ''
      // An interrupted upload that is about to resume keeps saying so (and checks the server
      // first); any other 'active' flag is a leftover of a leader that is gone.
      const resumesUpload = bytesHere && file?.contentHash === state.localHash && file.remoteKey === '' && file.deletedAt === null
      if (state.upload === 'active' && !resumesUpload) patch.upload = 'idle'
      if (state.download === 'active') patch.download = 'idle'
      if (Object.keys(patch).length > 0) patches.push([fileId, patch])
    }
    for (const file of currentFiles) {
      const state = currentStates.get(file.id)
      if (file.deletedAt === null && onDisk.has(file.contentHash) && state?.localHash !== file.contentHash) {
        patches.push([file.id, { localHash: file.contentHash }])
      }
    }
    if (patches.length > 0) store.commit(...patches.map(([id, patch]) => tables.localFilesState.set(patch, id)))
    // A hold recorded by an earlier leader: this one finds out afresh.
    const device = store.query(tables.deviceSyncState.where({ id: deviceSyncStateId }))[0]?.value
    if (device && device.downloadsHeld !== '') store.commit(tables.deviceSyncState.set({ downloadsHeld: '' }, deviceSyncStateId))
  }

  return {
    async start() {
      if (running) return
      running = true
      try {
        await reconcile()
      } catch (error) {
        running = false
        throw error
      }
      if (!running) return
      const follow = (online: boolean) => (online ? executor.resume() : executor.pause())
      follow(connectivity.online)
      stops.push(connectivity.subscribe(follow))
      stops.push(
        store.subscribe(allFiles$, (rows) => {
          files = rows
          requestSchedule()
        }),
      )
      stops.push(
        store.subscribe(allStates$, (rows) => {
          states = new Map(rows.map((row) => [row.id, row.value]))
          for (const { localHash } of states.values()) if (localHash !== '') onDevice.add(localHash)
          requestSchedule()
        }),
      )
    },

    stop() {
      running = false
      cancelHeldRetry?.()
      cancelHeldRetry = undefined
      executor.release('download')
      for (const stop of stops.splice(0)) stop()
      planAgainAt(undefined)
      for (const key of scheduled.keys()) executor.cancel(key)
      scheduled.clear()
    },

    setVisible(fileIds) {
      visible = new Set(fileIds)
      for (const [key, fileId] of scheduled) executor.prioritize(key, priorityOf(fileId))
    },

    resumeDownloads,

    retry(fileId) {
      setState(fileId, transitions.retried(stateOf(fileId)))
    },
  }
}
