import { describe, expect, test } from 'vitest'
import { syncHeadFrom, watchPullStall } from '../../src/file-sync/livestore-0.4/pull-stall.ts'
import { createManualClock } from '../support/fakes.ts'
import { manualSignals } from '../support/leader-signals.ts'
import { settle } from '../support/wait.ts'

const checkEveryMs = 30_000

/** A leader at head 10, connected; the server's head is whatever the test sets. */
const setup = () => {
  const clock = createManualClock()
  const leader = manualSignals()
  const server = { head: 10 as number | undefined, asked: 0 }
  const stalls: { confirmedHead: number; serverHead: number }[] = []
  const stop = watchPullStall({
    signals: leader.signals,
    serverHead: async () => {
      server.asked += 1
      return server.head
    },
    onStall: (behind) => stalls.push(behind),
    checkEveryMs,
    setTimer: clock.setTimer,
  })
  /** One check interval, and the answer it awaits. */
  const nextCheck = async () => {
    clock.advance(checkEveryMs)
    await settle()
  }
  return { clock, leader, server, stalls, stop, nextCheck }
}

describe('the pull stall watchdog', () => {
  test('reports a connected leader that stays below a head the server reported a check earlier, once', async () => {
    const { leader, server, stalls, nextCheck } = setup()
    server.head = 12 // another device pushed two events; this leader never hears of them
    await nextCheck()
    expect(stalls).toEqual([])
    await nextCheck()
    expect(stalls).toEqual([{ confirmedHead: 10, serverHead: 12 }])

    await nextCheck()
    await nextCheck()
    expect(stalls).toHaveLength(1)
    expect(leader.subscribers()).toBe(0)
  })

  test('a pull that brings the events in time is not a stall', async () => {
    const { leader, server, stalls, nextCheck } = setup()
    server.head = 12
    await nextCheck()
    leader.set('sync', { pending: 0, confirmedHead: 12 })
    await nextCheck()
    // A long history arrives in pages: each page is progress, even while still behind.
    server.head = 500
    await nextCheck()
    for (let head = 100; head <= 500; head += 100) {
      leader.set('sync', { pending: 0, confirmedHead: head })
      await nextCheck()
    }
    expect(stalls).toEqual([])
  })

  test('a head the server reaches between two checks gets a whole interval to arrive', async () => {
    const { leader, server, stalls, nextCheck } = setup()
    await nextCheck()
    server.head = 11
    await nextCheck() // first seen behind here
    expect(stalls).toEqual([])
    leader.set('sync', { pending: 0, confirmedHead: 11 })
    server.head = 12
    await nextCheck() // behind again, but the head moved: a new wait
    expect(stalls).toEqual([])
    await nextCheck()
    expect(stalls).toEqual([{ confirmedHead: 11, serverHead: 12 }])
  })

  test('does not ask while disconnected or in a tab that does not run the leader, and starts over after', async () => {
    const { leader, server, stalls, nextCheck } = setup()
    server.head = 12
    await nextCheck() // behind
    leader.set('connection', false)
    const asked = server.asked
    for (let i = 0; i < 10; i += 1) await nextCheck()
    expect(server.asked).toBe(asked)
    leader.set('connection', true)
    await nextCheck() // behind, seen anew after the reconnect
    expect(stalls).toEqual([])

    leader.set('leadership', false)
    for (let i = 0; i < 10; i += 1) await nextCheck()
    expect(stalls).toEqual([])
    leader.set('leadership', true)
    await nextCheck()
    expect(stalls).toEqual([])
    await nextCheck()
    expect(stalls).toHaveLength(1)
  })

  test('skips a check the server cannot answer, without forgetting what it saw', async () => {
    const { server, stalls, nextCheck } = setup()
    server.head = 12
    await nextCheck()
    server.head = undefined
    await nextCheck()
    expect(stalls).toEqual([])
    server.head = 12
    await nextCheck()
    expect(stalls).toHaveLength(1)
  })

  test('a server behind the device (reset, or still writing) is not a stall', async () => {
    const { server, stalls, nextCheck } = setup()
    server.head = 3
    for (let i = 0; i < 5; i += 1) await nextCheck()
    expect(stalls).toEqual([])
  })

  test('stops checking when stopped', async () => {
    const { clock, server, stop, nextCheck } = setup()
    await nextCheck()
    stop()
    const asked = server.asked
    await nextCheck()
    expect(server.asked).toBe(asked)
    expect(clock.pending).toBe(0)
  })
})

describe('asking the Worker for the head', () => {
  test('sends the store token and reads { head }; no token, a refusal or a bad answer give undefined', async () => {
    const requests: { url: string; authorization: string | null }[] = []
    const answer = { status: 200, body: '{"head":42}' }
    const fetch = (async (url: string, init?: RequestInit) => {
      requests.push({ url, authorization: new Headers(init?.headers).get('Authorization') })
      return new Response(answer.body, { status: answer.status })
    }) as typeof globalThis.fetch
    let token = 'tok'
    const head = syncHeadFrom({ url: '/api/sync-head/s1', token: () => token, fetch })

    expect(await head()).toBe(42)
    expect(requests).toEqual([{ url: '/api/sync-head/s1', authorization: 'Bearer tok' }])
    answer.status = 401
    expect(await head()).toBeUndefined()
    answer.status = 200
    answer.body = '{"head":"42"}'
    expect(await head()).toBeUndefined()
    answer.body = 'not json'
    expect(await head()).toBeUndefined()
    token = ''
    expect(await head()).toBeUndefined()
    expect(requests).toHaveLength(4)
  })
})
