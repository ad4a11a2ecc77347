import { describe, expect, test } from 'vitest'

import {
  clearPendingDeletion,
  markKey,
  markPendingDeletion,
  SWEEP_POSITION_KEY,
  sweepFromLastPosition,
  sweepPendingDeletions,
} from '../../src/file-sync/server/pending-deletion.ts'
import { memoryStorage } from '../../src/file-sync/server/storage/memory.ts'

const DAY = 24 * 60 * 60 * 1000
const fileKey = (storeId: string, sha256: string) => ({ storeId, sha256, key: `${storeId}/${sha256}` })
const a = fileKey('store-a', 'a'.repeat(64))
const b = fileKey('store-a', 'b'.repeat(64))

const withFiles = async (...files: Array<{ key: string }>) => {
  const storage = memoryStorage()
  for (const file of files) await storage.put(file.key, 'bytes')
  return storage
}

describe('delayed deletion (in-memory storage)', () => {
  test('marks stored bytes only, and says from when they may go', async () => {
    const storage = await withFiles(a)
    expect(await markPendingDeletion(storage, a, { now: 1000, graceMs: DAY })).toEqual({ pendingSince: 1000, removableAfter: 1000 + DAY })
    expect(await markPendingDeletion(storage, b, { now: 1000, graceMs: DAY })).toBeUndefined()
    expect(storage.keys()).toEqual([markKey(a), a.key])
  })

  test('sweeps the bytes of marks older than the grace period, and those marks, nothing else', async () => {
    const storage = await withFiles(a, b)
    await markPendingDeletion(storage, a, { now: 0, graceMs: DAY })
    await markPendingDeletion(storage, b, { now: DAY / 2, graceMs: DAY })

    expect(await sweepPendingDeletions(storage, { now: DAY - 1, graceMs: DAY })).toEqual({ removed: [], waiting: 2, failed: 0 })
    expect(await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY })).toEqual({ removed: [a.key], waiting: 1, failed: 0 })
    expect(storage.keys()).toEqual([markKey(b), b.key])
  })

  test('keeps bytes whose mark a restore cleared', async () => {
    const storage = await withFiles(a)
    await markPendingDeletion(storage, a, { now: 0, graceMs: DAY })
    expect(await clearPendingDeletion(storage, a)).toBe(true)
    expect(await clearPendingDeletion(storage, a)).toBe(false)
    expect(await sweepPendingDeletions(storage, { now: 2 * DAY, graceMs: DAY })).toEqual({ removed: [], waiting: 0, failed: 0 })
    expect(storage.keys()).toEqual([a.key])
  })

  test('keeps bytes whose mark moved between the listing and the removal (a later deletion)', async () => {
    const storage = await withFiles(a)
    await markPendingDeletion(storage, a, { now: 0, graceMs: DAY })
    // The sweep lists the old mark; a device deletes again before its bytes go.
    const list = storage.list.bind(storage)
    storage.list = async (prefix, options) => {
      const page = await list(prefix, options)
      await markPendingDeletion(storage, a, { now: 2 * DAY, graceMs: DAY })
      return page
    }
    expect(await sweepPendingDeletions(storage, { now: 2 * DAY, graceMs: DAY })).toEqual({ removed: [], waiting: 0, failed: 0 })
    expect(storage.keys()).toContain(a.key)
  })

  test('goes through every page of marks', async () => {
    const files = Array.from({ length: 25 }, (_, index) => fileKey('store-a', index.toString(16).padStart(64, '0')))
    const storage = await withFiles(...files)
    for (const file of files) await markPendingDeletion(storage, file, { now: 0, graceMs: DAY })
    const list = storage.list.bind(storage)
    storage.list = (prefix, options) => list(prefix, { ...options, limit: 10 })
    const { removed } = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY })
    expect(removed.sort()).toEqual(files.map((file) => file.key).sort())
    expect(storage.keys()).toEqual([])
  })

  const manyMarked = async (count: number, deletedAt = 0) => {
    const files = Array.from({ length: count }, (_, index) => fileKey('store-a', index.toString(16).padStart(64, '0')))
    const storage = await withFiles(...files)
    for (const file of files) await markPendingDeletion(storage, file, { now: deletedAt, graceMs: DAY })
    return { storage, files }
  }

  test('removes at most a batch a run, says where it stopped, and carries on from there', async () => {
    const { storage, files } = await manyMarked(5)
    const first = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY, batch: 2 })
    expect(first.removed).toEqual([files[0]!.key, files[1]!.key])
    expect(first.next).toBe(markKey(files[1]!))
    const second = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY, batch: 2, startAfter: first.next })
    expect(second.removed).toEqual([files[2]!.key, files[3]!.key])
    const third = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY, batch: 2, startAfter: second.next })
    expect(third).toEqual({ removed: [files[4]!.key], waiting: 0, failed: 0 })
    expect(storage.keys()).toEqual([])
  })

  test('looks at no more than ten batches of marks still in their grace, so a run always ends', async () => {
    const { storage } = await manyMarked(30, DAY)
    const result = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY, batch: 2 })
    expect(result.waiting).toBe(20)
    expect(result.next).toBeDefined()
  })

  test('goes on past a mark whose removal fails, and says so', async () => {
    const { storage, files } = await manyMarked(3)
    const remove = storage.delete.bind(storage)
    storage.delete = async (keys) => {
      if ([keys].flat().includes(files[1]!.key)) throw new Error('storage unavailable')
      return remove(keys)
    }
    const result = await sweepPendingDeletions(storage, { now: DAY, graceMs: DAY })
    expect(result).toEqual({ removed: [files[0]!.key, files[2]!.key], waiting: 0, failed: 1 })
    // Its mark stays: the next sweep tries it again.
    expect(storage.keys()).toEqual([markKey(files[1]!), files[1]!.key])
  })

  test('as scheduled: each run starts where the last one stopped, and from the first mark once one reached the end', async () => {
    const { storage } = await manyMarked(3)
    const run = () => sweepFromLastPosition(storage, { now: DAY, graceMs: DAY, batch: 2 })
    expect((await run()).removed).toHaveLength(2)
    expect(storage.keys()).toContain(SWEEP_POSITION_KEY)
    expect((await run()).removed).toHaveLength(1)
    expect(storage.keys()).toEqual([])
  })
})
