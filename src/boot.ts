import { makePersistedAdapter } from '@livestore/adapter-web'
import LiveStoreSharedWorker from '@livestore/adapter-web/shared-worker?sharedworker'
import { createStorePromise } from '@livestore/livestore'
import { Effect, Fiber, Stream } from 'effect'
import LiveStoreWorker from './livestore/livestore.worker.ts?worker'
import { type AppStore, batchKinds, events, schema, SyncPayload } from './livestore/schema.ts'
import { isValidStoreId } from './file-sync/server/store-id.ts'
import { createTokenProvider, type TokenProvider } from './file-sync/client/auth-token.ts'
import { type Connectivity, createConnectivity } from './file-sync/client/connectivity.ts'
import { createFileIndex, type FileIndex } from './file-sync/client/file-index.ts'
import { connectFileServiceWorker } from './file-sync/client/file-service-worker.ts'
import { createFileStorage, defaultMaxFileBytes, type FileStorage } from './file-sync/client/file-storage.ts'
import { createFileSync, defaultPartBytes, type FileSync, minPartBytes } from './file-sync/client/file-sync.ts'
import { connectLocalFileStorage } from './file-sync/client/local-file-worker.ts'
import { webLocks } from './file-sync/client/locks.ts'
import { createWebPickJournal } from './file-sync/client/pick-journal.ts'
import { createRemoteFileStorage } from './file-sync/client/remote-file-storage.ts'
import { createSyncExecutor } from './file-sync/client/sync-executor.ts'
import { createTransferProgress, type TransferProgress } from './file-sync/client/transfer-progress.ts'
import { defaultDeleteGraceMs } from './file-sync/client/sync-plan.ts'
import { type SyncTotalsTracker, trackSyncTotals } from './file-sync/client/sync-totals.ts'
import { watchLiveStoreStalls } from './file-sync/livestore-0.4/index.ts'

/** Everything the page uses, built once here and handed to Vue; nothing else builds services. */
export interface AppServices {
  storeId: string
  store: AppStore
  /** Every file and this device's state of it, updated file by file (the page and the sync read it). */
  index: FileIndex
  /** Where the files are and what is left to move, kept up to date from the index. */
  totals: SyncTotalsTracker
  fileStorage: FileStorage
  fileSync: FileSync
  /** How far each running transfer got, in any tab of the store. */
  progress: TransferProgress
  connectivity: Connectivity
  tokens: TokenProvider
  /** How long a deleted file can be restored, as the server says (`GET /api/health`). */
  deleteGraceMs: number
}

/** The store comes from `?store=<id>`; a first visit gets a new one, written into the URL to share. */
export const storeIdFromUrl = (location: Location, history: History): string => {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('store')
  if (fromUrl && isValidStoreId(fromUrl)) return fromUrl
  const storeId = `store-${crypto.randomUUID().slice(0, 8)}`
  url.searchParams.set('store', storeId)
  history.replaceState(null, '', url)
  return storeId
}

export const boot = async (): Promise<AppServices> => {
  const storeId = storeIdFromUrl(window.location, window.history)
  const origin = window.location.origin
  const tokens = createTokenProvider({ storeId, endpoint: `${origin}/api/auth/${storeId}`, cache: window.localStorage })
  const serverSettings = settingsFromServer(origin, window.localStorage)

  // The sync payload is fixed when the store is created: take the cached token, or ask the
  // server briefly. The sync worker renews it by itself from then on (fresh-token-sync.ts), and
  // on a first visit offline it fetches one once the server is reachable.
  const authToken = tokens.cached() || (await withTimeout(tokens.getToken(), 3_000).catch(() => ''))

  const serviceWorker =
    'serviceWorker' in navigator
      ? connectFileServiceWorker({ container: navigator.serviceWorker, storeId, getToken: tokens.getToken }).catch((error: unknown) =>
          console.warn('The file service worker could not start; files show once synced.', error),
        )
      : Promise.resolve()

  const adapter = makePersistedAdapter({
    storage: { type: 'opfs' },
    worker: LiveStoreWorker,
    sharedWorker: LiveStoreSharedWorker,
  })
  const store = await createStorePromise({
    schema,
    adapter,
    storeId,
    syncPayload: { authToken },
    syncPayloadSchema: SyncPayload,
  })
  await serviceWorker
  const { deleteGraceMs, maxFileBytes, maxRequestBytes } = await serverSettings

  // Files are written and hashed in a worker of their own: OPFS's fast, resumable writes exist
  // only there, and the page's thread stays free whatever the size.
  const filesWorker = new Worker(new URL('./file-sync/client/local-files.worker.ts', import.meta.url), { type: 'module', name: 'files' })
  const local = connectLocalFileStorage({ worker: filesWorker, folder: ['files', storeId] })
  const remote = createRemoteFileStorage({ baseUrl: origin, storeId, getToken: tokens.getToken })
  const connectivity = createConnectivity({
    probe: async (signal) => (await fetch(`${origin}/api/health`, { signal, cache: 'no-store' })).ok,
    events: window,
    connection: { subscribe: (listener) => subscribeNetworkStatus(store, listener) },
  })
  // Tabs share OPFS: a save in one tab and a removal in the leader tab must see each other.
  const withLock = webLocks(navigator.locks)
  const executor = createSyncExecutor()
  // Larger files go up in parts that each fit in one request to the server (and R2 wants 5 MiB at least).
  const partBytes = Math.max(minPartBytes, Math.min(defaultPartBytes, maxRequestBytes))
  // Shared with the store's other tabs: only the tab that transfers knows how far it got.
  const progress = createTransferProgress({ channel: new BroadcastChannel(`transfer-progress:${storeId}`) })
  const index = createFileIndex({ store })
  const totals = trackSyncTotals(index)
  const fileSync = createFileSync({ store, index, local, remote, executor, connectivity, withLock, deleteGraceMs, partBytes, progress })
  const picks = createWebPickJournal({ storage: window.localStorage, locks: navigator.locks, prefix: `file-sync:pick:${storeId}:` })
  const fileStorage = createFileStorage({ store, local, withLock, deleteGraceMs, maxFileBytes, picks, batchKinds })

  // Tabs of one store share OPFS and the local state: one of them (the lock holder) transfers,
  // the next one takes over when it closes.
  void navigator.locks.request(`file-sync:${storeId}`, async () => {
    // Keep the lock through a failed start (the disk unreadable for a moment): try again.
    for (;;) {
      try {
        await fileSync.start()
        break
      } catch (error) {
        console.error('File sync could not start; trying again in 5 s.', error)
        await new Promise((resolve) => setTimeout(resolve, 5_000))
      }
    }
    await new Promise<never>(() => {}) // held until this tab goes away
  })

  // LiveStore 0.4's stalls (src/file-sync/livestore-0.4/): a reload drops what this tab's session
  // has not handed to the leader yet, so it happens only when that is the file sync's own events.
  watchLiveStoreStalls({
    store,
    connectivity,
    syncHeadUrl: `${origin}/api/sync-head/${storeId}`,
    token: () => tokens.getToken().catch(() => tokens.cached()),
    recomputable: new Set([
      events.fileUploaded.name,
      events.filesUploaded.name,
      events.localFileStateSet.name,
      events.localFileStatesSet.name,
      events.deviceSyncStateSet.name,
    ]),
    whenIdle: () => fileStorage.whenIdle(),
  })

  return { storeId, store, index, totals, fileStorage, fileSync, progress, connectivity, tokens, deleteGraceMs }
}

const serverSettingsKey = 'file-sync:serverSettings'

interface ServerSettings {
  /** How long deleted files stay restorable. */
  deleteGraceMs: number
  /** The largest file the server takes. */
  maxFileBytes: number
  /** The largest body of one request (Cloudflare's cap): larger files go in parts. */
  maxRequestBytes: number
}

const defaultSettings: ServerSettings = {
  deleteGraceMs: defaultDeleteGraceMs,
  maxFileBytes: defaultMaxFileBytes,
  maxRequestBytes: 100 * 1024 * 1024,
}

/**
 * The server decides how long deleted files stay restorable and how large files may be
 * (`GET /api/health`). Its last answer is kept, so that a start while it is unreachable keeps
 * the same promises; before any answer, the defaults.
 */
const settingsFromServer = async (origin: string, cache: Storage): Promise<ServerSettings> => {
  const valid = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
  const read = (source: Record<string, unknown>, fallback: ServerSettings): ServerSettings => ({
    deleteGraceMs: valid(source.deleteGraceMs) ? source.deleteGraceMs : fallback.deleteGraceMs,
    maxFileBytes: valid(source.maxFileBytes) ? source.maxFileBytes : fallback.maxFileBytes,
    maxRequestBytes: valid(source.maxRequestBytes) && source.maxRequestBytes > 0 ? source.maxRequestBytes : fallback.maxRequestBytes,
  })
  let cached = defaultSettings
  try {
    cached = read(JSON.parse(cache.getItem(serverSettingsKey) ?? '{}') as Record<string, unknown>, defaultSettings)
  } catch {
    // Not JSON: start from the defaults.
  }
  try {
    const response = await fetch(`${origin}/api/health`, { cache: 'no-store', signal: AbortSignal.timeout(3_000) })
    const settings = read((await response.json()) as Record<string, unknown>, cached)
    cache.setItem(serverSettingsKey, JSON.stringify(settings))
    return settings
  } catch {
    return cached // unreachable, or not JSON
  }
}

/** LiveStore's sync connection status as a plain callback subscription. */
const subscribeNetworkStatus = (store: AppStore, listener: (connected: boolean) => void): (() => void) => {
  const fiber = store.networkStatus.changes.pipe(
    Stream.runForEach((status) => Effect.sync(() => listener(status.isConnected))),
    Effect.runFork,
  )
  return () => void Effect.runFork(Fiber.interrupt(fiber))
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))])
