/**
 * Presence: a Durable Object per store that knows which pages have the store open, who they are
 * (the user of their token, and that user's profile from the app's hook) and what each uploads.
 * The protocol is ../shared/presence-protocol.ts; docs/presence.md tells the whole of it.
 *
 * It uses Cloudflare's hibernatable WebSockets: the object may leave memory while its sockets
 * stay open, so everything a socket needs after a wake-up is in its attachment (its store, user,
 * page, device, uploads, token expiry), and pings are answered by the runtime without waking it
 * (`setWebSocketAutoResponse`). One alarm does the rest: it closes sockets that never said hello,
 * that went silent (no ping or message for the heartbeat timeout), or whose token expired.
 *
 *   export class PresenceDO extends createPresenceDurableObject<Env>({ profiles }) {}
 *   // in the Worker's fetch: GET /api/presence/:storeId with Upgrade: websocket
 *   return handlePresenceRequest(request, env, storeId, env.PRESENCE_DO)
 */
import { DurableObject } from 'cloudflare:workers'

import {
  boundedUploading,
  closeCodes,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  HELLO_TIMEOUT_MS,
  isValidPageId,
  MAX_MESSAGE_CHARS,
  MAX_MESSAGES_PER_WINDOW,
  MESSAGE_WINDOW_MS,
  type Peer,
  PING,
  PONG,
  type Profile,
  sanitizeDeviceLabel,
} from '../shared/presence-protocol.ts'
import { isValidStoreId, STORE_ID_RULE } from '../shared/store-id.ts'
import { type AuthEnv, checkStoreToken, secretRefusal } from './auth.ts'
import { errorResponse, methodNotAllowed } from './http.ts'

export type { Peer, Profile } from '../shared/presence-protocol.ts'

export type PresenceEnv = AuthEnv & {
  /** Seconds without a ping or message after which a page is dropped (a wrangler var); 30 by default. */
  PRESENCE_TIMEOUT_SECONDS?: string
}

/**
 * What the app knows of its users, shown to every member of a store: `get(userId, env)` returns
 * their profile. The default says the user id alone (`{ name: userId }`). Asked once per user and
 * kept for PROFILE_TTL_MS in the object's memory (a wake-up from hibernation asks again).
 */
export interface Profiles<E = unknown> {
  get(userId: string, env: E): Profile | Promise<Profile>
}

export const defaultProfiles: Profiles = { get: (userId) => ({ name: userId }) }

const PROFILE_TTL_MS = 5 * 60_000
const MAX_NAME_CHARS = 100

/** What each socket keeps through hibernation (the runtime bounds an attachment to a few KiB: every field here is bounded). */
type Attachment =
  | { state: 'waiting'; storeId: string; openedAt: number }
  | {
      state: 'ready'
      storeId: string
      openedAt: number
      userId: string
      expiresAt: number
      pageId: string
      device: string
      uploading: string[]
      /** The last message other than a ping (pings are answered without waking the object). */
      lastMessageAt: number
      /** The messages other than pings since `windowStartedAt` (at most MAX_MESSAGES_PER_WINDOW in MESSAGE_WINDOW_MS). */
      windowStartedAt?: number
      messagesInWindow?: number
    }

type Ready = Extract<Attachment, { state: 'ready' }>

export const heartbeatTimeoutMs = (env: PresenceEnv): number =>
  /^\d{1,5}$/.test(env.PRESENCE_TIMEOUT_SECONDS ?? '') && Number(env.PRESENCE_TIMEOUT_SECONDS) > 0
    ? Number(env.PRESENCE_TIMEOUT_SECONDS) * 1000
    : DEFAULT_HEARTBEAT_TIMEOUT_MS

/**
 * The Worker's side of the route: `GET <prefix>/:storeId` with `Upgrade: websocket`, handed to
 * the store's presence object. No token here: the socket's first message carries it (a URL
 * ends up in logs), and the object checks it.
 */
export const handlePresenceRequest = async (request: Request, env: AuthEnv, storeId: string, namespace: DurableObjectNamespace): Promise<Response> => {
  if (request.method !== 'GET') return methodNotAllowed(['GET'])
  if (!isValidStoreId(storeId)) return errorResponse(400, STORE_ID_RULE)
  if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return errorResponse(426, 'expected a WebSocket (Upgrade: websocket)')
  const refused = secretRefusal(request, env)
  if (refused !== undefined) return refused
  // The object learns its store from the URL it is given: one object per store id.
  const forwarded = new Request(`https://presence.internal/${storeId}`, request)
  return namespace.get(namespace.idFromName(storeId)).fetch(forwarded)
}

/** A presence Durable Object class, resolving profiles with the app's hook. */
export const createPresenceDurableObject = <E extends PresenceEnv>({ profiles = defaultProfiles as Profiles<E> }: { profiles?: Profiles<E> } = {}) =>
  class PresenceDurableObject extends DurableObject<E> {
    readonly #profiles = new Map<string, { profile: Profile; at: number }>()
    /**
     * Events one after another: a handler that awaits (a token's signature, a profile) would
     * otherwise let the next message of the same socket in before its hello is recorded.
     */
    #queue: Promise<unknown> = Promise.resolve()
    #serially<T>(task: () => Promise<T>): Promise<T> {
      const run = this.#queue.then(task)
      this.#queue = run.catch(() => {})
      return run
    }

    constructor(ctx: DurableObjectState, env: E) {
      super(ctx, env)
      // Answered by the runtime, without waking the object; the time of the last one is kept per socket.
      ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG))
    }

    override async fetch(request: Request): Promise<Response> {
      const storeId = new URL(request.url).pathname.slice(1)
      if (!isValidStoreId(storeId) || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
        return errorResponse(400, 'expected a presence WebSocket')
      }
      const { 0: client, 1: server } = new WebSocketPair()
      this.ctx.acceptWebSocket(server)
      server.serializeAttachment({ state: 'waiting', storeId, openedAt: Date.now() } satisfies Attachment)
      await this.#scheduleAlarm()
      return new Response(null, { status: 101, webSocket: client })
    }

    override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
      return this.#serially(() => this.#message(socket, message))
    }

    override webSocketClose(socket: WebSocket): Promise<void> {
      return this.#serially(async () => {
        close(socket, 1000, 'closed')
        await this.#broadcast()
      })
    }

    override webSocketError(socket: WebSocket): Promise<void> {
      return this.#serially(async () => {
        close(socket, 1011, 'socket error')
        await this.#broadcast()
      })
    }

    override alarm(): Promise<void> {
      return this.#serially(() => this.#closeOverdue())
    }

    async #message(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
      const attachment = attachmentOf(socket)
      if (attachment === undefined) return close(socket, closeCodes.protocol, 'unknown socket')
      if (typeof message !== 'string') return close(socket, closeCodes.protocol, 'messages are JSON text')
      // A ping that came while the object was awake anyway (the auto-response covers the others).
      if (message === PING) {
        socket.send(PONG)
        return
      }
      if (message.length > MAX_MESSAGE_CHARS) return close(socket, closeCodes.messageTooBig, `a message is at most ${MAX_MESSAGE_CHARS} characters`)
      const parsed = parseJson(message)
      if (attachment.state === 'waiting') return this.#hello(socket, attachment, parsed)
      // Each message of one page is told to every page of the store: a page that floods is closed.
      const now = Date.now()
      const windowStartedAt = now - (attachment.windowStartedAt ?? 0) < MESSAGE_WINDOW_MS ? (attachment.windowStartedAt ?? now) : now
      const messagesInWindow = (windowStartedAt === attachment.windowStartedAt ? (attachment.messagesInWindow ?? 0) : 0) + 1
      if (messagesInWindow > MAX_MESSAGES_PER_WINDOW) {
        close(socket, closeCodes.tooManyMessages, `at most ${MAX_MESSAGES_PER_WINDOW} messages in ${MESSAGE_WINDOW_MS / 1000} s`)
        return this.#broadcast()
      }
      const seen = { ...attachment, lastMessageAt: now, windowStartedAt, messagesInWindow }
      if (parsed?.type === 'uploading') {
        const uploading = boundedUploading(parsed.fileIds)
        const changed = uploading.join('\n') !== attachment.uploading.join('\n')
        save(socket, { ...seen, uploading })
        if (changed) await this.#broadcast()
        return
      }
      if (parsed === undefined) return close(socket, closeCodes.protocol, 'messages are JSON objects')
      // Anything else (a newer page's message) only counts as a sign of life.
      save(socket, seen)
    }

    /** Closes the sockets that never said hello, went silent, or whose token expired; then waits for the next such moment. */
    async #closeOverdue(): Promise<void> {
      const now = Date.now()
      const timeoutMs = heartbeatTimeoutMs(this.env)
      let dropped = false
      for (const socket of this.ctx.getWebSockets()) {
        const attachment = attachmentOf(socket)
        if (attachment === undefined) continue
        if (attachment.state === 'waiting') {
          if (now >= attachment.openedAt + helloTimeoutMs(timeoutMs)) close(socket, closeCodes.timeout, 'no hello in time')
          continue
        }
        if (now >= attachment.expiresAt) {
          close(socket, closeCodes.token, 'token expired: reconnect with a fresh token')
          dropped = true
        } else if (now >= this.#lastSeen(socket, attachment) + timeoutMs) {
          close(socket, closeCodes.timeout, `no ping for ${timeoutMs / 1000} s`)
          dropped = true
        }
      }
      if (dropped) await this.#broadcast()
      await this.#scheduleAlarm()
    }

    async #hello(socket: WebSocket, attachment: Attachment, hello: Record<string, unknown> | undefined): Promise<void> {
      if (hello?.type !== 'hello') return close(socket, closeCodes.protocol, 'the first message must be { type: "hello", token, device, pageId }')
      if (!isValidPageId(hello.pageId)) return close(socket, closeCodes.protocol, 'pageId must be 8-64 characters of [A-Za-z0-9_-]')
      const check = await checkStoreToken(this.env, attachment.storeId, hello.token)
      if (!check.ok) {
        return check.refusal === 'another store'
          ? close(socket, closeCodes.anotherStore, 'token refused: another store')
          : close(socket, closeCodes.token, `token refused: ${check.refusal}`)
      }
      const pageId = hello.pageId
      // A page id is one page: the same user's new socket takes it over (a reconnect the server
      // has not noticed the end of yet); another user's is refused.
      for (const other of this.ctx.getWebSockets()) {
        const held = other === socket ? undefined : attachmentOf(other)
        if (held?.state !== 'ready' || held.pageId !== pageId) continue
        if (held.userId !== check.userId) return close(socket, closeCodes.pageIdTaken, 'pageId in use: pick another')
        close(other, closeCodes.pageIdTaken, 'replaced by a newer socket of this page')
      }
      const now = Date.now()
      save(socket, {
        state: 'ready',
        storeId: attachment.storeId,
        openedAt: attachment.openedAt,
        userId: check.userId,
        expiresAt: check.expiresAt,
        pageId,
        device: sanitizeDeviceLabel(hello.device),
        uploading: [],
        lastMessageAt: now,
      })
      await this.#broadcast()
      await this.#scheduleAlarm()
    }

    /** The last sign of life: a message, or a ping the runtime answered. */
    #lastSeen(socket: WebSocket, attachment: Ready): number {
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0
      return Math.max(attachment.lastMessageAt, pinged)
    }

    /** Every open, authorized page, told to each of them. */
    async #broadcast(): Promise<void> {
      const ready = this.ctx
        .getWebSockets()
        .filter((socket) => socket.readyState === WebSocket.OPEN)
        .map((socket) => ({ socket, attachment: attachmentOf(socket) }))
        .filter((entry): entry is { socket: WebSocket; attachment: Ready } => entry.attachment?.state === 'ready')
        .sort((a, b) => a.attachment.openedAt - b.attachment.openedAt || (a.attachment.pageId < b.attachment.pageId ? -1 : 1))
      const peers: Peer[] = []
      for (const { attachment } of ready) {
        const { pageId, userId, device, uploading } = attachment
        peers.push({ pageId, userId, profile: await this.#profile(userId), device, uploading })
      }
      const message = JSON.stringify({ type: 'peers', peers })
      for (const { socket } of ready) {
        try {
          socket.send(message)
        } catch {
          // Closed meanwhile: its close handler tells the others.
        }
      }
    }

    async #profile(userId: string): Promise<Profile> {
      const cached = this.#profiles.get(userId)
      if (cached !== undefined && Date.now() - cached.at < PROFILE_TTL_MS) return cached.profile
      let profile: Profile
      try {
        profile = boundedProfile(await profiles.get(userId, this.env), userId)
      } catch (error) {
        console.error(JSON.stringify({ route: 'presence', error: 'the profiles hook failed; showing the user id', detail: String(error) }))
        profile = { name: userId }
      }
      this.#profiles.set(userId, { profile, at: Date.now() })
      return profile
    }

    /** One alarm, at the earliest moment a socket may have to go: a hello due, a heartbeat missed, a token expiring. */
    async #scheduleAlarm(): Promise<void> {
      const timeoutMs = heartbeatTimeoutMs(this.env)
      let next = Infinity
      for (const socket of this.ctx.getWebSockets()) {
        const attachment = attachmentOf(socket)
        if (attachment === undefined || socket.readyState !== WebSocket.OPEN) continue
        next = Math.min(
          next,
          attachment.state === 'waiting'
            ? attachment.openedAt + helloTimeoutMs(timeoutMs)
            : Math.min(attachment.expiresAt, this.#lastSeen(socket, attachment) + timeoutMs),
        )
      }
      if (next === Infinity) return
      const current = await this.ctx.storage.getAlarm()
      if (current === null || current > next) await this.ctx.storage.setAlarm(next)
    }
  }

const helloTimeoutMs = (heartbeatTimeoutMs: number) => Math.min(HELLO_TIMEOUT_MS, heartbeatTimeoutMs)

const attachmentOf = (socket: WebSocket): Attachment | undefined => {
  const value = socket.deserializeAttachment() as Attachment | null
  return value !== null && typeof value === 'object' && (value.state === 'waiting' || value.state === 'ready') ? value : undefined
}

const save = (socket: WebSocket, attachment: Attachment): void => socket.serializeAttachment(attachment)

/** Closes a socket, and forgets it: one closed by the server is no peer any more, even before the page answers. */
const close = (socket: WebSocket, code: number, reason: string): void => {
  try {
    socket.serializeAttachment(null)
  } catch {
    // Closed already.
  }
  try {
    socket.close(code, reason)
  } catch {
    // Closed already.
  }
}

const parseJson = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The hook's answer, bounded: it goes to every page of the store. */
const boundedProfile = (profile: Profile, userId: string): Profile => {
  const name = typeof profile?.name === 'string' && profile.name.trim() !== '' ? [...profile.name.trim()].slice(0, MAX_NAME_CHARS).join('') : userId
  const image = typeof profile?.image === 'string' && /^https?:\/\//.test(profile.image) && profile.image.length <= 2_048 ? profile.image : undefined
  return image === undefined ? { name } : { name, image }
}
