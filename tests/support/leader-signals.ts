import type { LeaderSignals, LeaderSync } from '../../src/file-sync/livestore-0.4/upstream-stall.ts'

/** Leader signals the test sets by hand; each subscription gets the current value at once. */
export const manualSignals = () => {
  const listeners = {
    leadership: new Set<(value: boolean) => void>(),
    connection: new Set<(value: boolean) => void>(),
    sync: new Set<(value: LeaderSync) => void>(),
  }
  const current = { leadership: true, connection: true, sync: { pending: 0, confirmedHead: 10 } as LeaderSync }
  const subscribe =
    <K extends keyof typeof listeners>(key: K) =>
    (listener: (value: (typeof current)[K]) => void) => {
      const set = listeners[key] as Set<typeof listener>
      set.add(listener)
      listener(current[key])
      return () => void set.delete(listener)
    }
  const signals: LeaderSignals = { leadership: subscribe('leadership'), connection: subscribe('connection'), sync: subscribe('sync') }
  const set = <K extends keyof typeof listeners>(key: K, value: (typeof current)[K]) => {
    current[key] = value
    for (const listener of listeners[key] as Set<(value: (typeof current)[K]) => void>) listener(value)
  }
  const subscribers = () => listeners.leadership.size + listeners.connection.size + listeners.sync.size
  return { signals, set, subscribers }
}
