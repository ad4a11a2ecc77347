import { queryDb } from '@livestore/livestore'
import { type AppStore, events, type FileRow, type LocalFileState, tables } from '../livestore/schema.ts'
import type { Connectivity } from './connectivity.ts'
import type { FileError } from './errors.ts'
import type { LocalFileStorage } from './local-file-storage.ts'
import type { RemoteFileStorage } from './remote-file-storage.ts'
import type { SyncExecutor, TransferTask } from './sync-executor.ts'
import { type PlannedTransfer, planTransfers, transferKey } from './sync-plan.ts'

export interface FileSync {
  /** Reconciles with the disk once, then follows the store until stopped. */
  start(): Promise<void>
  stop(): void
  /** Clears a failure so the transfer is planned again. */
  retry(fileId: string): void
}

export interface FileSyncOptions {
  store: AppStore
  local: LocalFileStorage
  remote: RemoteFileStorage
  executor: SyncExecutor
  connectivity: Connectivity
  /** Told of failures that a person may want to see; the state already records them. */
  onError?: (error: FileError, transfer: PlannedTransfer) => void
}

const allFiles$ = queryDb(tables.files.where({}), { label: 'fileSync.files' })
const allStates$ = queryDb(tables.localFilesState.where({}), { label: 'fileSync.localStates' })

export const createFileSync = ({ store, local, remote, executor, connectivity, onError }: FileSyncOptions): FileSync => {
  let files: readonly FileRow[] = []
  let states = new Map<string, LocalFileState>()
  const scheduled = new Set<string>()
  const stops: Array<() => void> = []
  let running = false
  let pendingSchedule = false

  const setState = (fileId: string, patch: Partial<LocalFileState>) =>
    store.commit(tables.localFilesState.set(patch, fileId))

  /** One place per transition: what each transfer does, and what it records before and after. */
  const taskFor = (transfer: PlannedTransfer): TransferTask => {
    const { fileId, hash } = transfer
    const base = { key: transferKey(transfer), kind: transfer.kind === 'upload' || transfer.kind === 'download' ? transfer.kind : 'remove' } as const
    switch (transfer.kind) {
      case 'upload':
        return {
          ...base,
          async run(signal) {
            const bytes = await local.read(hash)
            if (!bytes) {
              // The copy vanished from disk (cleared by the browser or by hand): say so, and the
              // plan turns into a download if another device has uploaded it.
              setState(fileId, { localHash: '', upload: 'idle' })
              return
            }
            setState(fileId, { upload: 'active' })
            await remote.upload(hash, bytes, transfer.mimeType, { signal })
            store.commit(
              events.fileUploaded({ id: fileId, contentHash: hash, remoteKey: remote.keyOf(hash) }),
              tables.localFilesState.set({ upload: 'idle', uploadAttempts: 0, lastError: '' }, fileId),
            )
          },
          onFailure: (error, attempt, retryInMs) => {
            setState(fileId, { upload: retryInMs === undefined ? 'failed' : 'active', uploadAttempts: attempt, lastError: error.message })
            if (retryInMs === undefined) onError?.(error, transfer)
            if (error.kind === 'network' || error.kind === 'timeout') connectivity.check()
          },
        }
      case 'download':
        return {
          ...base,
          async run(signal) {
            if (!(await local.exists(hash))) {
              setState(fileId, { download: 'active' })
              const { body } = await remote.download(hash, { signal })
              await local.put(body, { expectedHash: hash, signal })
            }
            setState(fileId, { localHash: hash, download: 'idle', downloadAttempts: 0, lastError: '' })
          },
          onFailure: (error, attempt, retryInMs) => {
            setState(fileId, { download: retryInMs === undefined ? 'failed' : 'active', downloadAttempts: attempt, lastError: error.message })
            if (retryInMs === undefined) onError?.(error, transfer)
            if (error.kind === 'network' || error.kind === 'timeout') connectivity.check()
          },
        }
      case 'removeLocal':
        return {
          ...base,
          async run() {
            if (!transfer.keepBytes) await local.remove(hash)
            setState(fileId, { localHash: '' })
          },
        }
      case 'removeRemote':
        return {
          ...base,
          async run(signal) {
            await remote.remove(hash, { signal })
            setState(fileId, { remoteRemoved: true })
          },
        }
    }
  }

  /** Makes the executor's work equal the plan: start what is new, cancel what is no longer wanted. */
  const schedule = () => {
    pendingSchedule = false
    if (!running) return
    const plan = planTransfers(files, states)
    const wanted = new Set(plan.map(transferKey))
    for (const key of scheduled) {
      if (!wanted.has(key)) {
        executor.cancel(key)
        scheduled.delete(key)
      }
    }
    for (const transfer of plan) {
      const key = transferKey(transfer)
      if (scheduled.has(key)) continue
      scheduled.add(key)
      executor
        .enqueue(taskFor(transfer))
        .catch(() => {
          // Failures are recorded in the file's state by onFailure; cancellations need nothing.
        })
        .finally(() => {
          scheduled.delete(key)
          requestSchedule()
        })
    }
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
    await local.removePartials()
    const onDisk = new Set(await local.list())
    const currentFiles = store.query(allFiles$)
    const currentStates = new Map(store.query(allStates$).map((row) => [row.id, row.value]))
    const patches: Array<[string, Partial<LocalFileState>]> = []
    for (const [fileId, state] of currentStates) {
      const patch: { -readonly [K in keyof LocalFileState]?: LocalFileState[K] } = {}
      if (state.localHash !== '' && !onDisk.has(state.localHash)) patch.localHash = ''
      if (state.upload === 'active') patch.upload = 'idle'
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
  }

  return {
    async start() {
      if (running) return
      running = true
      await reconcile()
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
          requestSchedule()
        }),
      )
    },

    stop() {
      running = false
      for (const stop of stops.splice(0)) stop()
      for (const key of scheduled) executor.cancel(key)
      scheduled.clear()
    },

    retry(fileId) {
      const state = store.query(tables.localFilesState.get(fileId))
      setState(fileId, {
        ...(state.upload === 'failed' ? { upload: 'idle', uploadAttempts: 0 } : {}),
        ...(state.download === 'failed' ? { download: 'idle', downloadAttempts: 0 } : {}),
        lastError: '',
      })
    },
  }
}
