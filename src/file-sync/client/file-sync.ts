import { type FileSyncEvent, type FileSyncStore, deviceSyncStateId, emptyLocalFileState, type LocalFileState, fileSyncTables as tables } from '../schema.ts'
import { batchEvents } from './batch-events.ts'
import { createCommitQueue } from './commit-queue.ts'
import type { Connectivity } from './connectivity.ts'
import { createFileIndex, type FileIndex } from './file-index.ts'
import { reconcileWithDisk } from './reconcile.ts'
import { transitions } from './file-state.ts'
import type { FileError } from './errors.ts'
import { type DeviceContent, type TransferContext, transferTask } from './file-transfers.ts'
import type { LocalFileStorage } from './local-file-storage.ts'
import { realmLocks, type WithLock } from './locks.ts'
import type { RemoteFileStorage } from './remote-file-storage.ts'
import { delayUntil, type SyncExecutor } from './sync-executor.ts'
import { createTransferProgress, type TransferProgress } from './transfer-progress.ts'
import { defaultDeleteGraceMs, inGrace, type PlanContext, type PlannedTransfer, planFile as planOneFile, transferKey } from './sync-plan.ts'
import { realTimer } from '../shared/timers.ts'

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
  store: FileSyncStore
  /** The files and their states as this tab knows them (file-index.ts); one of its own when none is given. */
  index?: FileIndex
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
  /** What finished transfers found is committed at most this often, the facts of the meantime together. */
  commitIntervalMs?: number
  /** Plans one file (sync-plan.ts); a test counts its calls. */
  planFile?: typeof planOneFile
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => () => void
}

/** 16 MiB: far below Cloudflare's 100 MB request cap, and few enough requests for a large file. */
export const defaultPartBytes = 16 * 1024 * 1024
/** R2 refuses to join parts smaller than 5 MiB (all but the last). */
export const minPartBytes = 5 * 1024 * 1024

export const createFileSync = ({
  store,
  index: givenIndex,
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
  commitIntervalMs = 500,
  planFile = planOneFile,
  now = Date.now,
  setTimer = realTimer,
}: FileSyncOptions): FileSync => {
  let index: FileIndex | undefined
  /**
   * The hashes whose bytes are on this device, as far as this sync knows: the disk's listing at
   * start, then every copy a state claims (a claim is recorded only once the bytes are written),
   * less what this sync removed. Kept apart from the states because a claim can move on (the
   * file downloads its new version) while its old bytes stay for a conflict copy. An entry that
   * is wrong costs one look at the disk (`useLocal`), which drops it.
   */
  const onDevice = new Set<string>()
  /** What the plan wants now, by file: each transfer by its key. */
  const planned = new Map<string, Map<string, PlannedTransfer>>()
  /** The content each file was planned with: a change of it reaches the files of both contents. */
  const plannedContent = new Map<string, string>()
  /** Transfers handed to the executor and not yet over (nor their outcome committed), by key, with their file. */
  const scheduled = new Map<string, string>()
  /**
   * Files whose transfer has ended and whose outcome waits for its commit: planned again once it
   * is in, not before (a download's bytes are here, its state not yet: the plan would use them
   * a second time).
   */
  const settling = new Set<string>()
  /** Deleted files in their grace period, with its end: their plan changes when it ends. */
  const graceEnds = new Map<string, number>()
  /** Files to plan again, in one pass after the current burst of changes. */
  const dirty = new Set<string>()
  let visible = new Set<string>()
  // Previews first (tens of KB that show a whole grid), and without waiting for the large
  // transfers that run; then what a person sees, then the rest.
  const isPreview = (fileId: string) => (index?.file(fileId)?.previewOf ?? '') !== ''
  const priorityOf = (fileId: string) => (isPreview(fileId) ? 2 : visible.has(fileId) ? 1 : 0)
  const stops: Array<() => void> = []
  let running = false
  let pendingPlan = false
  /** The one timer that plans again when the earliest grace period ends. */
  let graceTimer: { at: number; cancel: () => void } | undefined

  const setState = (fileId: string, patch: Partial<LocalFileState>) => store.commit(tables.localFilesState.set(patch, fileId))

  /** What finished transfers found, committed together (commit-queue.ts). */
  const commits = createCommitQueue<FileSyncEvent[]>({
    commit: (batches) => {
      if (running) store.commit(...batchEvents(batches.flat()))
    },
    intervalMs: commitIntervalMs,
  })
  const commitSoon = (fileId: string, facts: FileSyncEvent[]) => {
    // Not planned again until it is in (the plan would see bytes here and no state for them).
    settling.add(fileId)
    void commits.add(facts).catch((error: unknown) => {
      // The plan still wants what was not recorded: it is done again (the server keeps one copy).
      console.error('The file sync could not record what its transfers did; they will run again.', error)
    })
  }

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
  const stateOf = (fileId: string): LocalFileState => store.query(tables.localFilesState.where({ id: fileId }))[0]?.value ?? emptyLocalFileState

  /** Progress stays in memory: writing it to the store would grow the tab's memory with the transfer. */
  const progressOf = (fileId: string) => (bytes: number) => progress.set(fileId, bytes)

  /** Bytes that came or went: the files with that content may be planned otherwise. */
  const devicePlaces: DeviceContent = {
    has: (hash) => onDevice.has(hash),
    add(hash) {
      if (onDevice.has(hash)) return
      onDevice.add(hash)
      contentChanged(hash)
    },
    delete(hash) {
      if (!onDevice.delete(hash)) return
      contentChanged(hash)
    },
  }

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
    onDevice: devicePlaces,
    setState,
    stateOf,
    commitSoon,
    moving: (fileId) => progress.set(fileId, 0),
    waiting: (fileId) => progress.clear(fileId),
    progressOf,
    holdDownloads,
    resumeDownloads,
    onError,
  }

  const isLive = (hash: string) => {
    for (const id of index?.withContent(hash) ?? []) if (index?.file(id)?.deletedAt === null) return true
    return false
  }

  const contentChanged = (hash: string) => {
    for (const id of index?.withContent(hash) ?? []) dirty.add(id)
    requestPlan()
  }

  /** Plans the files marked dirty, and makes the executor's work follow: start what is new, cancel what is no longer wanted. */
  const plan = () => {
    pendingPlan = false
    if (!running || !index) return
    const time = now()
    const planContext: PlanContext = { now: time, deleteGraceMs, isLive, onDevice }
    // A file's content, its deletion or its bytes on this device can change the plan of every
    // file with the same content (a twin, a conflict copy).
    for (const id of [...dirty]) {
      const file = index.file(id)
      for (const hash of [plannedContent.get(id), file?.contentHash]) {
        if (hash !== undefined) for (const twin of index.withContent(hash)) dirty.add(twin)
      }
    }
    const ids = [...dirty]
    dirty.clear()
    for (const id of ids) {
      if (settling.has(id)) continue
      const file = index.file(id)
      const state = index.state(id)
      if (file) {
        plannedContent.set(id, file.contentHash)
        if (state.localHash !== '') devicePlaces.add(state.localHash)
      } else {
        plannedContent.delete(id)
      }
      if (file !== undefined && file.deletedAt !== null && inGrace(file, planContext)) graceEnds.set(id, file.deletedAt + deleteGraceMs)
      else graceEnds.delete(id)
      const wanted = new Map((file ? planFile(file, state, planContext) : []).map((transfer) => [transferKey(transfer), transfer]))
      for (const key of planned.get(id)?.keys() ?? []) {
        if (!wanted.has(key) && scheduled.has(key)) {
          executor.cancel(key)
          scheduled.delete(key)
        }
      }
      if (wanted.size > 0) planned.set(id, wanted)
      else planned.delete(id)
      for (const [key, transfer] of wanted) if (!scheduled.has(key)) run(key, transfer)
    }
    planAgainAt(graceEnds.size > 0 ? Math.min(...graceEnds.values()) : undefined)
  }

  const run = (key: string, transfer: PlannedTransfer) => {
    scheduled.set(key, transfer.fileId)
    executor
      .enqueue(transferTask(context, transfer, priorityOf(transfer.fileId), isPreview(transfer.fileId)))
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
      // Forgotten only once what it found is committed: until then the plan still wants it,
      // and it would start again.
      .then(() => commits.flushed())
      .finally(() => {
        settling.delete(transfer.fileId)
        if (scheduled.get(key) === transfer.fileId) scheduled.delete(key)
        if (transfer.kind === 'upload' || transfer.kind === 'download') progress.clear(transfer.fileId)
        dirty.add(transfer.fileId)
        requestPlan()
      })
  }

  /** The plan changes with time only when a deleted file's grace period ends: one timer, for the next one. */
  const planAgainAt = (at: number | undefined) => {
    if (graceTimer?.at === at) return
    graceTimer?.cancel()
    graceTimer = undefined
    if (at === undefined) return
    const cancel = setTimer(
      () => {
        graceTimer = undefined
        const time = now()
        for (const [id, end] of graceEnds) if (end <= time) dirty.add(id)
        requestPlan()
      },
      delayUntil(at, now()),
    )
    graceTimer = { at, cancel }
  }

  // Many store changes arrive in a burst: plan once per burst, after it.
  const requestPlan = () => {
    if (pendingPlan) return
    pendingPlan = true
    queueMicrotask(plan)
  }

  return {
    async start() {
      if (running) return
      running = true
      // Every file once, then the files that change (file-index.ts): the page's, or one of its own.
      const startIndex = givenIndex ?? createFileIndex({ store })
      const ownIndex = givenIndex === undefined ? startIndex : undefined
      try {
        const onDisk = await reconcileWithDisk({ store, local, index: startIndex })
        onDevice.clear()
        for (const hash of onDisk) onDevice.add(hash)
      } catch (error) {
        running = false
        ownIndex?.close()
        throw error
      }
      if (!running) {
        ownIndex?.close()
        return
      }
      const follow = (online: boolean) => (online ? executor.resume() : executor.pause())
      follow(connectivity.online)
      stops.push(connectivity.subscribe(follow))
      index = startIndex
      stops.push(
        index.subscribe((changed) => {
          for (const id of changed) dirty.add(id)
          requestPlan()
        }),
      )
      if (ownIndex) stops.push(() => ownIndex.close())
      for (const file of index.files()) dirty.add(file.id)
      requestPlan()
    },

    stop() {
      running = false
      cancelHeldRetry?.()
      cancelHeldRetry = undefined
      executor.release('download')
      for (const stop of stops.splice(0)) stop()
      index = undefined
      planAgainAt(undefined)
      for (const key of scheduled.keys()) executor.cancel(key)
      scheduled.clear()
      planned.clear()
      plannedContent.clear()
      settling.clear()
      graceEnds.clear()
      dirty.clear()
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
