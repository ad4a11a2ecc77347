/**
 * The workarounds for LiveStore 0.4 that the page runs, behind one call. Each piece names the
 * upstream issue it waits for (README.md in this folder); a LiveStore version that fixes them
 * lets an app delete this folder and its call.
 */
import type { LiveStoreSchema, Store } from '@livestore/livestore'
import type { Connectivity } from '../client/connectivity.ts'
import { syncHeadFrom, watchPullStall } from './pull-stall.ts'
import { leaderAnswersWithin, leaderSignalsOf, sessionPendingEventNames, watchSessionStall, watchUpstreamStall } from './upstream-stall.ts'

export { makeFreshTokenWsSync } from './fresh-token-sync.ts'
export { reloadIfOpenRaced, storeOpened } from './open-retry.ts'

export interface LiveStoreStallOptions<TSchema extends LiveStoreSchema> {
  store: Store<TSchema>
  /** Whether the server answers (a socket can look up while the browser is offline). */
  connectivity: Connectivity
  /** `GET /api/sync-head/:storeId` on the Worker, and the store's current token for it. */
  syncHeadUrl: string
  token: () => Promise<string>
  /**
   * Events a reload may drop from this tab's session because they are recomputed after it (the
   * file sync's own: it asks the server again). A person's own change is never dropped.
   */
  recomputable: ReadonlySet<string>
  /** Resolves when no save is under way, so that a reload loses none. */
  whenIdle: () => Promise<void>
}

/**
 * Works around three ways LiveStore 0.4 stops syncing for good: two parked pushes (upstream
 * #1394, #1462) and a lost live pull (#1365). A reload restarts them, but drops what this tab's
 * session has not handed to the leader yet: it happens only when that is nothing, or only
 * `recomputable` events.
 */
export const watchLiveStoreStalls = <TSchema extends LiveStoreSchema>({
  store,
  connectivity,
  syncHeadUrl,
  token,
  recomputable,
  whenIdle,
}: LiveStoreStallOptions<TSchema>): void => {
  const reloadIfSafe = (what: string) => {
    const names = sessionPendingEventNames(store)
    if (names?.every((name) => recomputable.has(name))) reloadOnce(what, whenIdle)
    else console.error(`${what}, and this tab holds changes a reload would drop: not reloading (LiveStore 0.4).`)
  }
  // The leader's pushes to the server (upstream #1394, #1462): the tab that runs it reloads.
  const leader = leaderSignalsOf(store)
  if (leader) {
    // Connected means the socket is up (LiveStore's view) and the server answers (ours): a
    // socket can look up while the browser is offline, and nothing is stalled then.
    const signals = { ...leader, connection: bothConnected(leader.connection, connectivity) }
    watchUpstreamStall({
      signals,
      onStall: ({ pending }) => reloadIfSafe(`${pending} events wait for the server's confirmation while connected (LiveStore 0.4 parked them)`),
    })
    // The leader's live pull, lost when its socket reopened after missed pings (upstream #1365).
    watchPullStall({
      signals,
      serverHead: syncHeadFrom({ url: syncHeadUrl, token }),
      onStall: ({ confirmedHead, serverHead }) =>
        reloadIfSafe(`The server has events up to #${serverHead}, this device stays at #${confirmedHead} while connected (LiveStore 0.4 lost its live pull)`),
    })
  } else {
    console.warn('The LiveStore sync stall watchdog is off: this LiveStore version does not expose what it reads.')
  }
  // A tab's session to the shared leader, when another tab committed at the same moment.
  watchSessionStall({
    subscribe: (listener) => store.subscribeSyncStatus((status) => listener(status.pendingCount)),
    leaderAnswers: leaderAnswersWithin(store),
    onStall: (pending) => reloadIfSafe(`${pending} events of this tab wait for LiveStore's shared leader (LiveStore 0.4 parked them)`),
  })
}

/**
 * Reloads for a stalled sync, at most once in ten minutes: if a fresh leader stalls again, more
 * reloads would only disturb the person; the events stay where they are meanwhile.
 */
const reloadOnce = (what: string, whenIdle: () => Promise<void>) => {
  const key = 'file-sync:stall-reload'
  const last = Number(window.sessionStorage.getItem(key) ?? 0)
  if (Date.now() - last < 10 * 60_000) {
    console.error(`${what}, still after a reload: not reloading again; the events stay on this device (LiveStore 0.4).`)
    return
  }
  window.sessionStorage.setItem(key, String(Date.now()))
  console.warn(`${what}: reloading to resume.`)
  void whenIdle().then(() => window.location.reload())
}

const bothConnected =
  (socket: (listener: (connected: boolean) => void) => () => void, connectivity: Connectivity) =>
  (listener: (connected: boolean) => void): (() => void) => {
    let socketUp = false
    let reachable = connectivity.online
    const unsubscribeSocket = socket((up) => {
      socketUp = up
      listener(socketUp && reachable)
    })
    const unsubscribeServer = connectivity.subscribe((online) => {
      reachable = online
      listener(socketUp && reachable)
    })
    return () => {
      unsubscribeSocket()
      unsubscribeServer()
    }
  }
