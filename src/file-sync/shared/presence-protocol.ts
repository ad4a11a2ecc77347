/**
 * Who else has the store open, and what their pages upload: the messages of the presence socket
 * (`GET /api/presence/:storeId`, a WebSocket), shared by the page (../client/presence.ts) and the
 * Worker's Durable Object (../server/presence.ts). docs/presence.md tells the whole protocol.
 *
 *   page → server   { type: 'hello', token, device, pageId }   first, within HELLO_TIMEOUT_MS
 *                   { type: 'uploading', fileIds }             what this page uploads now
 *                   'ping'                                      every PING_EVERY_MS; answered 'pong'
 *   server → page   { type: 'peers', peers: [...] }             on every join, leave and change
 *
 * Only the user id (from the token) and the profile (from the server's profiles hook) are the
 * server's word; the device label, the page id and the uploading list are what a page claims.
 */

/** What the app's profiles hook says about a user; shown to every member of the store. */
export interface Profile {
  /** How the user is called on screen. */
  name: string
  /** A picture of the user (an absolute http(s) URL), if the app has one. */
  image?: string
}

/** One open page of the store, as the server tells every page. */
export interface Peer {
  /** Chosen by the page: unique among the store's open pages. */
  pageId: string
  /** From the page's token: the server's word. */
  userId: string
  /** From the server's profiles hook: the server's word. */
  profile: Profile
  /** What the page calls its device ("Chrome on Linux · a1b2"): a claim, sanitized. */
  device: string
  /** The files the page says it uploads now: a claim. */
  uploading: string[]
}

export type HelloMessage = { type: 'hello'; token: string; device: string; pageId: string }
export type UploadingMessage = { type: 'uploading'; fileIds: string[] }
export type PeersMessage = { type: 'peers'; peers: Peer[] }

export const PING = 'ping'
export const PONG = 'pong'
/** How often a page pings; the server answers without waking up (an auto-response). */
export const PING_EVERY_MS = 10_000
/** A page silent for this long (no ping, no message) is dropped; PRESENCE_TIMEOUT_SECONDS changes it. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000
/** A socket that has not said hello by then is closed (or by the heartbeat timeout, if shorter). */
export const HELLO_TIMEOUT_MS = 10_000

/** At most this many files in an uploading list (a page uploads six at a time); the rest are left out. */
export const MAX_UPLOADING = 16
/** A message larger than this is refused (1009): a hello with its token is well under 4 KiB. */
export const MAX_MESSAGE_CHARS = 8_192
export const MAX_DEVICE_CHARS = 48

/** Close codes (4000-4999 are the application's own), with the reason said beside them. */
/**
 * What a page may send besides its pings: at most this many messages in each window. A page
 * sends its uploads at most once a second (client/presence.ts); a page that sends more would
 * have every page of the store hear each of them.
 */
export const MAX_MESSAGES_PER_WINDOW = 20
export const MESSAGE_WINDOW_MS = 10_000
/** The page's own pace for its upload list: the latest list, at most this often. */
export const UPLOADING_EVERY_MS = 1_000

export const closeCodes = {
  /** Not the protocol: no JSON, no hello first, a bad page id. Do not retry as it was. */
  protocol: 4400,
  /** The token is missing, forged, malformed or expired: get a fresh one, then reconnect. */
  token: 4401,
  /** The token is for another store. */
  anotherStore: 4403,
  /** No hello in time, or silent past the heartbeat timeout. */
  timeout: 4408,
  /** Another socket of the same user took over this page id, or the page id is another user's. */
  pageIdTaken: 4409,
  /** More than MAX_MESSAGES_PER_WINDOW messages in a window: reconnect after a pause. */
  tooManyMessages: 4429,
  messageTooBig: 1009,
} as const

/** A page id: 8-64 characters of [A-Za-z0-9_-] (a page makes one with crypto.randomUUID()). */
export const isValidPageId = (pageId: unknown): pageId is string => typeof pageId === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(pageId)

/** A file id as the schema makes them (a UUID, a conflict copy's `<id>~<hash>`): printable ASCII, no quotes. */
export const isValidFileId = (fileId: unknown): fileId is string => typeof fileId === 'string' && /^[A-Za-z0-9_~.:-]{1,128}$/.test(fileId)

/**
 * A device label as shown to others: printable characters only (no controls, no bidirectional
 * overrides or isolates, which could make a label read otherwise), spaces collapsed, at most
 * MAX_DEVICE_CHARS; "unknown device" when nothing is left.
 */
export const sanitizeDeviceLabel = (label: unknown): string => {
  if (typeof label !== 'string') return 'unknown device'
  const cleaned = label
    .slice(0, MAX_DEVICE_CHARS * 4)
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s+/g, ' ')
    .trim()
  return [...cleaned].slice(0, MAX_DEVICE_CHARS).join('') || 'unknown device'
}

/** The uploading list a page may claim: valid file ids, once each, at most MAX_UPLOADING. */
export const boundedUploading = (fileIds: unknown): string[] =>
  Array.isArray(fileIds) ? [...new Set(fileIds.filter(isValidFileId))].sort().slice(0, MAX_UPLOADING) : []
