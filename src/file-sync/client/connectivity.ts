import { realTimer } from '../shared/timers.ts'

/**
 * Whether the sync server can be reached, which is what pausing transfers needs to know.
 * `navigator.onLine` alone lies (a captive portal, a server that is down), so the browser's
 * events only trigger a cheap health probe, and a sync connection that is up counts as proof.
 */
export interface Connectivity {
  readonly online: boolean
  subscribe(listener: (online: boolean) => void): () => void
  /** Something failed like a network failure: probe now instead of waiting. */
  check(): void
  stop(): void
}

export interface ConnectivityOptions {
  /** Resolves true when the server answered; must not throw. */
  probe: (signal: AbortSignal) => Promise<boolean>
  /** The browser's online/offline events (`window`). */
  events?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
  /** Another live signal, e.g. LiveStore's sync connection; `true` means reachable. */
  connection?: { subscribe(listener: (connected: boolean) => void): () => void }
  /** While offline, probe this often; while online, nothing is polled. */
  retryMs?: number
  probeTimeoutMs?: number
  setTimer?: (callback: () => void, ms: number) => () => void
}

export const createConnectivity = ({
  probe,
  events,
  connection,
  retryMs = 3_000,
  probeTimeoutMs = 3_000,
  setTimer = realTimer,
}: ConnectivityOptions): Connectivity => {
  let online = false
  let stopped = false
  let probing: Promise<void> | undefined
  let cancelRetry: (() => void) | undefined
  const listeners = new Set<(online: boolean) => void>()

  const set = (next: boolean) => {
    cancelRetry?.()
    cancelRetry = undefined
    if (!next && !stopped) cancelRetry = setTimer(check, retryMs)
    if (next === online) return
    online = next
    for (const listener of listeners) listener(online)
  }

  const check = () => {
    if (stopped || probing) return
    const controller = new AbortController()
    // The timeout settles the probe even if the probe ignores its signal.
    let timedOut!: () => void
    const timeout = new Promise<boolean>((resolve) => (timedOut = () => resolve(false)))
    const cancelTimeout = setTimer(() => {
      controller.abort()
      timedOut()
    }, probeTimeoutMs)
    probing = Promise.race([probe(controller.signal).catch(() => false), timeout]).then((reachable) => {
      cancelTimeout()
      probing = undefined
      if (!stopped) set(reachable)
    })
  }

  const onOffline = () => set(false)
  events?.addEventListener('online', check)
  events?.addEventListener('offline', onOffline)
  const stopConnection = connection?.subscribe((connected) => (connected ? set(true) : check()))
  check()

  return {
    get online() {
      return online
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    check,
    stop() {
      stopped = true
      cancelRetry?.()
      stopConnection?.()
      events?.removeEventListener('online', check)
      events?.removeEventListener('offline', onOffline)
      listeners.clear()
    },
  }
}
