import {
  emptyLocalFileState,
  type FileRow,
  type FileSyncEvent,
  type FileSyncStore,
  fileSyncEvents as events,
  isUserFile,
  maxPreviewBytes,
  previewIdOf,
  fileSyncTables as tables,
} from '../schema.ts'
import { batchEvents } from './batch-events.ts'
import { createCommitQueue } from './commit-queue.ts'
import type { FileIndex } from './file-index.ts'
import { transitions } from './file-state.ts'
import type { LocalFileStorage, StoredFile } from './local-file-storage.ts'
import { bytesLock, realmLocks, type WithLock } from './locks.ts'
import { isContentHash } from './peer-input.ts'
import { PreviewError, previewable } from './preview.ts'
import { realTimer } from '../shared/timers.ts'

/**
 * Previews of the files whose bytes are on this device, made one at a time by the tab that runs
 * the sync, and added to the store (`v1.FilePreviewAdded`): a preview is a file of its own
 * there, which the sync uploads, downloads (before full files), deduplicates and deletes like
 * any other. So a photo added on one device shows on every other as soon as its preview of tens
 * of KB arrived, however large the photo.
 *
 * Which files: live, previewable (an image or a video), with no preview yet, their bytes here,
 * and not a content this device already failed to make one of (`previewFailedHash`). A file not
 * uploaded yet has its bytes on this device only: its preview is made at once. A file uploaded
 * already may be getting one from the device that added it (a pick of a thousand photos makes
 * theirs one after another), so this device waits `backfillDelayMs` before it makes one: that is
 * how files from before previews existed get theirs. Two devices that make one anyway cost a
 * little work: the first in LiveStore's order is shown, the other is recorded deleted and its
 * bytes go (see the schema's `v1.FilePreviewAdded`).
 */
export interface Previews {
  start(): void
  stop(): void
  /** Resolves once no preview is being made or waiting to be (for tests). */
  whenIdle(): Promise<void>
}

/** Makes the preview of a file's bytes: a picture a browser shows, or a PreviewError. */
export type MakePreview = (file: File, mimeType: string) => Promise<Blob>

export interface PreviewsOptions {
  store: FileSyncStore
  index: FileIndex
  local: LocalFileStorage
  make: MakePreview
  withLock?: WithLock
  /** How long an uploaded file without a preview waits for the device that added it to make one. */
  backfillDelayMs?: number
  /** What was found is committed at most this often, the findings of the meantime together. */
  commitIntervalMs?: number
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => () => void
}

export const defaultBackfillDelayMs = 30_000

export const createPreviews = ({
  store,
  index,
  local,
  make,
  withLock = realmLocks,
  backfillDelayMs = defaultBackfillDelayMs,
  commitIntervalMs = 500,
  now = Date.now,
  setTimer = realTimer,
}: PreviewsOptions): Previews => {
  /** Files to look at, in the order they came: each made at most once per content while running. */
  const queue = new Set<string>()
  /** The content each file was tried with (made, failed or not found): not tried again while running. */
  const tried = new Map<string, string>()
  /** Uploaded files waiting for their backfill delay, with the timer's cancel. */
  const waiting = new Map<string, () => void>()
  let running = false
  let working: Promise<void> | undefined
  let unsubscribe: (() => void) | undefined

  const wanted = (file: FileRow | undefined): file is FileRow => {
    if (!file || file.deletedAt !== null || !isUserFile(file) || file.previewId !== '' || !previewable(file.mimeType)) return false
    if (!isContentHash(file.contentHash) || tried.get(file.id) === file.contentHash) return false
    const state = index.state(file.id)
    return state.localHash === file.contentHash && state.previewFailedHash !== file.contentHash
  }

  const consider = (fileId: string) => {
    const file = index.file(fileId)
    if (!wanted(file)) return
    if (file.remoteKey === '') return enqueue(fileId)
    // Uploaded: the device that added it may be making one; look again later.
    if (waiting.has(fileId)) return
    const cancel = setTimer(() => {
      waiting.delete(fileId)
      if (wanted(index.file(fileId))) enqueue(fileId)
    }, backfillDelayMs)
    waiting.set(fileId, cancel)
  }

  const enqueue = (fileId: string) => {
    queue.add(fileId)
    pump()
  }
  /** One drain at a time; one that ends as a file comes in is followed by another. */
  const pump = () => {
    if (working || !running) return
    working = drain().finally(() => {
      working = undefined
      if (queue.size > 0) pump()
    })
  }

  /**
   * What was found, committed together (commit-queue.ts): a device that makes the previews of a
   * store of 10,000 photos makes tens of commits, not 20,000. A preview's row is committed once
   * its bytes are surely on disk, as a save's is.
   */
  type Found = { kind: 'made'; file: FileRow; blob: Blob; stored: StoredFile } | { kind: 'failed'; file: FileRow }
  const commits = createCommitQueue<Found>({
    intervalMs: commitIntervalMs,
    commit: (batch) =>
      withLock(bytesLock(store.storeId), async () => {
        for (const found of batch) {
          if (found.kind === 'made' && !(await local.exists(found.stored.hash))) await local.put(found.blob, { expectedHash: found.stored.hash })
        }
        if (!running) return
        store.commit(...batchEvents(batch.flatMap(factsOf)))
      }),
  })
  const factsOf = (found: Found): FileSyncEvent[] => {
    const { file } = found
    // Not a picture this browser can read: the file shows its icon, and is not tried again here.
    if (found.kind === 'failed') return [tables.localFilesState.set({ previewFailedHash: file.contentHash }, file.id)]
    const { blob, stored } = found
    const previewId = previewIdOf(file.id, stored.hash)
    return [
      events.filePreviewAdded({
        id: file.id,
        sourceHash: file.contentHash,
        previewId,
        mimeType: blob.type,
        size: stored.size,
        contentHash: stored.hash,
        createdAt: now(),
      }),
      tables.localFilesState.set({ ...emptyLocalFileState, ...transitions.saved(stored.hash) }, previewId),
    ]
  }
  const record = (found: Found) =>
    void commits.add(found).catch((error: unknown) => {
      // Not recorded: made again at the next start.
      console.warn(`No preview of "${found.file.name}" recorded this time:`, error)
    })

  const drain = async () => {
    while (running && queue.size > 0) {
      const fileId = queue.values().next().value as string
      queue.delete(fileId)
      const file = index.file(fileId)
      if (!wanted(file)) continue
      tried.set(fileId, file.contentHash)
      try {
        const bytes = await local.read(file.contentHash)
        if (!bytes) continue
        const blob = await make(bytes, file.mimeType)
        if (blob.size > maxPreviewBytes) throw new PreviewError(`Its preview would be ${blob.size} bytes, more than a preview may be.`)
        const stored = await local.put(blob)
        if (running) record({ kind: 'made', file, blob, stored })
      } catch (error) {
        if (!running) return
        if (error instanceof PreviewError) record({ kind: 'failed', file })
        else console.warn(`No preview of "${file.name}" this time:`, error)
      }
    }
  }

  return {
    start() {
      if (running) return
      running = true
      unsubscribe = index.subscribe((changed) => {
        for (const fileId of changed) consider(fileId)
      })
      for (const file of index.files()) consider(file.id)
    },
    stop() {
      running = false
      unsubscribe?.()
      unsubscribe = undefined
      for (const cancel of waiting.values()) cancel()
      waiting.clear()
      queue.clear()
      tried.clear()
    },
    async whenIdle() {
      while (working) await working
      await commits.flushed()
    },
  }
}
