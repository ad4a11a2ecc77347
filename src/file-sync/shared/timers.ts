/** Starts a timer and returns its cancel: what the services take as `setTimer`, so that a test can give its clock. */
export type SetTimer = (callback: () => void, ms: number) => () => void

/** The real timers, the services' default. */
export const realTimer: SetTimer = (callback, ms) => {
  const timer = setTimeout(callback, ms)
  return () => clearTimeout(timer)
}
