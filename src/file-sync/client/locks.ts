/**
 * Runs `task` while holding the lock `name`, released when it settles. The page passes Web
 * Locks, which hold across the tabs of an origin; tests and single-tab uses get the in-process
 * version.
 */
export type WithLock = <T>(name: string, task: () => Promise<T>) => Promise<T>

export const webLocks =
  (locks: LockManager): WithLock =>
  async (name, task) =>
    // The DOM types nest the task's promise in request()'s; at run time it is one promise.
    (await locks.request(name, task)) as Awaited<ReturnType<typeof task>>

/** Locks that hold within this JavaScript realm only: each name's tasks run one after another. */
export const createLocalLocks = (): WithLock => {
  const tails = new Map<string, Promise<unknown>>()
  return (name, task) => {
    const previous = tails.get(name) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.catch(() => {})
    tails.set(name, tail)
    void tail.then(() => {
      if (tails.get(name) === tail) tails.delete(name)
    })
    return result
  }
}

/**
 * The lock that guards the bytes of a store on this device: taken by saves from "bytes on disk"
 * to "files committed", and by a removal from "nothing refers to these bytes" to "removed", so
 * a removal never takes bytes a new file is about to use. One for the whole store, not one per
 * content: a batch of saves takes it once (a Web Lock is a round trip to the browser), and
 * removals, which are rare and short, wait their turn.
 */
export const bytesLock = (storeId: string): string => `file-bytes:${storeId}`

/**
 * The default for services built without `withLock`: one table for the whole realm, since a
 * lock only works when everyone who takes it shares it.
 */
export const realmLocks: WithLock = createLocalLocks()

/** Runs at most `count` of the given tasks at once, the others in the order they came. */
export const concurrencyLimit = (count: number) => {
  let running = 0
  const waiting: Array<() => void> = []
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A task that ends hands its place to the next one waiting, so that none that comes
    // meanwhile can take it first and run one too many.
    if (running < count) running += 1
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await task()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running -= 1
    }
  }
}
