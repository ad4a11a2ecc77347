import { type FileSyncEvent, type FileSyncStore, emptyLocalFileState, fileSyncEvents as events, type FileRow, fileSyncTables as tables } from '../schema.ts'
import { type BatchKinds, batchEvents, fileBatchKinds } from './batch-events.ts'
import { createCommitQueue } from './commit-queue.ts'
import { FileError, toFileError } from './errors.ts'
import { transitions } from './file-state.ts'
import type { LocalFileStorage } from './local-file-storage.ts'
import { bytesLock, realmLocks, type WithLock } from './locks.ts'
import type { PickedFile, PickJournal } from './pick-journal.ts'
import { defaultDeleteGraceMs, inGrace } from './sync-plan.ts'

/** What the app calls: each method writes bytes to this device first, then records the fact. */
export interface FileStorage {
  /**
   * Saves a file on this device and adds it to the store; it uploads later, by itself.
   * `alsoCommit` adds the app's own events (e.g. an album entry) in the same commit, so a file
   * never exists without what refers to it.
   */
  saveFile(file: Blob & { name?: string }, options?: { alsoCommit?: (fileId: string) => FileSyncEvent[] }): Promise<string>
  /**
   * Saves a pick of files, each as `saveFile` does (one that fails does not stop the others),
   * noted first in the pick journal, so that a page that goes away in the middle can tell
   * afterwards which files it did not save (`unsavedFiles`). One result per file, in order.
   */
  saveFiles(
    files: ReadonlyArray<Blob & { name?: string }>,
    options?: { alsoCommit?: (fileId: string) => FileSyncEvent[] },
  ): Promise<Array<PromiseSettledResult<string>>>
  /** The files of picks that a page left unfinished (closed, reloaded or crashed) and did not save; told once. */
  unsavedFiles(): Promise<PickedFile[]>
  /**
   * Replaces a file's content; the previous version's bytes stay where they are. When another
   * device changed the file meanwhile, the version that comes first in LiveStore's order is
   * kept as a conflict copy next to it.
   */
  updateFile(fileId: string, file: Blob & { name?: string }): Promise<void>
  /**
   * Soft delete: the file disappears everywhere, and its bytes are kept for `deleteGraceMs`
   * (on the server, or on the device that holds the only copy) so that it can be restored.
   */
  deleteFile(fileId: string, options?: { alsoCommit?: FileSyncEvent[] }): void
  /**
   * Undoes a delete on every device, with the app's own events (e.g. the album entry) in the
   * same commit. Refuses a file that does not exist, is not deleted, or whose grace period is
   * over (its bytes may be gone).
   */
  restoreFile(fileId: string, options?: { alsoCommit?: FileSyncEvent[] }): void
  /** Resolves once no save or update is between its first byte and its commit. */
  whenIdle(): Promise<void>
}

export interface FileStorageOptions {
  store: FileSyncStore
  local: LocalFileStorage
  /** Shared with the file sync; Web Locks in the page, so that it holds across tabs. */
  withLock?: WithLock
  /** Refuse larger files up front, before a byte is written. */
  maxFileBytes?: number
  /** How long a deleted file can be restored; the same as the file sync's. */
  deleteGraceMs?: number
  /** Where picks are noted while they are saved (pick-journal.ts); without one, an unfinished pick goes untold. */
  picks?: PickJournal
  /**
   * How long a save waits for its commit to reach the store's database on disk (LiveStore's
   * leader) before it says it is saved anyway; the pick journal keeps its pick until it did.
   */
  persistTimeoutMs?: number
  /**
   * Facts a save's commit may gather into batch events (batch-events.ts): the file sync's, and
   * those of the app's own events that go along (`alsoCommit`), e.g. its album's.
   */
  batchKinds?: BatchKinds
  now?: () => number
  newId?: () => string
}

/** Saves that end within this time of the last commit of saves go into the next one together. */
export const saveCommitIntervalMs = 250

/** 10 GiB: a file's size is bounded by the disk and the server, not by memory. */
export const defaultMaxFileBytes = 10 * 1024 * 1024 * 1024

export const createFileStorage = ({
  store,
  local,
  withLock = realmLocks,
  maxFileBytes = defaultMaxFileBytes,
  deleteGraceMs = defaultDeleteGraceMs,
  picks,
  persistTimeoutMs = 10_000,
  batchKinds = fileBatchKinds,
  now = Date.now,
  newId = () => crypto.randomUUID(),
}: FileStorageOptions): FileStorage => {
  /**
   * A commit is in this tab's copy of the store at once, and in the store's database on disk
   * (LiveStore's leader, shared by the tabs) a moment later: a page closed in between loses it.
   * Resolves true once every commit of this tab so far is there, false after `persistTimeoutMs`
   * (a stalled session, see docs/guarantees.md: the file shows, its pick stays noted).
   */
  const persisted = async (): Promise<boolean> => {
    // This tab's commits so far end at its local head; they are in once the leader's confirmed
    // head reaches it (later commits, the file sync's, need not be). Read, not subscribed to:
    // LiveStore 0.4 hands each change of its sync status to one of its subscribers only, and the
    // page has one already (watchSessionStall in boot.ts).
    const mine = eventNumber(store.syncStatus().localHead)
    const deadline = Date.now() + persistTimeoutMs
    for (;;) {
      const status = store.syncStatus()
      if (status.pendingCount === 0 || atOrPast(eventNumber(status.upstreamHead), mine)) return true
      if (Date.now() >= deadline) return false
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  const describe = (file: Blob & { name?: string }) => ({
    name: file.name || 'Untitled',
    mimeType: file.type || 'application/octet-stream',
  })

  const write = async (file: Blob & { name?: string }) => {
    if (file.size > maxFileBytes) {
      throw new FileError('too-large', `"${describe(file).name}" is ${formatBytes(file.size)}; files up to ${formatBytes(maxFileBytes)} can be added.`)
    }
    return local.put(file)
  }

  /**
   * Saves are committed in batches (commit-queue.ts): a pick of 1,000 photos makes a few dozen
   * commits, not 1,000. A batch commits once its bytes are surely on disk: the removal of an
   * older file with the same content may have taken them between the write and now, and then
   * they are written again (a save whose bytes cannot be written again fails alone).
   */
  type Save = { file: Blob; hash: string; events: () => FileSyncEvent[]; error?: unknown }
  const saves = createCommitQueue<Save>({
    intervalMs: saveCommitIntervalMs,
    commit: async (batch) => {
      const committed = await withLock(bytesLock(store.storeId), async () => {
        await Promise.all(
          batch.map(async (save) => {
            try {
              if (!(await local.exists(save.hash))) await local.put(save.file, { expectedHash: save.hash })
            } catch (error) {
              save.error = error
            }
          }),
        )
        const ready = batch.filter((save) => save.error === undefined)
        if (ready.length > 0)
          store.commit(
            ...batchEvents(
              ready.flatMap((save) => save.events()),
              { kinds: batchKinds },
            ),
          )
        return ready.length > 0
      })
      // Saved means on disk, where a reload finds it: the next batch waits meanwhile, and grows.
      if (committed) await persisted()
    },
  })
  const commitWithBytes = async (file: Blob, hash: string, events: () => FileSyncEvent[]) => {
    const save: Save = { file, hash, events }
    await saves.add(save)
    if (save.error !== undefined) throw toFileError(save.error)
  }

  const save = async (file: Blob & { name?: string }, id: string, alsoCommit?: (fileId: string) => FileSyncEvent[]) => {
    const { hash, size } = await write(file)
    await commitWithBytes(file, hash, () => [
      events.fileCreated({ id, ...describe(file), size, contentHash: hash, createdAt: now() }),
      tables.localFilesState.set({ ...emptyLocalFileState, ...transitions.saved(hash) }, id),
      ...(alsoCommit?.(id) ?? []),
    ])
    return id
  }

  const storage = {
    saveFile: (file, { alsoCommit } = {}) => save(file, newId(), alsoCommit),

    async saveFiles(files, { alsoCommit } = {}) {
      const picked = files.map((file) => ({ id: newId(), name: describe(file).name, size: file.size }))
      const pick = await picks?.begin(picked)
      let results: Array<PromiseSettledResult<string>> = []
      try {
        results = await Promise.allSettled(files.map((file, index) => save(file, picked[index]!.id, alsoCommit)))
      } finally {
        // Forgotten once every saved file is on disk; otherwise the next page to open tells which are not.
        pick?.end({ saved: await persisted() })
      }
      return results
    },

    async unsavedFiles() {
      const unfinished = (await picks?.takeUnfinished()) ?? []
      return unfinished.filter((file) => store.query(tables.files.where({ id: file.id }).first()) === undefined)
    },

    async updateFile(fileId, file) {
      const current = store.query(tables.files.where({ id: fileId }).first())
      if (!current || current.deletedAt !== null) throw new FileError('not-found', 'This file no longer exists.')
      const { hash, size } = await write(file)
      await commitWithBytes(file, hash, () => [
        // The content this edit replaces, as this device saw it: if another device's edit
        // comes first in LiveStore's order, the store keeps that one as a conflict copy.
        events.fileUpdated({ id: fileId, ...describe(file), size, contentHash: hash, updatedAt: now(), previousHash: current.contentHash }),
        tables.localFilesState.set(transitions.saved(hash), fileId),
      ])
    },

    deleteFile(fileId, { alsoCommit = [] } = {}) {
      store.commit(events.fileDeleted({ id: fileId, deletedAt: now() }), ...alsoCommit)
    },

    restoreFile(fileId, { alsoCommit = [] } = {}) {
      const file = store.query(tables.files.where({ id: fileId }).first())
      if (!file) throw new FileError('not-found', 'This file does not exist.')
      if (file.deletedAt === null) throw new FileError('bad-request', `"${file.name}" is not deleted.`)
      const at = now()
      if (!inGrace(file, { now: at, deleteGraceMs })) {
        throw new FileError('not-found', `"${file.name}" was deleted more than ${formatDuration(deleteGraceMs)} ago: it can no longer be restored.`)
      }
      store.commit(
        events.fileRestored({ id: fileId, restoredAt: at }),
        // This device has the server keep the bytes (their deletion may be pending there).
        tables.localFilesState.set(transitions.restoredHere(), fileId),
        ...alsoCommit,
      )
    },
  } satisfies Omit<FileStorage, 'whenIdle'>

  // A file being saved lives only in the page's memory until its commit: whoever reloads the
  // page (the upstream stall watchdog) waits for these first.
  let writing = 0
  const idle: Array<() => void> = []
  const tracked =
    <A extends unknown[], T>(work: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      writing += 1
      try {
        return await work(...args)
      } finally {
        writing -= 1
        if (writing === 0) for (const resolve of idle.splice(0)) resolve()
      }
    }

  return {
    ...storage,
    saveFile: tracked(storage.saveFile),
    saveFiles: tracked(storage.saveFiles),
    updateFile: tracked(storage.updateFile),
    whenIdle: () => (writing === 0 ? Promise.resolve() : new Promise((resolve) => idle.push(resolve))),
  }
}

/** An event's number as LiveStore's sync status writes it (`e12`, `e12.3`, `e12.3r1`): global, then client. */
const eventNumber = (text: string): [number, number] => {
  const match = /^e(\d+)(?:\.(\d+))?/.exec(text)
  return match ? [Number(match[1]), Number(match[2] ?? 0)] : [0, 0]
}
const atOrPast = ([global, client]: [number, number], [globalOf, clientOf]: [number, number]) =>
  global > globalOf || (global === globalOf && client >= clientOf)

/** The URL the service worker answers: immutable, since it names the content's hash. */
export const fileUrl = (storeId: string, file: Pick<FileRow, 'contentHash' | 'mimeType'>): string =>
  `/files/${encodeURIComponent(storeId)}/${encodeURIComponent(file.contentHash)}?type=${encodeURIComponent(file.mimeType)}`

/** A grace period in the largest whole unit that fits: "24 hours", "90 seconds". */
export const formatDuration = (ms: number): string => {
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1_000],
  ]
  const [unit, size] = units.find(([, size]) => ms >= size && ms % size === 0) ?? ['second', 1_000]
  const count = Math.round(ms / size)
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}
