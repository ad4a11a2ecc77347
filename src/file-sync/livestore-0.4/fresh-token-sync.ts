/**
 * LiveStore's WebSocket sync with a token that stays valid.
 *
 * Store tokens expire (../file-sync/client/auth-token.ts). LiveStore 0.4 fixes the sync payload when the
 * store is created, and `makeWsSync` writes it into the socket's URL once and sends it with
 * every push and pull; the Worker checks it when the socket opens and on every push. So this
 * worker keeps its own token, renewed before it expires from the same endpoint the page uses,
 * and gives LiveStore:
 *   - a payload whose `authToken` is read when each message is encoded: always the current one;
 *   - a WebSocket constructor that puts the current token into the URL of each new connection
 *     (a reconnect after the old token expired must not present it again).
 * A page opened offline on a first visit (no token yet) starts syncing once a token comes,
 * without a reload: its live pull waits for the token.
 *
 * The pull is one long request, sent again as it was when a socket reconnects; the Worker checks
 * its token's signature and store but not its expiry (the new socket's own token was checked).
 */
import { makeWsSync } from '@livestore/sync-cf/client'
import { Effect, Stream } from 'effect'

import { createTokenProvider, type TokenProvider } from '../client/auth-token.ts'

export interface FreshTokenSyncOptions {
  /** The sync endpoint, as for `makeWsSync`. */
  url: string
  /** Where a store's tokens come from: `/api/auth/<storeId>` on the Worker. */
  tokenEndpoint: (storeId: string) => string
}

const providers = new Map<string, TokenProvider>()

export const makeFreshTokenWsSync = ({ url, tokenEndpoint }: FreshTokenSyncOptions): ReturnType<typeof makeWsSync> => {
  const connect = makeWsSync({ url })
  installTokenWebSocket(new URL(url).pathname)
  return (args) => {
    let tokens = providers.get(args.storeId)
    if (tokens === undefined) {
      const given = (args.payload as { authToken?: unknown } | undefined)?.authToken
      tokens = createTokenProvider({
        storeId: args.storeId,
        endpoint: tokenEndpoint(args.storeId),
        initial: typeof given === 'string' && given !== '' ? given : undefined,
      })
      // For as long as this worker lives: it syncs the store until the last tab closes.
      tokens.keepFresh()
      providers.set(args.storeId, tokens)
    }
    const current = tokens
    return connect({
      ...args,
      payload: {
        get authToken() {
          return current.cached()
        },
      },
    }).pipe(
      Effect.map((backend) => ({
        ...backend,
        // The live pull is one request for as long as the socket lives, its payload encoded when
        // it is sent: on a first visit offline, not before there is a token to send.
        pull: (...pullArgs: Parameters<typeof backend.pull>) =>
          Stream.unwrap(Effect.promise(() => current.whenToken()).pipe(Effect.as(backend.pull(...pullArgs)))),
      })),
    )
  }
}

/** The payload of a sync URL, with the store's current token. */
export const withCurrentToken = (url: string, syncPath: string, tokenOf: (storeId: string) => string | undefined): string => {
  const parsed = new URL(url)
  const storeId = parsed.searchParams.get('storeId')
  if (parsed.pathname !== syncPath || storeId === null || !parsed.searchParams.has('payload')) return url
  const token = tokenOf(storeId)
  if (token === undefined || token === '') return url
  // As LiveStore encodes it: JSON, URI-encoded, as one search parameter.
  parsed.searchParams.set('payload', encodeURIComponent(JSON.stringify({ authToken: token })))
  return parsed.toString()
}

let installed = false

/**
 * The token a new socket opens with. One due for renewal (the server was unreachable when it
 * was) is renewed at once, in the background: this try may be refused, and the next one, after
 * LiveStore's backoff, has the new token.
 */
const tokenForSocket = (storeId: string): string | undefined => {
  const tokens = providers.get(storeId)
  void tokens?.getToken().catch(() => {})
  return tokens?.cached()
}

const installTokenWebSocket = (syncPath: string) => {
  if (installed) return
  installed = true
  const NativeWebSocket = globalThis.WebSocket
  globalThis.WebSocket = class extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(withCurrentToken(String(url), syncPath, tokenForSocket), protocols)
    }
  }
}
