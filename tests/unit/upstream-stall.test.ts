import { afterEach, describe, expect, test } from 'vitest'
import { events, tables } from '../../src/livestore/schema.ts'
import {
  type LeaderSync,
  leaderAnswersWithin,
  leaderSignalsOf,
  sessionPendingEventNames,
  watchSessionStall,
  watchUpstreamStall,
} from '../../src/file-sync/livestore-0.4/upstream-stall.ts'
import { createManualClock } from '../support/fakes.ts'
import { manualSignals } from '../support/leader-signals.ts'
import { createTestStore, localState } from '../support/store.ts'
import { settle, waitFor } from '../support/wait.ts'

const setup = () => {
  const clock = createManualClock()
  const leader = manualSignals()
  const stalls: LeaderSync[] = []
  const stop = watchUpstreamStall({ signals: leader.signals, onStall: (sync) => stalls.push(sync), stallAfterMs: 45_000, setTimer: clock.setTimer })
  return { clock, leader, stalls, stop }
}

describe('the upstream stall watchdog', () => {
  test('reports a connected leader whose unconfirmed events do not move for the whole wait, once', () => {
    const { clock, leader, stalls } = setup()
    leader.set('sync', { pending: 3, confirmedHead: 10 })
    clock.advance(44_999)
    expect(stalls).toEqual([])
    // More local events while parked are not progress.
    leader.set('sync', { pending: 4, confirmedHead: 10 })
    clock.advance(1)
    expect(stalls).toEqual([{ pending: 4, confirmedHead: 10 }])
    clock.advance(100_000)
    expect(stalls).toHaveLength(1)
    expect(leader.subscribers()).toBe(0)
  })

  test('confirmations restart the wait: a slow but moving sync is not a stall', () => {
    const { clock, leader, stalls } = setup()
    leader.set('sync', { pending: 5, confirmedHead: 10 })
    for (let head = 11; head <= 14; head += 1) {
      clock.advance(40_000)
      leader.set('sync', { pending: 15 - head, confirmedHead: head })
    }
    clock.advance(44_000)
    expect(stalls).toEqual([])
    leader.set('sync', { pending: 0, confirmedHead: 15 })
    clock.advance(100_000)
    expect(stalls).toEqual([])
  })

  test('waits while disconnected, and counts from the reconnect (LiveStore backs off up to 30 s)', () => {
    const { clock, leader, stalls } = setup()
    leader.set('connection', false)
    leader.set('sync', { pending: 2, confirmedHead: 10 })
    clock.advance(600_000)
    expect(stalls).toEqual([])
    leader.set('connection', true)
    clock.advance(44_000)
    leader.set('connection', false)
    leader.set('connection', true)
    clock.advance(44_000)
    expect(stalls).toEqual([])
    clock.advance(1_000)
    expect(stalls).toHaveLength(1)
  })

  test('a tab that does not run the leader never reports: reloading it would not help', () => {
    const { clock, leader, stalls } = setup()
    leader.set('leadership', false)
    leader.set('sync', { pending: 2, confirmedHead: 10 })
    clock.advance(600_000)
    expect(stalls).toEqual([])
    leader.set('leadership', true) // the leader tab closed and this one took over
    clock.advance(45_000)
    expect(stalls).toHaveLength(1)
  })

  test('stops watching when asked', () => {
    const { clock, leader, stalls, stop } = setup()
    leader.set('sync', { pending: 2, confirmedHead: 10 })
    stop()
    clock.advance(600_000)
    expect(stalls).toEqual([])
    expect(leader.subscribers()).toBe(0)
  })
})

describe('the signals of a real LiveStore store', () => {
  const stores: Array<{ shutdownPromise(): Promise<void> }> = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.shutdownPromise()
  })

  test('are found in its internals and follow its leader: leadership, connection, unconfirmed events', async () => {
    const store = await createTestStore()
    stores.push(store)
    const signals = leaderSignalsOf(store)
    expect(signals).toBeDefined()
    const seen = { leader: [] as boolean[], connected: [] as boolean[], sync: [] as LeaderSync[] }
    const stops = [
      signals!.leadership((value) => seen.leader.push(value)),
      signals!.connection((value) => seen.connected.push(value)),
      signals!.sync((value) => seen.sync.push(value)),
    ]
    await waitFor(() => seen.leader.length > 0 && seen.connected.length > 0 && seen.sync.length > 0)
    expect(seen.leader.at(-1)).toBe(true)
    // No sync backend in this store: nothing is ever confirmed, so commits stay pending.
    expect(seen.connected.at(-1)).toBe(false)
    store.commit(events.galleryItemAdded({ id: 'item', fileId: 'file', addedAt: 1 }))
    store.commit(events.galleryItemRemoved({ id: 'item', removedAt: 2 }))
    await waitFor(() => (seen.sync.at(-1)?.pending ?? 0) >= 2)
    expect(seen.sync.at(-1)?.confirmedHead).toBe(0)
    // The file sync writes this device's state as transfers start and end: client-only events,
    // which the server never confirms. They are not waiting for it, so they do not count.
    for (let attempt = 1; attempt <= 5; attempt += 1) store.commit(tables.localFilesState.set({ uploadAttempts: attempt }, 'file'))
    await waitFor(() => localState(store, 'file').uploadAttempts === 5)
    await settle()
    expect(seen.sync.at(-1)?.pending).toBe(2)
    for (const stop of stops) stop()
  })

  test('are undefined for an object without the internals, so the app runs without the watchdog', () => {
    expect(leaderSignalsOf({} as never)).toBeUndefined()
  })
})

describe('the session stall watchdog', () => {
  const setupSession = () => {
    const clock = createManualClock()
    let listener: (count: number) => void = () => {}
    let subscribed = true
    const stalls: number[] = []
    const leader = { answers: true, asked: 0 }
    watchSessionStall({
      subscribe: (next) => {
        listener = next
        next(0)
        return () => void (subscribed = false)
      },
      onStall: (count) => stalls.push(count),
      leaderAnswers: async () => {
        leader.asked += 1
        return leader.answers
      },
      stallAfterMs: 10_000,
      setTimer: clock.setTimer,
    })
    /** Time passes, and the leader's answer (a promise) comes. */
    const advance = async (ms: number) => {
      clock.advance(ms)
      await settle()
    }
    return { advance, stalls, leader, pending: (count: number) => listener(count), subscribed: () => subscribed }
  }

  test('reports once when the session holds events that an answering leader does not take for the whole wait', async () => {
    const { advance, stalls, pending, subscribed } = setupSession()
    pending(2)
    await advance(9_999)
    pending(3) // more local events are not progress
    await advance(1)
    expect(stalls).toEqual([3])
    await advance(60_000)
    expect(stalls).toEqual([3])
    expect(subscribed()).toBe(false)
  })

  test('a session whose events go through, even slowly, is not stalled', async () => {
    const { advance, stalls, pending } = setupSession()
    pending(3)
    await advance(9_000)
    pending(2)
    await advance(9_000)
    pending(0)
    await advance(60_000)
    expect(stalls).toEqual([])
  })

  test('a leader too busy to answer is waited for, and reported once it answers with the events still not taken', async () => {
    const { advance, stalls, leader, pending } = setupSession()
    leader.answers = false
    pending(4)
    for (let wait = 0; wait < 6; wait += 1) await advance(10_000)
    expect(stalls).toEqual([])
    expect(leader.asked).toBe(6)
    leader.answers = true
    await advance(10_000)
    expect(stalls).toEqual([4])
  })

  test('events taken while the leader is asked end the wait', async () => {
    const clock = createManualClock()
    let listener: (count: number) => void = () => {}
    const stalls: number[] = []
    let answer: (answered: boolean) => void = () => {}
    watchSessionStall({
      subscribe: (next) => {
        listener = next
        return () => {}
      },
      onStall: (count) => stalls.push(count),
      leaderAnswers: () => new Promise((resolve) => (answer = resolve)),
      stallAfterMs: 10_000,
      setTimer: clock.setTimer,
    })
    listener(2)
    clock.advance(10_000)
    listener(0) // the leader took them while it was asked
    answer(true)
    await settle()
    expect(stalls).toEqual([])
  })

  test('reads the names of the events a real session holds, and asks its leader', async () => {
    const store = await createTestStore()
    try {
      expect(sessionPendingEventNames(store)).toEqual([])
      expect(sessionPendingEventNames({} as never)).toBeUndefined()
      // Its leader answers; without the internals the check does not hold the watchdog back.
      expect(await leaderAnswersWithin(store)()).toBe(true)
      expect(await leaderAnswersWithin({} as never)()).toBe(true)
    } finally {
      await store.shutdownPromise()
    }
  })
})
