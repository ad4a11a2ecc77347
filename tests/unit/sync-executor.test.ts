import { describe, expect, test } from 'vitest'
import { FileError, type FileErrorKind } from '../../src/file-sync/client/errors.ts'
import { backoffDelay, createSyncExecutor, type SyncExecutorOptions, type TransferKind, type TransferTask } from '../../src/file-sync/client/sync-executor.ts'
import { createManualClock } from '../support/fakes.ts'
import { type Deferred, deferred, settle, waitFor } from '../support/wait.ts'

/** A transfer whose every try the test ends by hand, and which stops when aborted, like a real one. */
const controlledTask = (key: string, kind: TransferKind = 'upload', weight?: number) => {
  const tries: Array<Deferred<void> & { signal: AbortSignal }> = []
  const failures: Array<{ kind: FileErrorKind; attempt: number; retryInMs: number | undefined }> = []
  const task: TransferTask = {
    key,
    kind,
    ...(weight === undefined ? {} : { weight }),
    run(signal) {
      const attempt = { ...deferred(), signal }
      signal.addEventListener('abort', () => attempt.reject(signal.reason), { once: true })
      tries.push(attempt)
      return attempt.promise
    },
    onFailure: (error, attempt, retryInMs) => void failures.push({ kind: error.kind, attempt, retryInMs }),
  }
  const current = () => {
    const attempt = tries.at(-1)
    if (!attempt) throw new Error(`${key} has not run`)
    return attempt
  }
  return {
    task,
    tries,
    failures,
    succeed: () => current().resolve(),
    fail: (error: unknown) => current().reject(error),
  }
}

const serverError = (retryAfterSeconds?: number) =>
  new FileError('server', 'The server is busy.', { status: 503, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) })

const setup = (options: SyncExecutorOptions = {}) => {
  const clock = createManualClock()
  const executor = createSyncExecutor({ backoff: { initialMs: 100, maxMs: 1_000 }, random: () => 0.5, clock, ...options })
  return { clock, executor }
}

const rejection = async (promise: Promise<unknown>): Promise<FileError> => {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  if (!(error instanceof FileError)) throw new Error(`Expected a FileError rejection, got ${String(error)}`)
  return error
}

describe('backoffDelay', () => {
  const backoff = { initialMs: 100, maxMs: 1_000 }

  test('doubles its ceiling per attempt and jitters between half the ceiling and the ceiling', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, backoff, () => 0))).toEqual([50, 100, 200, 400])
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, backoff, () => 1))).toEqual([100, 200, 400, 800])
  })

  test('never waits longer than maxMs', () => {
    expect(backoffDelay(5, backoff, () => 1)).toBe(1_000)
    expect(backoffDelay(30, backoff, () => 0)).toBe(500)
  })

  test('waits at least as long as the server asked with Retry-After', () => {
    expect(backoffDelay(1, backoff, () => 0, 7)).toBe(7_000)
    expect(backoffDelay(4, backoff, () => 1, 0.1)).toBe(800)
  })
})

describe('createSyncExecutor', () => {
  test('runs a task and resolves when it succeeds', async () => {
    const { executor } = setup()
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    expect(upload.tries).toHaveLength(1)
    expect(executor.has('a')).toBe(true)
    upload.succeed()
    await done
    expect(executor.has('a')).toBe(false)
    expect(executor.size).toBe(0)
  })

  test('retries a retryable failure after an exponential backoff, capped at maxMs', async () => {
    const { clock, executor } = setup({ maxAttempts: 10 })
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      upload.fail(serverError())
      await waitFor(() => upload.failures.length === attempt)
      const delay = clock.delays.at(-1) ?? 0
      clock.advance(delay - 1)
      expect(upload.tries).toHaveLength(attempt)
      clock.advance(1)
      expect(upload.tries).toHaveLength(attempt + 1)
    }
    // random() = 0.5: three quarters of the ceiling 100, 200, 400, 800, then 1000, 1000.
    expect(clock.delays).toEqual([75, 150, 300, 600, 750, 750])
    expect(upload.failures.map((failure) => failure.retryInMs)).toEqual(clock.delays)
    upload.succeed()
    await done
  })

  test('waits out the Retry-After the server asked for', async () => {
    const { clock, executor } = setup()
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    upload.fail(serverError(30))
    await waitFor(() => upload.failures.length === 1)
    expect(clock.delays).toEqual([30_000])
    clock.advance(29_999)
    expect(upload.tries).toHaveLength(1)
    clock.advance(1)
    expect(upload.tries).toHaveLength(2)
    upload.succeed()
    await done
  })

  test('gives up after maxAttempts tries and rejects with the last error', async () => {
    const { clock, executor } = setup({ maxAttempts: 3 })
    const upload = controlledTask('a')
    const done = rejection(executor.enqueue(upload.task))
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      upload.fail(new FileError('network', `try ${attempt} failed`))
      await waitFor(() => upload.failures.length === attempt)
      clock.advance(1_000)
    }
    const error = await done
    expect(error.message).toBe('try 3 failed')
    expect(upload.tries).toHaveLength(3)
    expect(upload.failures.map(({ attempt, retryInMs }) => [attempt, retryInMs])).toEqual([
      [1, 75],
      [2, 150],
      [3, undefined],
    ])
    expect(executor.size).toBe(0)
  })

  test.each<FileErrorKind>(['bad-request', 'too-large', 'unauthorized', 'not-found'])('fails at once, without retrying, on a %s error', async (kind) => {
    const { clock, executor } = setup()
    const upload = controlledTask('a')
    const done = rejection(executor.enqueue(upload.task))
    upload.fail(new FileError(kind, 'No.'))
    expect((await done).kind).toBe(kind)
    expect(upload.failures).toEqual([{ kind, attempt: 1, retryInMs: undefined }])
    expect(clock.pending).toBe(0)
  })

  test('on a full disk holds the whole kind, keeps the task queued with its tries, and goes on when released', async () => {
    const { clock, executor } = setup()
    const first = controlledTask('first', 'download')
    const second = controlledTask('second', 'download')
    const upload = controlledTask('upload', 'upload')
    let settled = false
    void executor.enqueue(first.task).then(() => (settled = true))
    void executor.enqueue(second.task)
    first.fail(new FileError('storage-full', 'This device is out of storage space for files.'))
    await waitFor(() => executor.held.has('download'))
    second.fail(new FileError('storage-full', 'This device is out of storage space for files.'))
    await waitFor(() => second.tries.length === 1 && executor.size === 2)
    expect(first.failures).toEqual([])
    expect(clock.pending).toBe(0)
    // Other kinds go on.
    void executor.enqueue(upload.task)
    expect(upload.tries).toHaveLength(1)

    executor.release('download')
    expect(executor.held.size).toBe(0)
    expect(first.tries).toHaveLength(2)
    expect(second.tries).toHaveLength(2)
    first.succeed()
    await waitFor(() => settled)
  })

  test('treats what run() throws like fetch would: a TypeError is a network failure, retried', async () => {
    const { clock, executor } = setup()
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    upload.fail(new TypeError('fetch failed'))
    await waitFor(() => upload.failures.length === 1)
    expect(upload.failures[0]).toEqual({ kind: 'network', attempt: 1, retryInMs: 75 })
    clock.advance(75)
    upload.succeed()
    await done
  })

  test('runs at most the configured number of tasks of one kind at a time, without holding up other kinds', async () => {
    const { executor } = setup({ concurrency: { upload: 2, download: 1 } })
    const running: Record<TransferKind, number> = { upload: 0, download: 0, remove: 0, local: 0 }
    const peak = { ...running }
    const task = (key: string, kind: TransferKind): TransferTask => ({
      key,
      kind,
      async run() {
        running[kind] += 1
        peak[kind] = Math.max(peak[kind], running[kind])
        await new Promise((resolve) => setTimeout(resolve, 1))
        running[kind] -= 1
      },
    })
    const uploads = ['u1', 'u2', 'u3', 'u4', 'u5'].map((key) => task(key, 'upload'))
    const downloads = ['d1', 'd2', 'd3'].map((key) => task(key, 'download'))
    await Promise.all([...uploads, ...downloads].map((transfer) => executor.enqueue(transfer)))
    expect(peak).toEqual({ upload: 2, download: 1, remove: 0, local: 0 })
  })

  test('starts 6 uploads, 6 downloads, 4 removals and 4 local tasks at once by default', () => {
    const { executor } = setup()
    const tasks = (['upload', 'download', 'remove', 'local'] as const).flatMap((kind) =>
      Array.from({ length: 8 }, (_, index) => controlledTask(`${kind}-${index}`, kind)),
    )
    for (const { task } of tasks) executor.enqueue(task).catch(() => {})
    const runningOf = (kind: TransferKind) => tasks.filter(({ task, tries }) => task.kind === kind && tries.length > 0).length
    expect([runningOf('upload'), runningOf('download'), runningOf('remove'), runningOf('local')]).toEqual([6, 6, 4, 4])
  })

  test('runs small transfers many at once and a large one alone, by the bytes they move', async () => {
    const { executor } = setup({ concurrency: { upload: 6 }, bytesAtOnce: { upload: 1_000 } })
    const small = Array.from({ length: 4 }, (_, index) => controlledTask(`small-${index}`, 'upload', 200))
    const large = controlledTask('large', 'upload', 5_000)
    const after = controlledTask('after', 'upload', 200)
    for (const { task } of [...small, large, after]) executor.enqueue(task).catch(() => {})
    // 4 × 200 fit in 1,000 bytes; the large one waits for them, and what comes after waits behind it.
    expect(small.map(({ tries }) => tries.length)).toEqual([1, 1, 1, 1])
    expect(large.tries).toHaveLength(0)
    for (const task of small.slice(0, 3)) task.succeed()
    await settle()
    expect(large.tries).toHaveLength(0)
    small[3]!.succeed()
    await settle()
    // Larger than the budget: it runs once nothing else of its kind does, and alone.
    expect(large.tries).toHaveLength(1)
    expect(after.tries).toHaveLength(0)
    large.succeed()
    await settle()
    expect(after.tries).toHaveLength(1)
  })

  test('starts an express task (a preview) at once, whatever the running ones move or how many they are', async () => {
    const { executor } = setup({ concurrency: { download: 2 }, bytesAtOnce: { download: 1_000 } })
    const large = controlledTask('large', 'download', 5_000)
    const queued = controlledTask('queued', 'download', 200)
    const preview = controlledTask('preview', 'download', 100)
    const second = controlledTask('second preview', 'download', 100)
    for (const { task } of [large, queued]) executor.enqueue(task).catch(() => {})
    for (const { task } of [preview, second]) executor.enqueue({ ...task, express: true, priority: 2 }).catch(() => {})
    // The large one fills the bytes; both previews run beside it, past the count of 2 too.
    expect([large, preview, second, queued].map(({ tries }) => tries.length)).toEqual([1, 1, 1, 0])
    large.succeed()
    await settle()
    expect(queued.tries).toHaveLength(0) // two previews run: the count is full
    preview.succeed()
    await settle()
    expect(queued.tries).toHaveLength(1)
  })

  test('runs no more express tasks at once than the kind’s count: a new device with 10,000 previews to fetch', async () => {
    const { executor } = setup({ concurrency: { download: 3 } })
    const previews = Array.from({ length: 10 }, (_, index) => controlledTask(`preview-${index}`, 'download', 100))
    for (const { task } of previews) executor.enqueue({ ...task, express: true, priority: 2 }).catch(() => {})
    expect(previews.map(({ tries }) => tries.length)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    previews[0]!.succeed()
    await settle()
    expect(previews.map(({ tries }) => tries.length)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
  })

  test('goes on with local disk work while paused: it needs no network', () => {
    const { executor } = setup()
    executor.pause()
    const upload = controlledTask('upload-1', 'upload')
    const removal = controlledTask('local-1', 'local')
    executor.enqueue(upload.task).catch(() => {})
    executor.enqueue(removal.task).catch(() => {})
    expect(upload.tries).toHaveLength(0)
    expect(removal.tries).toHaveLength(1)
  })

  test('starts queued tasks by priority, then in the order they came', async () => {
    const { executor } = setup({ concurrency: { download: 1 } })
    const started: string[] = []
    const task = (key: string, priority?: number): TransferTask => ({
      key,
      kind: 'download',
      ...(priority === undefined ? {} : { priority }),
      run: async () => void started.push(key),
    })
    const blocker = controlledTask('blocker', 'download')
    executor.enqueue(blocker.task).catch(() => {})
    const done = [task('old'), task('offscreen', -1), task('on screen', 5), task('also old'), task('on screen too', 5)].map((transfer) =>
      executor.enqueue(transfer),
    )
    blocker.succeed()
    await Promise.all(done)
    expect(started).toEqual(['on screen', 'on screen too', 'old', 'also old', 'offscreen'])
  })

  test('moves a queued task up when it comes on screen', async () => {
    const { executor } = setup({ concurrency: { download: 1 } })
    const started: string[] = []
    const task = (key: string): TransferTask => ({ key, kind: 'download', run: async () => void started.push(key) })
    const blocker = controlledTask('blocker', 'download')
    executor.enqueue(blocker.task).catch(() => {})
    const done = ['first', 'second', 'third'].map((key) => executor.enqueue(task(key)))
    executor.prioritize('third', 1)
    blocker.succeed()
    await Promise.all(done)
    expect(started).toEqual(['third', 'first', 'second'])
  })

  test('runs a task enqueued twice once, and settles both promises', async () => {
    const { executor } = setup()
    const first = controlledTask('same')
    const second = controlledTask('same')
    const promises = [executor.enqueue(first.task), executor.enqueue(second.task)]
    expect(executor.size).toBe(1)
    first.succeed()
    await Promise.all(promises)
    expect(first.tries).toHaveLength(1)
    expect(second.tries).toHaveLength(0)
  })

  test('rejects both promises of a de-duplicated task that fails', async () => {
    const { executor } = setup()
    const upload = controlledTask('same')
    const promises = [executor.enqueue(upload.task), executor.enqueue(upload.task)].map(rejection)
    upload.fail(new FileError('too-large', 'Too big.'))
    const errors = await Promise.all(promises)
    expect(errors.map((error) => error.kind)).toEqual(['too-large', 'too-large'])
  })

  test('runs a key again once its earlier task has finished', async () => {
    const { executor } = setup()
    const upload = controlledTask('a')
    const first = executor.enqueue(upload.task)
    upload.succeed()
    await first
    const second = executor.enqueue(upload.task)
    expect(upload.tries).toHaveLength(2)
    upload.succeed()
    await second
  })

  test('starts nothing while paused, lets running tasks finish, and starts the queue on resume', async () => {
    const { executor } = setup()
    const running = controlledTask('running')
    const runningDone = executor.enqueue(running.task)
    executor.pause()
    expect(executor.paused).toBe(true)
    const queued = controlledTask('queued')
    const queuedDone = executor.enqueue(queued.task)
    running.succeed()
    await runningDone
    expect(queued.tries).toHaveLength(0)
    expect(executor.has('queued')).toBe(true)
    executor.resume()
    expect(executor.paused).toBe(false)
    expect(queued.tries).toHaveLength(1)
    queued.succeed()
    await queuedDone
  })

  test('does not start a task whose backoff ends while paused, until resumed', async () => {
    const { clock, executor } = setup()
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    upload.fail(serverError())
    await waitFor(() => upload.failures.length === 1)
    executor.pause()
    clock.advance(10_000)
    expect(upload.tries).toHaveLength(1)
    executor.resume()
    expect(upload.tries).toHaveLength(2)
    upload.succeed()
    await done
  })

  test('retries at once on resume whatever was waiting out a backoff', async () => {
    const { clock, executor } = setup()
    const upload = controlledTask('a')
    const done = executor.enqueue(upload.task)
    upload.fail(serverError(600))
    await waitFor(() => upload.failures.length === 1)
    executor.pause()
    executor.resume()
    expect(upload.tries).toHaveLength(2)
    expect(clock.pending).toBe(0)
    upload.succeed()
    await done
  })

  describe('cancel', () => {
    test('drops a queued task without running it and rejects it as aborted', async () => {
      const { executor } = setup({ concurrency: { upload: 1 } })
      const first = controlledTask('first')
      const second = controlledTask('second')
      const firstDone = executor.enqueue(first.task)
      const secondDone = rejection(executor.enqueue(second.task))
      executor.cancel('second')
      expect((await secondDone).kind).toBe('aborted')
      expect(executor.has('second')).toBe(false)
      first.succeed()
      await firstDone
      expect(second.tries).toHaveLength(0)
    })

    test('stops a task waiting out a backoff: it never runs again', async () => {
      const { clock, executor } = setup()
      const upload = controlledTask('a')
      const done = rejection(executor.enqueue(upload.task))
      upload.fail(serverError())
      await waitFor(() => upload.failures.length === 1)
      executor.cancel('a')
      expect((await done).kind).toBe('aborted')
      expect(clock.pending).toBe(0)
      clock.advance(10_000)
      executor.resume()
      expect(upload.tries).toHaveLength(1)
      expect(upload.tries[0]?.signal.aborted).toBe(true)
    })

    test('aborts the signal of a running task, rejects it as aborted and frees its slot', async () => {
      const { executor } = setup({ concurrency: { upload: 1 } })
      const first = controlledTask('first')
      const next = controlledTask('next')
      const firstDone = rejection(executor.enqueue(first.task))
      const nextDone = executor.enqueue(next.task)
      executor.cancel('first')
      expect(first.tries[0]?.signal.aborted).toBe(true)
      expect((await firstDone).kind).toBe('aborted')
      expect(first.failures).toEqual([])
      await waitFor(() => next.tries.length === 1)
      next.succeed()
      await nextDone
    })

    test('does not retry a cancelled task whose run failed with a retryable error', async () => {
      const { clock, executor } = setup()
      const upload = controlledTask('a')
      const done = rejection(executor.enqueue({ ...upload.task, run: (signal) => upload.task.run(signal).catch(() => Promise.reject(serverError())) }))
      executor.cancel('a')
      expect((await done).kind).toBe('aborted')
      expect(clock.pending).toBe(0)
      expect(upload.tries).toHaveLength(1)
    })

    test('ignores a key it does not know', () => {
      const { executor } = setup()
      expect(() => executor.cancel('unknown')).not.toThrow()
      expect(executor.size).toBe(0)
    })

    // Regression test, for a bug where a cancelled task stays known until its run() has settled, so enqueueing the same key
    // in that window joins the cancelled task and rejects as 'aborted' without ever running.
    test('runs a task enqueued again right after its running predecessor was cancelled', async () => {
      const { executor } = setup()
      const first = controlledTask('a')
      executor.enqueue({ ...first.task, run: () => new Promise<void>(() => {}) }).catch(() => {})
      executor.cancel('a')
      const again = controlledTask('a')
      const done = executor.enqueue(again.task)
      await waitFor(() => again.tries.length === 1, 200)
      again.succeed()
      await done
    })
  })

  test('counts every unfinished task in size: queued, running and waiting', async () => {
    const { executor } = setup({ concurrency: { upload: 1 } })
    const waiting = controlledTask('waiting')
    executor.enqueue(waiting.task).catch(() => {})
    waiting.fail(serverError())
    await waitFor(() => waiting.failures.length === 1)
    const running = controlledTask('running')
    const queued = controlledTask('queued')
    executor.enqueue(running.task).catch(() => {})
    executor.enqueue(queued.task).catch(() => {})
    expect(running.tries).toHaveLength(1)
    expect(queued.tries).toHaveLength(0)
    expect(executor.size).toBe(3)
    for (const key of ['waiting', 'running', 'queued']) executor.cancel(key)
    await waitFor(() => executor.size === 0)
  })
})
