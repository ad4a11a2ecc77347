import { type LiveStoreSchema, type Store, StoreInternalsSymbol } from '@livestore/livestore'
import { Effect, Fiber, Stream } from 'effect'
import { realTimer } from '../shared/timers.ts'

/**
 * A watchdog for a LiveStore 0.4 sync stall that the app cannot otherwise see or undo.
 *
 * When the sync backend refuses a push with ServerAheadError, LiveStore's leader parks its push
 * loop until a pull rebases the pending events. Upstream issues #1394 and #1462: when the pull
 * brings nothing to rebase on (a push that the server stored just before the connection died is
 * pulled back as a plain confirmation; or the catch-up pull never comes), the loop stays parked
 * and every later event of this device, FileUploaded included, stays on the device while the
 * connection looks healthy. Only a new leader (a reload of the tab that runs it) pushes again.
 *
 * Stalled means: this tab runs the leader, the leader is connected, it holds unconfirmed events,
 * and for `stallAfterMs` its confirmed head has not moved. LiveStore retries a failed push with
 * a backoff capped at 30 s, so anything shorter could mistake a backoff for a stall.
 */
export interface LeaderSync {
  /** Events the leader holds that the sync backend has not confirmed (client-only ones left out). */
  pending: number
  /** The global sequence number of the last event the sync backend confirmed. */
  confirmedHead: number
}

/** What the watchdog reads, as plain subscriptions: each calls back at once with the current value. */
export interface LeaderSignals {
  /** Whether this tab runs LiveStore's leader: only its reload restarts the push loop. */
  leadership(listener: (isLeader: boolean) => void): () => void
  connection(listener: (connected: boolean) => void): () => void
  sync(listener: (sync: LeaderSync) => void): () => void
}

export interface UpstreamStallOptions {
  signals: LeaderSignals
  /** Called once, when a stall is seen; the watch ends with it. */
  onStall: (sync: LeaderSync) => void
  stallAfterMs?: number
  /** Starts a timer and returns its cancel; real timers unless a test's clock is given. */
  setTimer?: (callback: () => void, ms: number) => () => void
}

export const defaultStallAfterMs = 45_000

export const watchUpstreamStall = ({ signals, onStall, stallAfterMs = defaultStallAfterMs, setTimer = realTimer }: UpstreamStallOptions): (() => void) => {
  let isLeader = false
  let connected = false
  let sync: LeaderSync = { pending: 0, confirmedHead: -1 }
  let cancelTimer: (() => void) | undefined
  let stopped = false

  const disarm = () => {
    cancelTimer?.()
    cancelTimer = undefined
  }
  /** (Re)starts the clock while the stall condition holds; progress or a change of it restarts it. */
  const evaluate = (progressed: boolean) => {
    if (stopped) return
    const waiting = isLeader && connected && sync.pending > 0
    if (!waiting) return disarm()
    if (cancelTimer && !progressed) return
    disarm()
    cancelTimer = setTimer(() => {
      cancelTimer = undefined
      stop()
      onStall(sync)
    }, stallAfterMs)
  }

  const unsubscribes = [
    signals.leadership((value) => {
      const changed = value !== isLeader
      isLeader = value
      evaluate(changed)
    }),
    signals.connection((value) => {
      const changed = value !== connected
      connected = value
      // A new connection starts a new wait: the backoff before the next push counts from it.
      evaluate(changed)
    }),
    signals.sync((value) => {
      const progressed = value.confirmedHead !== sync.confirmedHead || value.pending < sync.pending
      sync = value
      evaluate(progressed)
    }),
  ]

  const stop = () => {
    stopped = true
    disarm()
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
  }
  return stop
}

/**
 * The signals of a LiveStore 0.4 web store. The leader's sync state and lock status are not in
 * the public API; they are read through the store's internals, pinned to 0.4.0, and this returns
 * undefined (no watchdog) when they are not where they were.
 */
export const leaderSignalsOf = <TSchema extends LiveStoreSchema>(store: Store<TSchema>): LeaderSignals | undefined => {
  const clientSession = clientSessionOf(store)
  const syncGet = clientSession?.leaderThread?.syncState?.get
  const syncChanges = clientSession?.leaderThread?.syncState?.changes
  const lockChanges = clientSession?.lockStatus?.changes
  if (!syncGet || !syncChanges || !lockChanges) return undefined

  const follow = <A>(stream: Stream.Stream<A, unknown>, listener: (value: A) => void) => {
    const fiber = stream.pipe(
      Stream.runForEach((value) => Effect.sync(() => listener(value))),
      Effect.catchAllCause(() => Effect.void), // the store shut down
      Effect.runFork,
    )
    return () => void Effect.runFork(Fiber.interrupt(fiber))
  }
  // Client-only events (this device's transfer states, written every second during a long
  // transfer) stay among the leader's pending events, as the server never confirms them: only
  // the events that go to the server can be waiting for it.
  const clientOnly = new Set([...store.schema.eventsDefsMap.values()].filter((def) => def.options.clientOnly).map((def) => def.name))
  const toLeaderSync = (state: InternalSyncState): LeaderSync => ({
    pending: state.pending.filter((event) => !clientOnly.has(String(event.name))).length,
    confirmedHead: state.upstreamHead.global,
  })

  return {
    leadership: (listener) => follow(lockChanges, (status) => listener(status === 'has-lock')),
    connection: (listener) =>
      follow(Stream.concat(Stream.fromEffect(store.networkStatus.get), store.networkStatus.changes), (status) => listener(status.isConnected)),
    sync: (listener) => follow(Stream.concat(Stream.fromEffect(syncGet), syncChanges), (state) => listener(toLeaderSync(state))),
  }
}

/** The store's client session, from its internals (pinned to 0.4.0); undefined when it is not there. */
const clientSessionOf = <TSchema extends LiveStoreSchema>(store: Store<TSchema>): InternalClientSession | undefined =>
  (store as unknown as Record<symbol, { clientSession?: InternalClientSession } | undefined>)[StoreInternalsSymbol]?.clientSession

interface InternalSyncState {
  pending: ReadonlyArray<{ name?: unknown }>
  upstreamHead: { global: number }
}
interface InternalClientSession {
  lockStatus?: { changes?: Stream.Stream<'has-lock' | 'no-lock'> }
  leaderThread?: {
    syncState?: { get?: Effect.Effect<InternalSyncState, unknown>; changes?: Stream.Stream<InternalSyncState, unknown> }
  }
}

/**
 * The same parking one level down, between a tab's session and the leader (LiveStore 0.4): a
 * session whose push the leader refused (another tab committed at the same moment) waits for a
 * rebase that does not always come, and its events then stay pending in that tab for good: the
 * other tabs and devices never see them. Reported once, when the session's pending count stays
 * above zero without going down for `stallAfterMs` (a push to the leader takes milliseconds),
 * and the leader answers promptly: a leader that is only slow (its disk busy with gigabytes
 * written by another process took seconds per push) is waited for, not reloaded.
 */
export const watchSessionStall = ({
  subscribe,
  onStall,
  leaderAnswers = async () => true,
  stallAfterMs = 10_000,
  setTimer = realTimer,
}: {
  /** The session's pending count (`store.subscribeSyncStatus`), at once and on each change. */
  subscribe: (listener: (pendingCount: number) => void) => () => void
  onStall: (pendingCount: number) => void
  /** Whether the leader answers a request promptly now; when it does not, the wait starts again. */
  leaderAnswers?: () => Promise<boolean>
  stallAfterMs?: number
  setTimer?: (callback: () => void, ms: number) => () => void
}): (() => void) => {
  let pending = 0
  let cancelTimer: (() => void) | undefined
  /** Which wait is the current one: a wait restarted while the leader was asked reports nothing. */
  let wait = 0
  let stopped = false
  const stop = () => {
    stopped = true
    cancelTimer?.()
    cancelTimer = undefined
    unsubscribe()
  }
  const unsubscribe = subscribe((count) => {
    if (stopped) return
    const progressed = count < pending
    pending = count
    if (count === 0) {
      cancelTimer?.()
      cancelTimer = undefined
      return
    }
    if (cancelTimer && !progressed) return
    arm()
  })
  function arm() {
    cancelTimer?.()
    const mine = ++wait
    cancelTimer = setTimer(() => void settle(mine), stallAfterMs)
  }
  async function settle(mine: number) {
    const answered = await leaderAnswers().catch(() => false)
    if (stopped || mine !== wait || pending === 0) return
    if (!answered) return arm()
    stop()
    onStall(pending)
  }
  return stop
}

/**
 * Whether the leader of `store` answers a small request (its sync state) within `withinMs`
 * (internals of 0.4.0; true when they are not where they were, as before this check existed).
 */
export const leaderAnswersWithin =
  <TSchema extends LiveStoreSchema>(store: Store<TSchema>, withinMs = 2_000) =>
  async (): Promise<boolean> => {
    const clientSession = clientSessionOf(store)
    const syncGet = clientSession?.leaderThread?.syncState?.get
    if (!syncGet) return true
    const answered = await Effect.runPromise(
      syncGet.pipe(
        Effect.as(true),
        Effect.timeoutTo({ duration: withinMs, onTimeout: () => false, onSuccess: (value) => value }),
        Effect.catchAllCause(() => Effect.succeed(false)),
      ),
    )
    return answered
  }

/** The names of the events this tab's session holds unconfirmed by the leader (internals, 0.4.0). */
export const sessionPendingEventNames = <TSchema extends LiveStoreSchema>(store: Store<TSchema>): string[] | undefined => {
  const syncState = (
    store as unknown as Record<symbol, { syncProcessor?: { syncState?: Effect.Effect<{ pending: ReadonlyArray<{ name?: unknown }> }> } } | undefined>
  )[StoreInternalsSymbol]?.syncProcessor?.syncState
  if (!syncState) return undefined
  try {
    return Effect.runSync(syncState).pending.map((event) => String(event.name))
  } catch {
    return undefined
  }
}
