import { FileError, toFileError } from './errors.ts'

/** `local` is disk work only: it goes on while offline. */
export type TransferKind = 'upload' | 'download' | 'remove' | 'local'

export interface TransferTask {
  /** Identity for de-duplication: a second task with a key already known joins the first. */
  key: string
  kind: TransferKind
  /** Higher starts first among queued tasks of its kind (e.g. files on screen); default 0. */
  priority?: number
  /** The bytes it moves: tasks of one kind run together only while their bytes fit `bytesAtOnce`. */
  weight?: number
  /**
   * Starts as soon as it is first in its queue, whatever else runs (neither the count nor the
   * bytes of the other running tasks hold it back): a preview of tens of KB, which must not wait
   * for the 2 GiB download in front of it. Express tasks have a count of their own, the same as
   * the kind's (a new device of a store of 10,000 photos has 10,000 previews to fetch), and count
   * among the running tasks of their kind while they run.
   */
  express?: boolean
  run(signal: AbortSignal): Promise<void>
  /** Called after each failed try; `retryInMs` is undefined when the task gives up. */
  onFailure?(error: FileError, attempt: number, retryInMs: number | undefined): void
}

export interface SyncExecutor {
  /** Resolves when the task has succeeded; rejects with a FileError when it gives up or is cancelled. */
  enqueue(task: TransferTask): Promise<void>
  has(key: string): boolean
  /** Aborts a task wherever it is: queued, running or waiting to retry. */
  cancel(key: string): void
  /** Changes the priority of a task not started yet (what is on screen changed). */
  prioritize(key: string, priority: number): void
  /** Stops starting network tasks (offline); running ones go on and fail or finish by themselves. */
  pause(): void
  /** Starts again, and retries at once whatever was waiting out a backoff. */
  resume(): void
  readonly paused: boolean
  /**
   * Starts tasks of this kind again after a 'storage-full' failure held them. Such a failure
   * is no fault of its task: the task goes back to its queue, and the whole kind waits (a full
   * disk fails every download alike) until this is called.
   */
  release(kind: TransferKind): void
  readonly held: ReadonlySet<TransferKind>
  /** Number of tasks not finished yet, in any state. */
  readonly size: number
}

export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface SyncExecutorOptions {
  /** How many tasks of each kind run at once, at most. */
  concurrency?: Partial<Record<TransferKind, number>>
  /**
   * How many bytes the running tasks of a kind may move together: small files go many at once
   * (their cost is the round trip), a large one alone (its cost is the bytes). A task larger
   * than this runs when none of its kind does.
   */
  bytesAtOnce?: Partial<Record<TransferKind, number>>
  /** Exponential backoff: the first wait is about `initialMs`, doubling up to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number }
  /** Tries of a retryable failure before the task gives up and shows as failed. */
  maxAttempts?: number
  clock?: Clock
  random?: () => number
}

const realClock: Clock = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** The delay of a timer meant to fire at `at`: setTimeout fires at once for delays over 2^31-1 ms. */
export const delayUntil = (at: number, now: number): number => Math.min(Math.max(at - now, 0), 2 ** 31 - 1)

/**
 * Wait before try `attempt + 1`: exponential with "equal jitter" (half fixed, half random) so
 * that many devices coming back at once do not retry in step; never shorter than Retry-After.
 */
export const backoffDelay = (
  attempt: number,
  { initialMs, maxMs }: { initialMs: number; maxMs: number },
  random: () => number,
  retryAfterSeconds?: number,
): number => {
  const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1))
  const delay = ceiling / 2 + (random() * ceiling) / 2
  return retryAfterSeconds === undefined ? delay : Math.max(delay, retryAfterSeconds * 1000)
}

interface Entry {
  task: TransferTask
  attempt: number
  state: 'queued' | 'running' | 'waiting'
  controller: AbortController
  timer: unknown
  priority: number
  settled: boolean
  promise: Promise<void>
  resolve(): void
  reject(error: FileError): void
}

/**
 * Six at once: Chromium opens six connections to a host, which the page and its files worker
 * share (the sync socket apart). Measured with 100 KB files (docs/benchmark.md, many-files): the Worker
 * answers an upload in about 35 ms, so two at a time left the connection idle most of the time.
 */
const defaultConcurrency: Record<TransferKind, number> = { upload: 6, download: 6, remove: 4, local: 4 }
const MiB = 1024 * 1024
const defaultBytesAtOnce: Record<TransferKind, number> = { upload: 8 * MiB, download: 16 * MiB, remove: Infinity, local: Infinity }

export const createSyncExecutor = ({
  concurrency = {},
  bytesAtOnce = {},
  backoff = { initialMs: 1_000, maxMs: 60_000 },
  maxAttempts = 8,
  clock = realClock,
  random = Math.random,
}: SyncExecutorOptions = {}): SyncExecutor => {
  const limits: Record<TransferKind, number> = { ...defaultConcurrency, ...concurrency }
  const byteLimits: Record<TransferKind, number> = { ...defaultBytesAtOnce, ...bytesAtOnce }
  const runningBytes: Record<TransferKind, number> = { upload: 0, download: 0, remove: 0, local: 0 }
  const weightOf = (entry: Entry) => entry.task.weight ?? 0
  const entries = new Map<string, Entry>()
  const queues: Record<TransferKind, Entry[]> = { upload: [], download: [], remove: [], local: [] }
  const running: Record<TransferKind, number> = { upload: 0, download: 0, remove: 0, local: 0 }
  /** Of them, the express ones. */
  const runningExpress: Record<TransferKind, number> = { upload: 0, download: 0, remove: 0, local: 0 }
  const expressOf = (entry: Entry) => (entry.task.express === true ? 1 : 0)
  let paused = false
  const held = new Set<TransferKind>()

  /** Settles once; a cancelled running task is forgotten at once, so its key can be enqueued anew. */
  const settle = (entry: Entry, error?: FileError) => {
    if (entry.settled) return
    entry.settled = true
    if (entries.get(entry.task.key) === entry) entries.delete(entry.task.key)
    if (error) entry.reject(error)
    else entry.resolve()
  }

  const notify = (entry: Entry, error: FileError, retryInMs: number | undefined) => {
    try {
      entry.task.onFailure?.(error, entry.attempt, retryInMs)
    } catch {
      // A listener's own failure must not leave the task unsettled.
    }
  }

  const pump = () => {
    for (const kind of Object.keys(queues) as TransferKind[]) {
      if ((paused && kind !== 'local') || held.has(kind)) continue
      const queue = queues[kind]
      // In order: a large task at the head waits for the small ones to end, rather than be overtaken for ever.
      while (queue.length > 0) {
        const head = queue[0]!
        const fits = head.task.express
          ? runningExpress[kind] < limits[kind]
          : running[kind] < limits[kind] && (running[kind] === 0 || runningBytes[kind] + weightOf(head) <= byteLimits[kind])
        if (!fits) break
        start(queue.shift()!)
      }
    }
  }

  const start = (entry: Entry) => {
    const { kind } = entry.task
    entry.state = 'running'
    entry.attempt += 1
    running[kind] += 1
    runningExpress[kind] += expressOf(entry)
    runningBytes[kind] += weightOf(entry)
    let result: Promise<void>
    try {
      result = entry.task.run(entry.controller.signal)
    } catch (error) {
      result = Promise.reject(error) // a run() that throws at once fails like any other
    }
    result.then(
      () => {
        running[kind] -= 1
        runningExpress[kind] -= expressOf(entry)
        runningBytes[kind] -= weightOf(entry)
        settle(entry)
        pump()
      },
      (cause: unknown) => {
        running[kind] -= 1
        runningExpress[kind] -= expressOf(entry)
        runningBytes[kind] -= weightOf(entry)
        failed(entry, cause)
        pump()
      },
    )
  }

  const failed = (entry: Entry, cause: unknown) => {
    if (entry.controller.signal.aborted) {
      settle(entry, new FileError('aborted', 'The transfer was cancelled.', { cause }))
      return
    }
    const error = toFileError(cause)
    if (error.kind === 'storage-full') {
      const { kind } = entry.task
      entry.attempt -= 1 // not the task's fault: it keeps its tries
      entry.state = 'queued'
      enqueueEntry(entry)
      held.add(kind)
      return
    }
    if (!error.retryable || entry.attempt >= maxAttempts) {
      notify(entry, error, undefined)
      settle(entry, error)
      return
    }
    const delay = backoffDelay(entry.attempt, backoff, random, error.retryAfterSeconds)
    notify(entry, error, delay)
    entry.state = 'waiting'
    entry.timer = clock.setTimeout(() => requeue(entry), delay)
  }

  /** Queued after the last one of the same or higher priority: by priority, then in order. */
  const enqueueEntry = (entry: Entry) => {
    const queue = queues[entry.task.kind]
    const priority = entry.priority
    let index = queue.length
    while (index > 0 && queue[index - 1]!.priority < priority) index -= 1
    queue.splice(index, 0, entry)
  }

  const requeue = (entry: Entry) => {
    if (entry.state !== 'waiting') return
    entry.state = 'queued'
    enqueueEntry(entry)
    pump()
  }

  return {
    enqueue(task) {
      const known = entries.get(task.key)
      if (known) return known.promise
      let resolve!: () => void
      let reject!: (error: FileError) => void
      const promise = new Promise<void>((res, rej) => {
        resolve = res
        reject = rej
      })
      const entry: Entry = {
        task,
        attempt: 0,
        state: 'queued',
        controller: new AbortController(),
        timer: undefined,
        priority: task.priority ?? 0,
        settled: false,
        promise,
        resolve,
        reject,
      }
      entries.set(task.key, entry)
      enqueueEntry(entry)
      pump()
      return promise
    },

    has: (key) => entries.has(key),

    cancel(key) {
      const entry = entries.get(key)
      if (!entry) return
      entry.controller.abort(new DOMException('The transfer was cancelled.', 'AbortError'))
      // A running one keeps its slot until its run() has returned; the rest leave at once.
      if (entry.state === 'waiting') clock.clearTimeout(entry.timer)
      const queue = queues[entry.task.kind]
      const index = queue.indexOf(entry)
      if (index >= 0) queue.splice(index, 1)
      settle(entry, new FileError('aborted', 'The transfer was cancelled.'))
    },

    prioritize(key, priority) {
      const entry = entries.get(key)
      if (!entry || entry.priority === priority) return
      entry.priority = priority
      if (entry.state !== 'queued') return // a waiting one is placed when its backoff ends
      const queue = queues[entry.task.kind]
      queue.splice(queue.indexOf(entry), 1)
      enqueueEntry(entry)
    },

    pause() {
      paused = true
    },

    resume() {
      paused = false
      for (const entry of entries.values()) {
        if (entry.state !== 'waiting') continue
        clock.clearTimeout(entry.timer)
        requeue(entry)
      }
      pump()
    },

    get paused() {
      return paused
    },

    release(kind) {
      if (!held.delete(kind)) return
      pump()
    },

    get held() {
      return held
    },

    get size() {
      return entries.size
    },
  }
}
