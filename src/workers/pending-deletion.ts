/**
 * Delayed deletion. A DELETE of a file does not remove its bytes: it marks them pending
 * deletion, with the time, in a small object beside them (`.pending-deletion/<storeId>/<sha256>`).
 * A scheduled sweep (the Worker's cron trigger) removes the bytes of marks older than the grace
 * period, so that an undo on any device within it brings the file back whole.
 *
 * A mark is cleared by a restore (`POST …/<sha256>/restore`, sent by a device that restores the
 * file or that had asked for the deletion and sees the file live again) and by any upload of the
 * same content (another file of the store refers to it now). The devices ask for a deletion only
 * when no live file of the store refers to the content (src/services/sync-plan.ts).
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
}

/**
 * Removes the bytes of every file pending deletion for longer than `graceMs` (all stores, or the
 * keys under `prefix`), then their marks. A mark is read again just before its bytes go: one a
 * restore cleared or a later deletion moved since the listing keeps them.
 */
export const sweepPendingDeletions = async (
  storage: FileStorage,
  { now, graceMs, prefix = MARKS_PREFIX }: { now: number; graceMs: number; prefix?: string },
): Promise<SweepResult> => {
  const result: SweepResult = { removed: [], waiting: 0 }
  let cursor: string | undefined
  do {
    const page = await storage.list(prefix, cursor === undefined ? {} : { cursor })
    for (const mark of page.objects) {
      const deletedAt = Number(mark.customMetadata[DELETED_AT])
      if (Number.isFinite(deletedAt) && now - deletedAt < graceMs) {
        result.waiting += 1
        continue
      }
      // Compared by its time, not its etag: R2's etag follows the (empty) content.
      const current = await storage.head(mark.key)
      if (current === null || current.customMetadata[DELETED_AT] !== mark.customMetadata[DELETED_AT]) continue
      const fileKey = mark.key.slice(MARKS_PREFIX.length)
      await storage.delete(fileKey)
      await storage.delete(mark.key)
      result.removed.push(fileKey)
    }
    cursor = page.cursor
  } while (cursor !== undefined)
  return result
}
