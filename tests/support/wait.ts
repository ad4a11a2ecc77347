/**
 * Polls `predicate` until it holds. Tests wait for what they expect instead of sleeping a
 * guessed time, so they are as fast as the code and fail with a message saying what never came.
 */
export const waitFor = async (predicate: () => boolean | Promise<boolean>, timeoutMs = 2_000, what = predicate.toString()): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/**
 * Lets every pending callback, promise and timer of 0 ms run a few rounds. Only for checking
 * that something does NOT happen, where there is nothing to wait for.
 */
export const settle = async (rounds = 20): Promise<void> => {
  for (let round = 0; round < rounds; round += 1) await new Promise((resolve) => setTimeout(resolve, 0))
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

/** A promise the test settles by hand, to hold a call at the point it wants to look at. */
export const deferred = <T = void>(): Deferred<T> => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
