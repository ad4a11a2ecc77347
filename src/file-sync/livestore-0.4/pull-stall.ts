import { realTimer } from '../shared/timers.ts'
import type { LeaderSignals } from './upstream-stall.ts'

/**
 * A watchdog for LiveStore 0.4's live pull, which can die without a sign.
 *
 * When the sync socket misses its pings (a server busy for some seconds, or a network that drops
 * packets without closing the connection), LiveStore's WebSocket client opens a new socket but
 * does not fail the requests under way (upstream #1365). The live pull was one of them, and the
 * new socket never carries it. The device still looks connected, and its pushes still go
 * through, but it hears nothing more from the other devices until its leader starts again.
 *
 * So the watchdog asks the server for the store's head (the number of its last event) every
 * `checkEveryMs`, while this tab runs the leader and is connected. The pull is dead when the
 * leader's confirmed head stayed below a head that the server reported one check earlier,
 * without moving at all in between. A live pull brings a new event within a second.
 */
export interface PullStallOptions {
  signals: LeaderSignals
  /** The store's head on the server; undefined when it could not be asked (a check is skipped). */
  serverHead: () => Promise<number | undefined>
  /** Called once, when a stall is seen; the watch ends with it. */
  onStall: (behind: { confirmedHead: number; serverHead: number }) => void
  checkEveryMs?: number
  /** Starts a timer and returns its cancel; real timers unless a test's clock is given. */
  setTimer?: (callback: () => void, ms: number) => () => void
}

/** One small request per leader tab: frequent enough to recover within a minute. */
export const defaultPullCheckEveryMs = 30_000

export const watchPullStall = ({
  signals,
  serverHead,
  onStall,
  checkEveryMs = defaultPullCheckEveryMs,
  setTimer = realTimer,
}: PullStallOptions): (() => void) => {
  let isLeader = false
  let connected = false
  let confirmedHead = -1
  /** What the previous check saw, when the leader was behind the server then. */
  let behind: { confirmedHead: number; serverHead: number } | undefined
  let cancelTimer: (() => void) | undefined
  let stopped = false

  const active = () => !stopped && isLeader && connected

  const check = async () => {
    cancelTimer = undefined
    const head = await serverHead().catch(() => undefined)
    if (!active()) return
    if (head !== undefined) {
      if (behind !== undefined && confirmedHead === behind.confirmedHead && confirmedHead < behind.serverHead) {
        const seen = behind
        stop()
        onStall(seen)
        return
      }
      behind = head > confirmedHead ? { confirmedHead, serverHead: head } : undefined
    }
    schedule()
  }
  const schedule = () => {
    if (active() && cancelTimer === undefined) cancelTimer = setTimer(() => void check(), checkEveryMs)
  }
  /** Stops checking, and forgets what was seen: the next wait starts from nothing. */
  const pause = () => {
    cancelTimer?.()
    cancelTimer = undefined
    behind = undefined
  }
  const update = () => (active() ? schedule() : pause())

  const unsubscribes = [
    signals.leadership((value) => {
      isLeader = value
      update()
    }),
    signals.connection((value) => {
      // A new connection starts a new pull: what the old one missed says nothing about it.
      if (value !== connected) behind = undefined
      connected = value
      update()
    }),
    signals.sync((value) => {
      // Any confirmation is a pull that works.
      if (value.confirmedHead !== confirmedHead) behind = undefined
      confirmedHead = value.confirmedHead
    }),
  ]

  const stop = () => {
    stopped = true
    pause()
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
  }
  return stop
}

/**
 * The store's head from the Worker (`GET /api/sync-head/:storeId`, with the store's token);
 * undefined when the server cannot say now.
 */
export const syncHeadFrom =
  ({ url, token, fetch = globalThis.fetch.bind(globalThis) }: { url: string; token: () => string | Promise<string>; fetch?: typeof globalThis.fetch }) =>
  async (): Promise<number | undefined> => {
    const current = await token()
    if (current === '') return undefined
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${current}` },
      cache: 'no-store',
      signal: AbortSignal.timeout(10_000),
    })
    if (!response.ok) return undefined
    const { head } = (await response.json().catch(() => ({}))) as { head?: unknown }
    return typeof head === 'number' && Number.isSafeInteger(head) ? head : undefined
  }
