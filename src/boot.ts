import { makePersistedAdapter } from '@livestore/adapter-web'
import LiveStoreSharedWorker from '@livestore/adapter-web/shared-worker?sharedworker'
import { createStorePromise } from '@livestore/livestore'
import LiveStoreWorker from './livestore/livestore.worker.ts?worker'
import { type AppStore, batchKinds, schema, SyncPayload } from './livestore/schema.ts'
import { isValidStoreId } from './file-sync/shared/store-id.ts'
import { createTokenProvider, type TokenProvider } from './file-sync/client/auth-token.ts'
import { connectFileServiceWorker } from './file-sync/client/file-service-worker.ts'
import { defaultMaxFileBytes } from './file-sync/client/file-storage.ts'
import { defaultDeleteGraceMs } from './file-sync/client/sync-plan.ts'
import { createFileSyncClient, type FileSyncClient } from './file-sync/client/index.ts'

/** Everything the page uses, built once here and handed to Vue; nothing else builds services. */
export interface AppServices extends FileSyncClient {
  storeId: string
  store: AppStore
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
  const settings = await serverSettings
  const files = createFileSyncClient({
    store,
    storeId,
    baseUrl: origin,
    tokens,
    settings,
    batchKinds,
  })

  return { ...files, storeId, store, tokens, deleteGraceMs: settings.deleteGraceMs }
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

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))])
