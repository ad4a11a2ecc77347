/**
 * Who else has this store open, and what their pages upload: the page's end of the presence
 * socket (../shared/presence-protocol.ts, docs/presence.md).
 *
 * It says hello with the store's token (from the same token source as every request), pings
 * every 10 s, and reconnects after a pause that grows with each failure (1 s, 2 s, 5 s, 10 s,
 * 30 s; at once when the browser comes back online): offline, a server restart, a refused or
 * expired token (a fresh one is asked for first). A server that stops answering pings is given
 * up on, since a dead connection may never say it closed.
 *
 *   const presence = connectPresence({ url: presenceUrl(origin, storeId), getToken, device: deviceLabel() })
 *   presence.subscribe(({ connected, peers }) => ...)   // peers[i].you: this page
 *   presence.setUploading(['file-1'])
 */
import { boundedUploading, closeCodes, HELLO_TIMEOUT_MS, type Peer, PING, PING_EVERY_MS, PONG, UPLOADING_EVERY_MS } from '../shared/presence-protocol.ts'
import type { GetToken } from './remote-file-storage.ts'
import { realTimer } from '../shared/timers.ts'

export type { Peer, Profile } from '../shared/presence-protocol.ts'

/** A peer as this page shows it: `you` is this page. */
export type PresencePeer = Peer & { you: boolean }

export interface PresenceState {
  /** The server listed this page: `peers` is the store's pages now. */
  connected: boolean
  /** Every open page of the store, this one included; empty while not connected. */
  peers: readonly PresencePeer[]
}

export interface Presence {
  /** This page's id among the store's pages (a new one if another page held it). */
  readonly pageId: string
  readonly device: string
  state(): PresenceState
  subscribe(listener: (state: PresenceState) => void): () => void
  /** The files this page uploads now: told to the others (deduplicated, at most 16). */
  setUploading(fileIds: Iterable<string>): void
  close(): void
}

/** The members of a WebSocket used here (a test gives a fake). */
export interface PresenceSocket {
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: { data?: unknown; code?: number }) => void): void
}

export interface PresenceOptions {
  /** The socket's URL: `presenceUrl(baseUrl, storeId)`. */
  url: string
  getToken: GetToken
  /** What this page is called to others ("Chrome on Linux · a1b2": `deviceLabel()`). */
  device: string
  newPageId?: () => string
  connect?: (url: string) => PresenceSocket
  /** The browser's online event (`window`): reconnect at once instead of waiting out a pause. */
  events?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
  pingEveryMs?: number
  /** Nothing heard for this long (no pong, no message): the connection is taken for dead. */
  silentAfterMs?: number
  /** Pauses before reconnecting, by failures in a row; the last one repeats. */
  retryDelays?: readonly number[]
  /** The upload list goes out at most this often (the latest one). */
  uploadingEveryMs?: number
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => () => void
}

export const defaultRetryDelays = [1_000, 2_000, 5_000, 10_000, 30_000] as const

/** `ws(s)://<host>/api/presence/<storeId>`, on the origin of `baseUrl`. */
export const presenceUrl = (baseUrl: string, storeId: string): string => {
  const url = new URL(`/api/presence/${storeId}`, baseUrl)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.href
}

export const connectPresence = ({
  url,
  getToken,
  device,
  newPageId = () => crypto.randomUUID(),
  connect = (socketUrl) => new WebSocket(socketUrl),
  events,
  pingEveryMs = PING_EVERY_MS,
  silentAfterMs = pingEveryMs * 2.5,
  retryDelays = defaultRetryDelays,
  uploadingEveryMs = UPLOADING_EVERY_MS,
  now = Date.now,
  setTimer = realTimer,
}: PresenceOptions): Presence => {
  let pageId = newPageId()
  let state: PresenceState = { connected: false, peers: [] }
  let uploading: string[] = []
  const listeners = new Set<(state: PresenceState) => void>()
  let closed = false
  /** The socket of now; events of an earlier one are ignored. */
  let current: PresenceSocket | undefined
  let failures = 0
  let refreshToken = false
  let cancelRetry: (() => void) | undefined
  let cancelPing: (() => void) | undefined
  let cancelSilence: (() => void) | undefined

  /**
   * The upload list goes out at most once every UPLOADING_EVERY_MS, the latest one: a pick of a
   * thousand files changes it many times a second, and the server closes a page that floods.
   */
  let sentUploadingAt = -Infinity
  let cancelUploading: (() => void) | undefined
  const sendUploading = () => {
    if (cancelUploading !== undefined) return
    const wait = sentUploadingAt + uploadingEveryMs - now()
    if (wait > 0) {
      cancelUploading = setTimer(() => {
        cancelUploading = undefined
        sendUploading()
      }, wait)
      return
    }
    if (current === undefined || !state.connected) return
    sentUploadingAt = now()
    current.send(JSON.stringify({ type: 'uploading', fileIds: uploading }))
  }

  const emit = (next: PresenceState) => {
    state = next
    for (const listener of listeners) listener(state)
  }

  const stopTimers = () => {
    cancelPing?.()
    cancelSilence?.()
    cancelPing = cancelSilence = undefined
  }

  /** Gives up on a socket that stays silent: a dead connection may never fire its close, so go on without it. */
  const abandon = (socket: PresenceSocket) => {
    try {
      socket.close()
    } catch {
      // Closed already.
    }
    ended(socket, 0)
  }

  /** Heard from the server: it is alive until silentAfterMs from now. */
  const heard = (socket: PresenceSocket) => {
    cancelSilence?.()
    cancelSilence = setTimer(() => abandon(socket), silentAfterMs)
  }

  const pingEvery = (socket: PresenceSocket) => {
    cancelPing = setTimer(() => {
      if (current !== socket) return
      socket.send(PING)
      pingEvery(socket)
    }, pingEveryMs)
  }

  const retry = () => {
    if (closed) return
    const delay = retryDelays[Math.min(failures, retryDelays.length - 1)] ?? 30_000
    failures += 1
    cancelRetry = setTimer(() => {
      cancelRetry = undefined
      void open()
    }, delay)
  }

  const ended = (socket: PresenceSocket, code: number) => {
    if (current !== socket) return
    current = undefined
    stopTimers()
    emit({ connected: false, peers: [] })
    // A refused or expired token: a fresh one first. A page id held by another page: a new one.
    if (code === closeCodes.token || code === closeCodes.anotherStore) refreshToken = true
    if (code === closeCodes.pageIdTaken) pageId = newPageId()
    retry()
  }

  const received = (socket: PresenceSocket, data: unknown) => {
    if (current !== socket) return
    heard(socket)
    if (data === PONG || typeof data !== 'string') return
    const peers = peersOf(data)
    if (peers === undefined) return
    const first = !state.connected
    failures = 0
    emit({ connected: true, peers: peers.map((peer) => ({ ...peer, you: peer.pageId === pageId })) })
    // Said once the server has taken the hello: before, any other message would be refused.
    if (first && uploading.length > 0) sendUploading()
  }

  const open = async () => {
    if (closed || current !== undefined) return
    let token: string
    try {
      token = await getToken(refreshToken ? { refresh: true } : {})
      refreshToken = false
    } catch {
      // No token now (offline, the server down): try again later.
      return retry()
    }
    if (closed || current !== undefined) return
    let socket: PresenceSocket
    try {
      socket = connect(url)
    } catch {
      return retry()
    }
    current = socket
    // The server closes a socket without hello after 10 s; one that never even opens is given up sooner.
    cancelSilence = setTimer(() => abandon(socket), HELLO_TIMEOUT_MS)
    socket.addEventListener('open', () => {
      if (current !== socket) return
      heard(socket)
      socket.send(JSON.stringify({ type: 'hello', token, device, pageId }))
      pingEvery(socket)
    })
    socket.addEventListener('message', (event) => received(socket, event.data))
    socket.addEventListener('close', (event) => ended(socket, event.code ?? 0))
  }

  const onOnline = () => {
    if (cancelRetry === undefined) return
    cancelRetry()
    cancelRetry = undefined
    void open()
  }
  events?.addEventListener('online', onOnline)
  void open()

  return {
    get pageId() {
      return pageId
    },
    device,
    state: () => state,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setUploading(fileIds) {
      const next = boundedUploading([...fileIds])
      if (next.join('\n') === uploading.join('\n')) return
      uploading = next
      sendUploading()
    },
    close() {
      closed = true
      events?.removeEventListener('online', onOnline)
      cancelRetry?.()
      cancelUploading?.()
      stopTimers()
      const socket = current
      current = undefined
      try {
        socket?.close(1000, 'page closed')
      } catch {
        // Never opened.
      }
      listeners.clear()
    },
  }
}

/** The server's peers message, or undefined for anything else. */
const peersOf = (data: string): Peer[] | undefined => {
  try {
    const message = JSON.parse(data) as { type?: unknown; peers?: unknown }
    if (message.type !== 'peers' || !Array.isArray(message.peers)) return undefined
    return message.peers.filter(
      (peer): peer is Peer =>
        typeof peer === 'object' &&
        peer !== null &&
        typeof peer.pageId === 'string' &&
        typeof peer.userId === 'string' &&
        typeof peer.device === 'string' &&
        typeof peer.profile?.name === 'string' &&
        Array.isArray(peer.uploading),
    )
  } catch {
    return undefined
  }
}
