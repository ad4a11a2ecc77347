import { describe, expect, test } from 'vitest'
import { createCommitQueue } from '../../src/file-sync/client/commit-queue.ts'
import { createManualClock } from '../support/fakes.ts'
import { deferred, settle } from '../support/wait.ts'

describe('createCommitQueue', () => {
  test('commits the first fact at once, and those that come meanwhile together in the next commit', async () => {
    const clock = createManualClock()
    const commits: string[][] = []
    const holding = deferred()
    const queue = createCommitQueue<string>({
      commit: async (items) => {
        commits.push(items)
        if (commits.length === 1) await holding.promise
      },
      intervalMs: 100,
      now: clock.now,
      setTimer: (callback, ms) => void clock.setTimer(callback, ms),
    })
    const first = queue.add('a')
    await settle()
    expect(commits).toEqual([['a']])
    // While the first commit is being made, and until the interval is over: they wait, together.
    const later = ['b', 'c', 'd'].map((item) => queue.add(item))
    await settle()
    expect(commits).toHaveLength(1)
    holding.resolve()
    await first
    await settle()
    expect(commits).toHaveLength(1)
    clock.advance(100)
    await Promise.all(later)
    expect(commits).toEqual([['a'], ['b', 'c', 'd']])
  })

  test('a quiet spell: the next fact is committed at once again', async () => {
    const clock = createManualClock()
    const commits: string[][] = []
    const queue = createCommitQueue<string>({ commit: (items) => void commits.push(items), intervalMs: 100, now: clock.now, setTimer: clock.setTimer })
    await queue.add('a')
    clock.advance(150)
    await queue.add('b')
    expect(commits).toEqual([['a'], ['b']])
  })

  test('a batch is all or nothing: when its commit fails, every fact of it fails, and the next batch goes on', async () => {
    const clock = createManualClock()
    let fail = true
    const committed: string[] = []
    const queue = createCommitQueue<string>({
      commit: (items) => {
        if (fail) throw new Error('the store refused the commit')
        committed.push(...items)
      },
      intervalMs: 0,
      now: clock.now,
      setTimer: clock.setTimer,
    })
    const batch = ['a', 'b'].map((item) => queue.add(item))
    const outcomes = await Promise.allSettled(batch)
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect(committed).toEqual([])
    fail = false
    await queue.add('c')
    expect(committed).toEqual(['c'])
  })

  test('takes at most maxItems per commit', async () => {
    const commits: number[][] = []
    const queue = createCommitQueue<number>({ commit: (items) => void commits.push(items), intervalMs: 0, maxItems: 2 })
    await Promise.all([1, 2, 3, 4, 5].map((item) => queue.add(item)))
    expect(commits).toEqual([[1, 2], [3, 4], [5]])
  })

  test('flushed() waits for every fact added before it, not for those added after', async () => {
    const clock = createManualClock()
    const commits: string[][] = []
    const queue = createCommitQueue<string>({ commit: (items) => void commits.push(items), intervalMs: 100, now: clock.now, setTimer: clock.setTimer })
    await queue.add('a')
    void queue.add('b')
    let flushed = false
    void queue.flushed().then(() => (flushed = true))
    await settle()
    expect(flushed).toBe(false)
    clock.advance(100)
    await settle()
    expect(flushed).toBe(true)
    expect(commits).toEqual([['a'], ['b']])
    await expect(queue.flushed()).resolves.toBeUndefined()
  })
})
