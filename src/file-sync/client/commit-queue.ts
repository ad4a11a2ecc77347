/**
 * Many small facts, few LiveStore commits. A commit costs the tab and LiveStore's worker about
 * the same whatever it carries (materializing, re-running the queries of the tables it writes,
 * writing the event log, pushing to the server), and a person who drops 1,000 photos makes
 * thousands of facts: saved, uploaded, downloaded. So facts that come close together go into
 * one commit, which LiveStore applies as one transaction: all of them or none.
 *
 * The first fact after a quiet spell is committed at once (in a microtask, with whatever else
 * this task adds): nothing waits when there is nothing to batch. Facts that come while a commit
 * is being prepared or made, or within `intervalMs` of the last one, wait for the next, which
 * takes them all (up to `maxItems`).
 */
export interface CommitQueue<T> {
  /** Resolves once `item` is committed; rejects with the error of its batch. */
  add(item: T): Promise<void>
  /** Resolves once every item added before this call is committed (or its batch failed). */
  flushed(): Promise<void>
}

export interface CommitQueueOptions<T> {
  /** Commits a batch: all of it or nothing. It may wait first (a lock, a look at the disk). */
  commit(items: T[]): void | Promise<void>
  /** The least time from the start of one commit to the start of the next. */
  intervalMs?: number
  maxItems?: number
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => void
}

export const createCommitQueue = <T>({
  commit,
  intervalMs = 100,
  maxItems = 500,
  now = () => performance.now(),
  setTimer = (callback, ms) => void setTimeout(callback, ms),
}: CommitQueueOptions<T>): CommitQueue<T> => {
  type Entry = { item: T; seq: number; resolve(): void; reject(error: unknown): void }
  const pending: Entry[] = []
  /** Waiting for every item up to a sequence number to be settled. */
  const waiters: Array<{ seq: number; resolve(): void }> = []
  let added = 0
  let settled = 0
  let running = false
  let waiting = false
  let lastStart = -Infinity

  const wake = () => {
    if (running || waiting || pending.length === 0) return
    waiting = true
    const wait = lastStart + intervalMs - now()
    if (wait > 0) setTimer(run, wait)
    else queueMicrotask(run)
  }

  const run = async () => {
    waiting = false
    const batch = pending.splice(0, maxItems)
    if (batch.length === 0) return
    running = true
    lastStart = now()
    try {
      await commit(batch.map((entry) => entry.item))
      for (const entry of batch) entry.resolve()
    } catch (error) {
      for (const entry of batch) entry.reject(error)
    } finally {
      running = false
      // Sequence numbers are settled in order: a batch takes the oldest pending items.
      settled = batch[batch.length - 1]!.seq
      for (let index = waiters.length - 1; index >= 0; index -= 1) {
        if (waiters[index]!.seq <= settled) waiters.splice(index, 1)[0]!.resolve()
      }
      wake()
    }
  }

  return {
    add: (item) =>
      new Promise<void>((resolve, reject) => {
        pending.push({ item, seq: (added += 1), resolve, reject })
        wake()
      }),
    flushed: () => (settled >= added ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ seq: added, resolve }))),
  }
}
