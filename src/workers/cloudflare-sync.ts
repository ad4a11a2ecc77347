/**
 * The Cloudflare Worker: LiveStore sync (one Durable Object per store) and the
 * file API (bytes in R2), both guarded by the same per-store token (./auth).
 *
 *   GET  /api/health                 liveness, the delete grace period and the size limits, no token
 *   GET  /api/auth/:storeId          a token for the store, if ./authorize.ts says so
 *   *    /api/files/:storeId/:sha256 file bytes (./files), and /uploads below it: multipart uploads
 *   GET  /api/sync-head/:storeId     the store's last event number on the server (LiveStore's head); 404 before any
 *   WS   /api/presence/:storeId      who has the store open, and what each page uploads (PresenceDO; docs/presence.md)
 *   POST /api/admin/stores/:storeId/evict   remove the store's bytes (ADMIN_SECRET; ./admin)
 *   WS   /api/sync?storeId&payload&transport=ws   LiveStore sync
 *
 * Pages of other origins reach it only when ALLOWED_ORIGINS names them (./cors).
 */
import { Schema } from '@livestore/livestore'
import { type CfTypes, handleSyncRequest, makeDurableObject, matchSyncRequest } from '@livestore/sync-cf/cf-worker'
import { env as moduleEnv } from 'cloudflare:workers'

import {
  readSyncHead,
  authenticate,
  checkStoreToken,
  handleTokenRequest,
  isValidStoreId,
  secretRefusal,
  unauthorized,
  type AuthEnv,
  type Authorize,
  handleAdminRequest,
  type AdminEnv,
  type CorsEnv,
  withCors,
  handleFileRequest,
  storageOf,
  type FilesEnv,
  errorResponse,
  json,
  methodNotAllowed,
  maintenanceBatch,
  maxFileBytes,
  maxRequestBytes,
  rateLimited,
  storeLimits,
  deleteGraceMs,
  sweepFromLastPosition,
  countContent,
  type StoreQuota,
  createPresenceDurableObject,
  handlePresenceRequest,
  type PresenceEnv,
} from '../file-sync/server/index.ts'
import { SyncPayload } from '../file-sync/schema.ts'
import { authorize as appAuthorize, type DevelopmentAuthEnv, profiles as appProfiles } from './authorize.ts'

export type Env = AuthEnv &
  PresenceEnv &
  FilesEnv &
  CorsEnv &
  AdminEnv &
  DevelopmentAuthEnv & {
    /** Typed with LiveStore's copy of Cloudflare's types, which handleSyncRequest checks it against. */
    SYNC_BACKEND_DO: CfTypes.DurableObjectNamespace
    /** One presence object per store (PresenceDO); LiveStore's copy of the types too, as handleSyncRequest checks the whole env. */
    PRESENCE_DO: CfTypes.DurableObjectNamespace
  }

/** What the page needs before any transfer: the grace period of deletes, and the sizes it may send. */
const health = (env: Env) => ({
  ok: true,
  deleteGraceMs: deleteGraceMs(env),
  /** The largest file (MAX_FILE_BYTES); larger ones are refused before anything is stored. */
  maxFileBytes: maxFileBytes(env),
  /** The largest request body (MAX_UPLOAD_BYTES): a whole file up to it, else the largest part. */
  maxRequestBytes: maxRequestBytes(env),
})

const checkSyncToken = (env: AuthEnv, storeId: string, payload: unknown, now?: number) =>
  checkStoreToken(env, storeId, Schema.is(SyncPayload)(payload) ? payload.authToken : undefined, now)

/** The close code of a socket whose token expired (4000-4999: the application's own). */
const tokenExpiredCloseCode = 4401

/** What LiveStore's Durable Object keeps with each socket: its store and the payload it opened with (JSON). */
const socketAttachment = (socket: CfTypes.WebSocket): { storeId: string; payload: unknown } => {
  try {
    const { storeId, payload } = JSON.parse(String(socket.deserializeAttachment())) as { storeId?: unknown; payload?: unknown }
    return { storeId: typeof storeId === 'string' ? storeId : '', payload }
  } catch {
    return { storeId: '', payload: undefined }
  }
}

const assertSyncToken = async (env: AuthEnv, storeId: string, payload: unknown): Promise<void> => {
  const check = await checkSyncToken(env, storeId, payload)
  if (!check.ok) throw new Error(`authToken refused for store "${storeId}": ${check.refusal}`)
}

/**
 * A pull's payload: the token's signature and store, not its expiry. A live pull is one request
 * for as long as the socket lives, sent again as it was (with the token of its time) when the
 * socket reconnects; that new socket's own token was checked, expiry included, when it opened,
 * and the socket is closed when that token expires (SyncBackendDO), which ends the pull.
 */
const assertPullToken = async (env: AuthEnv, storeId: string, payload: unknown): Promise<void> => {
  const check = await checkSyncToken(env, storeId, payload)
  if (!check.ok && check.refusal !== 'expired') throw new Error(`authToken refused for store "${storeId}": ${check.refusal}`)
}

// validatePayload runs once per connection, but every push and pull carries its
// own storeId and payload: check them again. Only the WebSocket transport is
// enabled, the one `makeWsSync` uses (the HTTP transport's pushes carry no payload).
export class SyncBackendDO extends makeDurableObject({
  enabledTransports: new Set(['ws']),
  // The options are fixed when the class is defined, before any `this.env`:
  // the module-level env of `cloudflare:workers` is the same object.
  onPush: (_message, { storeId, payload }) => assertSyncToken(moduleEnv as Env, storeId, payload),
  onPull: (_message, { storeId, payload }) => assertPullToken(moduleEnv as Env, storeId, payload),
}) {
  readonly #sql: CfTypes.SqlStorage
  readonly #ctx: CfTypes.DurableObjectState

  constructor(ctx: CfTypes.DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#ctx = ctx
    // A socket lives as long as the token it opened with: each one accepted is closed when that
    // token expires (an alarm), ending its live pull, and the client opens a new one with its
    // renewed token. A user whose access ended gets no renewal, so no more events.
    const accept = this.fetch
    this.fetch = async (request) => {
      const response = await accept(request)
      if (response.status === 101) await this.#closeExpiredSockets()
      return response
    }
  }

  /** The alarm set for the earliest expiry among the open sockets' tokens. */
  override async alarm(): Promise<void> {
    await this.#closeExpiredSockets()
  }

  async #closeExpiredSockets(): Promise<void> {
    const now = Date.now()
    let next: number | undefined
    for (const socket of this.#ctx.getWebSockets()) {
      const { storeId, payload } = socketAttachment(socket)
      const check = await checkSyncToken(moduleEnv as Env, storeId, payload, now)
      if (!check.ok) {
        try {
          socket.close(tokenExpiredCloseCode, `token ${check.refusal}: open a new socket with a fresh token`)
        } catch {
          // Closed meanwhile.
        }
        continue
      }
      next = Math.min(next ?? Infinity, check.expiresAt)
    }
    if (next !== undefined && (await this.#ctx.storage.getAlarm()) !== next) await this.#ctx.storage.setAlarm(next)
  }

  /**
   * What the store's files take on the server (./quota.ts), kept in a table of this Durable
   * Object's own SQLite beside LiveStore's: one row, changed by each count.
   */
  fileUsage(): { bytes: number; files: number } {
    this.#usageTable()
    return this.#sql.exec<{ bytes: number; files: number }>('SELECT bytes, files FROM file_usage WHERE id = 0').toArray()[0] ?? { bytes: 0, files: 0 }
  }

  countFiles(bytes: number, files: number): void {
    this.#usageTable()
    this.#sql.exec(
      'INSERT INTO file_usage (id, bytes, files) VALUES (0, max(0, ?1), max(0, ?2)) ON CONFLICT(id) DO UPDATE SET bytes = max(0, bytes + ?1), files = max(0, files + ?2)',
      bytes,
      files,
    )
  }

  #hasUsageTable = false
  #usageTable(): void {
    if (this.#hasUsageTable) return
    this.#sql.exec('CREATE TABLE IF NOT EXISTS file_usage (id INTEGER PRIMARY KEY, bytes INTEGER NOT NULL, files INTEGER NOT NULL)')
    this.#hasUsageTable = true
  }

  /**
   * The number of the store's last event; null before the first push. A device whose leader
   * stays behind it while connected has lost its live pull (../file-sync/livestore-0.4/).
   */
  syncHead(storeId: string): number | null {
    return readSyncHead(this.#sql, storeId)
  }
}

/**
 * Who has a store open (../file-sync/server/presence.ts): one object per store, its sockets
 * hibernatable, each user's profile from ./authorize.ts's `profiles`.
 */
export class PresenceDO extends createPresenceDurableObject<Env>({ profiles: appProfiles }) {}

type SyncHeadStub = { syncHead(storeId: string): Promise<number | null> }
type UsageStub = { fileUsage(): Promise<{ bytes: number; files: number }>; countFiles(bytes: number, files: number): Promise<void> }

/** The store's quota (STORE_MAX_BYTES, STORE_MAX_FILES), counted in its Durable Object; none when neither is set. */
const storeQuota = (env: Env): StoreQuota | undefined => {
  const { maxBytes, maxFiles } = storeLimits(env)
  if (maxBytes === Infinity && maxFiles === Infinity) return undefined
  const usageOf = (storeId: string) => env.SYNC_BACKEND_DO.get(env.SYNC_BACKEND_DO.idFromName(storeId)) as unknown as UsageStub
  return {
    async admits(storeId, bytes) {
      const usage = await usageOf(storeId).fileUsage()
      if (usage.files + 1 > maxFiles) return `this store holds ${usage.files} files on the server, the most it may (STORE_MAX_FILES): delete some first`
      if (usage.bytes + bytes > maxBytes) {
        return `this store holds ${usage.bytes} bytes on the server; ${bytes} more would pass its limit of ${maxBytes} (STORE_MAX_BYTES): delete some first`
      }
      return undefined
    },
    count: (storeId, bytes, files) => usageOf(storeId).countFiles(bytes, files),
  }
}

export interface WorkerOptions {
  /** Who may open which store (./authorize.ts); the development check by default. */
  authorize?: Authorize<Env>
}

/**
 * The Worker's handlers. The default export is this Worker with the check of ./authorize.ts;
 * an app that wants another one builds its own: `export default createWorker({ authorize })`.
 */
export const createWorker = ({ authorize = appAuthorize }: WorkerOptions = {}) =>
  ({
    async fetch(request, env, ctx) {
      try {
        return await withCors(request, env, () => route(request, env, ctx, authorize))
      } catch (error) {
        console.error('unhandled error', error)
        return errorResponse(500, 'internal error')
      }
    },
    // The cron trigger of wrangler.toml: bytes of files deleted longer ago than the grace period go.
    async scheduled(_controller, env) {
      const started = Date.now()
      const quota = storeQuota(env)
      const { removed, waiting, failed, next } = await sweepFromLastPosition(storageOf(env, {}), {
        now: started,
        graceMs: deleteGraceMs(env),
        batch: maintenanceBatch(env),
        onRemoved: ({ storeId, bytes }) => countContent(quota, storeId, -bytes, -1),
      })
      console.log(JSON.stringify({ route: 'sweep', removed: removed.length, waiting, failed, more: next !== undefined, ms: Date.now() - started }))
    },
  }) satisfies ExportedHandler<Env>

export default createWorker()

const route = async (request: Request, env: Env, ctx: ExecutionContext, authorize: Authorize<Env>): Promise<Response> => {
  const { pathname } = new URL(request.url)
  if (pathname === '/api/health') {
    return request.method === 'GET' ? json(health(env)) : methodNotAllowed(['GET'])
  }
  if (pathname.startsWith('/api/auth/')) return handleTokenRequest(request, env, pathname.slice('/api/auth/'.length), authorize)
  if (pathname.startsWith('/api/sync-head/')) return handleSyncHeadRequest(request, env, pathname.slice('/api/sync-head/'.length))
  if (pathname.startsWith('/api/presence/')) {
    // The same runtime object under the global types.
    const presence = env.PRESENCE_DO as unknown as DurableObjectNamespace
    return handlePresenceRequest(request, env, pathname.slice('/api/presence/'.length), presence)
  }
  const quota = storeQuota(env)
  if (pathname === '/api/files' || pathname.startsWith('/api/files/')) {
    return handleFileRequest(request, env, { basePath: '/api/files', ...(quota ? { quota } : {}) })
  }
  if (pathname.startsWith('/api/admin/')) {
    return handleAdminRequest(request, env, storageOf(env, {}), { batch: maintenanceBatch(env), ...(quota ? { quota } : {}) })
  }

  // LiveStore routes by query parameters; the page's client uses /api/sync.
  if (pathname === '/api/sync' || !pathname.startsWith('/api/')) {
    const response = await handleSyncSocket(request, env, ctx)
    if (response !== undefined) return response
    if (pathname === '/api/sync') return errorResponse(400, 'expected LiveStore sync parameters: storeId, payload, transport')
  }
  // The path is not echoed: an error answer carries no raw input.
  return errorResponse(404, 'no such route')
}

/**
 * `GET /api/sync-head/:storeId` with the store's token: `{ head }`; 404 for a store nothing was
 * ever pushed to. Counted with the file API's requests of the user and store (FILE_API_LIMITER).
 */
const handleSyncHeadRequest = async (request: Request, env: Env, storeId: string): Promise<Response> => {
  if (request.method !== 'GET') return methodNotAllowed(['GET'])
  if (!isValidStoreId(storeId)) return errorResponse(400, 'expected /api/sync-head/<storeId>')
  const identity = await authenticate(request, env, storeId)
  if (identity instanceof Response) return identity
  const limited = await rateLimited(env, storeId, identity.userId)
  if (limited !== undefined) return limited
  // The same Durable Object LiveStore's handleSyncRequest picks for the store.
  const stub = env.SYNC_BACKEND_DO.get(env.SYNC_BACKEND_DO.idFromName(storeId)) as unknown as SyncHeadStub
  const head = await stub.syncHead(storeId)
  if (head === null) return errorResponse(404, 'no events of this store on the server yet', { 'Cache-Control': 'no-store' })
  return json({ head }, 200, { 'Cache-Control': 'no-store' })
}

/**
 * LiveStore sync (the socket, its token checked), or undefined when the request carries no sync
 * parameters. Mount it at any path: LiveStore routes by query parameters.
 */
export const handleSyncSocket = async (request: Request, env: Env, ctx: ExecutionContext): Promise<Response | undefined> => {
  // LiveStore imports its own pinned copy of Cloudflare's types; ours are the
  // global ones. Same runtime objects, so they are cast here, once.
  const syncRequest = request as unknown as CfTypes.Request
  const searchParams = matchSyncRequest(syncRequest)
  if (searchParams === undefined) return undefined
  const refused = secretRefusal(request, env)
  if (refused !== undefined) return refused
  // Checked before the library does (validatePayload below), so that a refused
  // socket gets the file API's 401 JSON instead of the library's plain-text 400.
  const check = await checkSyncToken(env, searchParams.storeId, searchParams.payload)
  if (!check.ok) return unauthorized(searchParams.storeId, check.refusal)
  const response = await handleSyncRequest({
    request: syncRequest,
    searchParams,
    env,
    ctx: ctx as unknown as CfTypes.ExecutionContext,
    syncBackendBinding: 'SYNC_BACKEND_DO',
    syncPayloadSchema: SyncPayload,
    validatePayload: (payload, { storeId }) => assertSyncToken(env, storeId, payload),
  })
  return response as unknown as Response
}
