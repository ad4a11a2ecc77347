import { describe, expect, test } from 'vitest'
import { type ConnectivityOptions, createConnectivity } from '../../src/file-sync/client/connectivity.ts'
import { createManualClock } from '../support/fakes.ts'
import { type Deferred, deferred, waitFor } from '../support/wait.ts'

/** A health probe whose every answer the test gives by hand. */
const manualProbe = () => {
  const calls: Array<Deferred<boolean> & { signal: AbortSignal }> = []
  const probe = (signal: AbortSignal) => {
    const call = { ...deferred<boolean>(), signal }
    calls.push(call)
    return call.promise
  }
  const answer = async (reachable: boolean) => {
    const call = calls.at(-1)
    if (!call) throw new Error('Nothing was probed')
    call.resolve(reachable)
    // The answer is handled in promise callbacks: wait until the next probe can start.
    await call.promise
    await Promise.resolve()
    await Promise.resolve()
  }
  return { probe, calls, answer }
}

const setup = (options: Partial<ConnectivityOptions> = {}) => {
  const clock = createManualClock()
  const probe = manualProbe()
  const events = new EventTarget()
  const seen: boolean[] = []
  const connectivity = createConnectivity({
    probe: probe.probe,
    events,
    retryMs: 3_000,
    probeTimeoutMs: 1_000,
    setTimer: clock.setTimer,
    ...options,
  })
  connectivity.subscribe((online) => seen.push(online))
  return { clock, probe, events, seen, connectivity }
}

describe('createConnectivity', () => {
  test('starts offline and probes at once; online as soon as the server answers', async () => {
    const { probe, seen, connectivity } = setup()
    expect(connectivity.online).toBe(false)
    expect(probe.calls).toHaveLength(1)
    await probe.answer(true)
    expect(connectivity.online).toBe(true)
    expect(seen).toEqual([true])
  })

  test('while offline probes again every retryMs, and polls nothing once online', async () => {
    const { clock, probe, seen, connectivity } = setup()
    await probe.answer(false)
    expect(connectivity.online).toBe(false)
    expect(seen).toEqual([])
    for (let probes = 2; probes <= 4; probes += 1) {
      clock.advance(2_999)
      expect(probe.calls).toHaveLength(probes - 1)
      clock.advance(1)
      expect(probe.calls).toHaveLength(probes)
      await probe.answer(probes === 4)
    }
    expect(connectivity.online).toBe(true)
    expect(seen).toEqual([true])
    clock.advance(60_000)
    expect(probe.calls).toHaveLength(4)
    expect(clock.pending).toBe(0)
  })

  test('counts a probe that throws as unreachable', async () => {
    const clock = createManualClock()
    let probes = 0
    const connectivity = createConnectivity({
      probe: async () => {
        probes += 1
        throw new Error('probe broke')
      },
      setTimer: clock.setTimer,
      retryMs: 3_000,
    })
    // Once the failure is handled, the probe timeout is cleared and only the retry is left.
    await waitFor(() => clock.delays.length === 2 && clock.pending === 1)
    expect(connectivity.online).toBe(false)
    clock.advance(3_000)
    expect(probes).toBe(2)
  })

  test('aborts a probe that takes longer than probeTimeoutMs', async () => {
    const { clock, probe } = setup()
    clock.advance(999)
    expect(probe.calls[0]?.signal.aborted).toBe(false)
    clock.advance(1)
    expect(probe.calls[0]?.signal.aborted).toBe(true)
  })

  test("goes offline at once on the browser's offline event, and then probes every retryMs", async () => {
    const { clock, probe, events, seen, connectivity } = setup()
    await probe.answer(true)
    events.dispatchEvent(new Event('offline'))
    expect(connectivity.online).toBe(false)
    expect(seen).toEqual([true, false])
    expect(probe.calls).toHaveLength(1)
    clock.advance(3_000)
    expect(probe.calls).toHaveLength(2)
  })

  test("probes at once on the browser's online event, rather than believing it", async () => {
    const { probe, events, connectivity } = setup()
    await probe.answer(false)
    events.dispatchEvent(new Event('online'))
    expect(probe.calls).toHaveLength(2)
    expect(connectivity.online).toBe(false)
    await probe.answer(true)
    expect(connectivity.online).toBe(true)
  })

  test('check() probes now, but never two probes at once', async () => {
    const { probe, seen, connectivity } = setup()
    await probe.answer(true)
    connectivity.check()
    connectivity.check()
    expect(probe.calls).toHaveLength(2)
    await probe.answer(false)
    expect(connectivity.online).toBe(false)
    expect(seen).toEqual([true, false])
  })

  test('believes a connection that says it is up, and probes when it says it is down', async () => {
    const connection = { listener: (_connected: boolean) => {}, subscribed: true }
    const { probe, seen, connectivity } = setup({
      connection: {
        subscribe(listener) {
          connection.listener = listener
          return () => {
            connection.subscribed = false
          }
        },
      },
    })
    connection.listener(true)
    expect(connectivity.online).toBe(true)
    expect(seen).toEqual([true])
    await probe.answer(true)
    connection.listener(false)
    expect(probe.calls).toHaveLength(2)
    expect(connectivity.online).toBe(true)
    await probe.answer(false)
    expect(seen).toEqual([true, false])
    connectivity.stop()
    expect(connection.subscribed).toBe(false)
  })

  test('stops telling a listener that unsubscribed', async () => {
    const { probe, connectivity } = setup()
    const told: boolean[] = []
    const unsubscribe = connectivity.subscribe((online) => told.push(online))
    await probe.answer(true)
    unsubscribe()
    connectivity.check()
    await probe.answer(false)
    expect(told).toEqual([true])
  })

  test('after stop() probes nothing, follows no event and tells no one', async () => {
    const { clock, probe, events, seen, connectivity } = setup()
    await probe.answer(false)
    connectivity.stop()
    expect(clock.pending).toBe(0)
    events.dispatchEvent(new Event('online'))
    connectivity.check()
    clock.advance(60_000)
    expect(probe.calls).toHaveLength(1)
    expect(seen).toEqual([])
  })

  test('ignores the answer of a probe that was running when stopped', async () => {
    const { probe, seen, connectivity } = setup()
    connectivity.stop()
    await probe.answer(true)
    expect(connectivity.online).toBe(false)
    expect(seen).toEqual([])
  })

  test('a probe that hangs, ignoring its signal, counts as unreachable after the timeout and is probed again', async () => {
    const { clock, probe, connectivity } = setup()
    // The manual probe never answers unless told to: a server that accepts and never replies.
    clock.advance(1_000)
    await waitFor(() => probe.calls[0]?.signal.aborted === true)
    await Promise.resolve()
    expect(connectivity.online).toBe(false)
    clock.advance(3_000)
    await waitFor(() => probe.calls.length === 2)
    await probe.answer(true)
    expect(connectivity.online).toBe(true)
  })
})
