/**
 * Delayed deletion. A DELETE of a file does not remove its bytes: it marks them pending
 * deletion, with the time, in a small object beside them (`.pending-deletion/<storeId>/<sha256>`).
 * A scheduled sweep (the Worker's cron trigger) removes the bytes of marks older than the grace
 * period, so that an undo on any device within it brings the file back whole.
 *
 * A mark is cleared by a restore (`POST …/<sha256>/restore`, sent by a device that restores the
 * file or that had asked for the deletion and sees the file live again) and by any upload of the
 * same content (another file of the store refers to it now). The devices ask for a deletion only
 * when no live file of the store refers to the content (src/file-sync/client/sync-plan.ts).
 */
import type { FileKey } from './file-routes.ts'
import type { FileStorage } from './storage/types.ts'

export type GraceEnv = {
  /** How long deleted bytes stay restorable, in seconds (a wrangler var): one day by default. */
  DELETE_GRACE_SECONDS?: string
}

const DEFAULT_DELETE_GRACE_SECONDS = 24 * 60 * 60

export const deleteGraceMs = (env: GraceEnv): number =>
  (/^\d{1,10}$/.test(env.DELETE_GRACE_SECONDS ?? '') ? Number(env.DELETE_GRACE_SECONDS) : DEFAULT_DELETE_GRACE_SECONDS) * 1000

export const MARKS_PREFIX = '.pending-deletion/'
const DELETED_AT = 'deletedAt'

export const markKey = (file: FileKey): string => `${MARKS_PREFIX}${file.key}`

export interface PendingDeletion {
  /** When the deletion was asked for (ms since the epoch). */
  pendingSince: number
  /** From when the sweep may remove the bytes. */
  removableAfter: number
}

/**
 * Marks a stored file pending deletion from now: a later request moves the mark to its own time,
 * so that the grace period always counts from the last deletion asked for. Undefined when there
 * are no bytes to mark.
 */
export const markPendingDeletion = async (
  storage: FileStorage,
  file: FileKey,
  { now, graceMs }: { now: number; graceMs: number },
): Promise<PendingDeletion | undefined> => {
  if ((await storage.head(file.key)) === null) return undefined
  await storage.put(markKey(file), '', { customMetadata: { [DELETED_AT]: String(now) } })
  return { pendingSince: now, removableAfter: now + graceMs }
}

/** Clears the mark, if any: the bytes stay. Whether there was one. */
export const clearPendingDeletion = async (storage: FileStorage, file: FileKey): Promise<boolean> => {
  const key = markKey(file)
  if ((await storage.head(key)) === null) return false
  await storage.delete(key)
  return true
}

export interface SweepResult {
  /** The files whose bytes were removed (`<storeId>/<sha256>`). */
  removed: string[]
  /** Marks still inside their grace period. */
  waiting: number
  /** Marks whose removal failed (logged); the next sweep tries them again. */
  failed: number
  /** The last mark this sweep looked at when it stopped at its batch; undefined once it reached the end. */
  next?: string
}

/** Where the sweep carries on: the key after which the next one starts (absent: from the first mark). */
export const SWEEP_POSITION_KEY = '.pending-deletion-sweep'

/**
 * Removes the bytes of files pending deletion for longer than `graceMs` (all stores, or the keys
 * under `prefix`), then their marks. A mark is read again just before its bytes go: one a
 * restore cleared or a later deletion moved since the listing keeps them.
 *
 * Bounded: it removes at most `batch` files, and looks at most at ten times as many marks (many
 * still in their grace must not make a sweep endless), starting after `startAfter`; it says where
 * it stopped (`next`) so that the next sweep carries on from there. A mark whose removal fails is
 * counted and logged, and the sweep goes on with the others.
 */
export const sweepPendingDeletions = async (
  storage: FileStorage,
  {
    now,
    graceMs,
    prefix = MARKS_PREFIX,
    batch = 1000,
    startAfter,
    onRemoved,
  }: {
    now: number
    graceMs: number
    prefix?: string
    batch?: number
    startAfter?: string
    /** Told of each file removed, with its size (the store's quota counts it out). */
    onRemoved?: (file: { storeId: string; key: string; bytes: number }) => Promise<void>
  },
): Promise<SweepResult> => {
  const result: SweepResult = { removed: [], waiting: 0, failed: 0 }
  let examined = 0
  let last: string | undefined
  let cursor: string | undefined
  do {
    const page = await storage.list(prefix, cursor !== undefined ? { cursor } : startAfter !== undefined ? { startAfter } : {})
    for (const mark of page.objects) {
      if (result.removed.length + result.failed >= batch || examined >= batch * 10) return { ...result, ...(last === undefined ? {} : { next: last }) }
      examined += 1
      last = mark.key
      const deletedAt = Number(mark.customMetadata[DELETED_AT])
      if (Number.isFinite(deletedAt) && now - deletedAt < graceMs) {
        result.waiting += 1
        continue
      }
      try {
        // Compared by its time, not its etag: R2's etag follows the (empty) content.
        const current = await storage.head(mark.key)
        if (current === null || current.customMetadata[DELETED_AT] !== mark.customMetadata[DELETED_AT]) continue
        const fileKey = mark.key.slice(MARKS_PREFIX.length)
        // Its size only for whoever counts it: one more read per file otherwise.
        const bytes = onRemoved === undefined ? undefined : (await storage.head(fileKey))?.size
        await storage.delete(fileKey)
        await storage.delete(mark.key)
        result.removed.push(fileKey)
        if (bytes !== undefined) await onRemoved?.({ storeId: fileKey.split('/')[0] ?? '', key: fileKey, bytes })
      } catch (error) {
        result.failed += 1
        console.error(JSON.stringify({ route: 'sweep', mark: mark.key, error: String(error) }))
      }
    }
    cursor = page.cursor
  } while (cursor !== undefined)
  return result
}

/** One scheduled sweep: from where the last one stopped, and it records where this one did. */
export const sweepFromLastPosition = async (
  storage: FileStorage,
  options: { now: number; graceMs: number; batch: number; onRemoved?: Parameters<typeof sweepPendingDeletions>[1]['onRemoved'] },
): Promise<SweepResult> => {
  const position = await storage.get(SWEEP_POSITION_KEY)
  const startAfter = position === null ? '' : await new Response(position.body).text()
  const result = await sweepPendingDeletions(storage, { ...options, ...(startAfter === '' ? {} : { startAfter }) })
  if (result.next !== undefined) await storage.put(SWEEP_POSITION_KEY, result.next)
  else if (position !== null) await storage.delete(SWEEP_POSITION_KEY)
  return result
}
