import { makePersistedAdapter } from '@livestore/adapter-web'
import LiveStoreSharedWorker from '@livestore/adapter-web/shared-worker?sharedworker'
import { createStorePromise } from '@livestore/livestore'
import LiveStoreWorker from './livestore/livestore.worker.ts?worker'
import { type AppStore, batchKinds, schema, SyncPayload } from './livestore/schema.ts'
import { isValidStoreId, type TokenProvider, type FileSyncClient, prepareFileSync } from './file-sync/client/index.ts'

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
  const sync = await prepareFileSync({ storeId })
  const adapter = makePersistedAdapter({
    storage: { type: 'opfs' },
    worker: LiveStoreWorker,
    sharedWorker: LiveStoreSharedWorker,
  })
  const store = await createStorePromise({ schema, adapter, storeId, syncPayload: sync.syncPayload, syncPayloadSchema: SyncPayload })
  const files = await sync.start(store, { batchKinds })
  return { ...files, storeId, store, tokens: sync.tokens, deleteGraceMs: files.settings.deleteGraceMs }
}
