/**
 * The file sync of one store, built in one call: what an app needs once its LiveStore store is
 * open. The app keeps what only it knows: how the store is created (its schema, its LiveStore
 * worker), where tokens come from, and what the server allows.
 *
 *   const files = createFileSyncClient({ store, storeId, baseUrl: location.origin, tokens, settings })
 *   await files.fileStorage.saveFile(file)      // shown at once: <img src={`/files/${storeId}/${hash}`}>
 *   files.index.subscribe(...)                   // every file and where it is
 *   files.dispose()
 */
import type { LiveStoreSchema, Store } from '@livestore/livestore'
import { Effect, Fiber, Stream } from 'effect'

import { watchLiveStoreStalls } from '../livestore-0.4/index.ts'
import { fileSyncEvents, isUserFile } from '../schema.ts'
import { createTokenProvider, type TokenProvider } from './auth-token.ts'
import type { BatchKinds } from './batch-events.ts'
import { type Connectivity, createConnectivity } from './connectivity.ts'
import { createFileIndex, type FileIndex } from './file-index.ts'
import { connectFileServiceWorker } from './file-service-worker.ts'
import { createFileStorage, type FileStorage } from './file-storage.ts'
import { createFileSync, defaultPartBytes, type FileSync, minPartBytes } from './file-sync.ts'
import { connectLocalFileStorage } from './local-file-worker.ts'
import { webLocks } from './locks.ts'
import { createWebPickJournal } from './pick-journal.ts'
import { deviceLabel } from './device-label.ts'
import { connectPresence, type Presence, presenceUrl } from './presence.ts'
import { createRemoteFileStorage } from './remote-file-storage.ts'
import { opfsFolderOf } from '../shared/opfs.ts'
import { connectPreviewWorker } from './preview-worker.ts'
import { createPreviews, type Previews } from './previews.ts'
import { createSyncExecutor } from './sync-executor.ts'
import { defaultSettings, type FileSyncSettings, settingsFromServer } from './server-settings.ts'
import { type SyncTotalsTracker, trackSyncTotals } from './sync-totals.ts'
import { createTransferProgress, type TransferProgress } from './transfer-progress.ts'
import { remoteView } from './file-state.ts'

export interface FileSyncClientOptions<TSchema extends LiveStoreSchema> {
  /** The app's store; its schema includes the file sync's fragment (../schema.ts). */
  store: Store<TSchema>
  storeId: string
  /** Where the Worker answers `/api/files`, `/api/health` and `/api/sync-head`: usually the page's origin. */
  baseUrl: string
  tokens: TokenProvider
  /** What the server allows (`settingsFromServer`); the shipped Worker's defaults otherwise. */
  settings?: Partial<FileSyncSettings>
  /** The app's own batchable events that it commits along with files (see batch-events.ts). */
  batchKinds?: BatchKinds
  /** Make previews of pictures and videos (previews.ts): true unless turned off. */
  previews?: boolean
  /** Who else has the store open (`/api/presence`, docs/presence.md); false for a server without it. */
  presence?: boolean
}

export interface FileSyncClient {
  /** Every file and this device's state of it, updated file by file. */
  index: FileIndex
  /** Where the files are and what is left to move. */
  totals: SyncTotalsTracker
  /** Save, update, delete and restore files. */
  fileStorage: FileStorage
  fileSync: FileSync
  /** How far each running transfer got, in any tab of the store. */
  progress: TransferProgress
  connectivity: Connectivity
  /** What the server allows, as this client uses it. */
  settings: FileSyncSettings
  /** Who has the store open, this page included, and what each page uploads; undefined when turned off. */
  presence: Presence | undefined
  /** Stops the sync in this tab, closes what it opened, and lets another tab of the store take over. */
  dispose(): void
}

export type { FileSyncSettings } from './server-settings.ts'

// What a page shows besides: a file's URL, where a file is, its name, sizes and times.
export { isUserFile } from '../schema.ts'
export { isValidStoreId } from '../shared/store-id.ts'
export type { TokenProvider } from './auth-token.ts'
export { chunks } from './file-index.ts'
export { fileUrl, formatBytes, formatDuration } from './file-storage.ts'
export type { FileSync } from './file-sync.ts'
export type { Presence, PresencePeer, PresenceState, Profile } from './presence.ts'
export { displayName, downloadName } from './peer-input.ts'
export type { PickedFile } from './pick-journal.ts'
export { delayUntil } from './sync-executor.ts'
export { inGrace, type LocalView, localView, nextGraceEnd, type RemoteView, remoteView } from './sync-plan.ts'
export type { SyncTotals } from './sync-totals.ts'

export interface PrepareFileSyncOptions {
  storeId: string
  /** Where the Worker answers `/api/*`: usually the page's origin. */
  baseUrl?: string
  /** The service worker that answers `/files/*` (../sw/), or false for none. */
  serviceWorkerUrl?: string | false
  /** Where the last token and the server's settings are kept between visits. */
  cache?: Storage
  /** Who else has the store open (docs/presence.md); false for a server without `/api/presence`. */
  presence?: boolean
}

export interface PreparedFileSync {
  tokens: TokenProvider
  /** For `createStorePromise`: the store's sync connection carries the token. */
  syncPayload: { authToken: string }
  /** Builds the file sync once the store is open (and the service worker controls the page). */
  start<TSchema extends LiveStoreSchema>(store: Store<TSchema>, options?: { batchKinds?: BatchKinds }): Promise<FileSyncClient>
}

/**
 * What comes before the store opens: its token (the sync payload is fixed when the store is
 * created: the cached token, or the server's if it answers within 3 s; the LiveStore worker
 * renews it by itself from then on, ../livestore-0.4/fresh-token-sync.ts), the server's
 * settings, and the service worker, started while the store opens.
 *
 *   const sync = await prepareFileSync({ storeId })
 *   const store = await createStorePromise({ schema, adapter, storeId, syncPayload: sync.syncPayload, syncPayloadSchema: SyncPayload })
 *   const files = await sync.start(store)
 */
export const prepareFileSync = async ({
  storeId,
  baseUrl = window.location.origin,
  serviceWorkerUrl = '/sw.js',
  cache = window.localStorage,
  presence = true,
}: PrepareFileSyncOptions): Promise<PreparedFileSync> => {
  const tokens = createTokenProvider({ storeId, endpoint: new URL(`/api/auth/${storeId}`, baseUrl).href, cache })
  const settings = settingsFromServer(baseUrl, cache)
  const authToken = tokens.cached() || (await withTimeout(tokens.getToken(), 3_000).catch(() => ''))
  const serviceWorker =
    serviceWorkerUrl !== false && 'serviceWorker' in navigator
      ? connectFileServiceWorker({ container: navigator.serviceWorker, scriptUrl: serviceWorkerUrl, storeId, getToken: tokens.getToken }).catch(
          (error: unknown) => console.warn('The file service worker could not start; files show once synced.', error),
        )
      : Promise.resolve()
  return {
    tokens,
    syncPayload: { authToken },
    async start(store, { batchKinds } = {}) {
      await serviceWorker
      return createFileSyncClient({ store, storeId, baseUrl, tokens, settings: await settings, presence, ...(batchKinds ? { batchKinds } : {}) })
    },
  }
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))])

export const createFileSyncClient = <TSchema extends LiveStoreSchema>({
  store,
  storeId,
  baseUrl,
  tokens,
  settings = {},
  batchKinds,
  previews: makePreviews = true,
  presence: withPresence = true,
}: FileSyncClientOptions<TSchema>): FileSyncClient => {
  const { deleteGraceMs, maxFileBytes, maxRequestBytes } = { ...defaultSettings, ...settings }
  // Files are written and hashed in a worker of their own: OPFS's fast, resumable writes exist
  // only there, and the page's thread stays free whatever the size.
  const filesWorker = new Worker(new URL('./local-files.worker.ts', import.meta.url), { type: 'module', name: 'files' })
  const local = connectLocalFileStorage({ worker: filesWorker, folder: opfsFolderOf(storeId) })
  const remote = createRemoteFileStorage({ baseUrl, storeId, getToken: tokens.getToken })
  const connectivity = createConnectivity({
    probe: async (signal) => (await fetch(new URL('/api/health', baseUrl), { signal, cache: 'no-store' })).ok,
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
  const fileStorage = createFileStorage({ store, local, withLock, deleteGraceMs, maxFileBytes, picks, ...(batchKinds ? { batchKinds } : {}) })
  // The store's open pages, and what this one uploads: the transfers this tab runs of files whose
  // bytes are here and not on the server (how a card tells an upload from a download).
  const presence = withPresence
    ? connectPresence({ url: presenceUrl(baseUrl, storeId), getToken: tokens.getToken, device: deviceLabel(), events: window })
    : undefined
  const stopAnnouncing = progress.subscribe(() =>
    presence?.setUploading(
      [...progress.own()].filter((fileId) => {
        const file = index.file(fileId)
        // A preview is no file of the person's: no card shows it.
        return file !== undefined && isUserFile(file) && remoteView(file, index.state(fileId), true) === 'uploading'
      }),
    ),
  )

  // Tabs of one store share OPFS and the local state: one of them (the lock holder) transfers,
  // the next one takes over when it closes or disposes.
  let released: () => void = () => {}
  let previews: Previews | undefined
  let previewsWorker: Worker | undefined
  const held = new Promise<void>((resolve) => (released = resolve))
  let disposed = false
  void navigator.locks.request(`file-sync:${storeId}`, async () => {
    // Keep the lock through a failed start (the disk unreadable for a moment): try again. A
    // dispose in the middle of a start lets go at once: the start waits on a files worker that
    // is gone and will never answer.
    while (!disposed) {
      try {
        await Promise.race([fileSync.start(), held])
        break
      } catch (error) {
        console.error('File sync could not start; trying again in 5 s.', error)
        await new Promise((resolve) => setTimeout(resolve, 5_000))
      }
    }
    // Previews are made by the tab that syncs, in a worker of their own (preview.ts).
    if (!disposed && makePreviews) {
      previewsWorker = new Worker(new URL('./previews.worker.ts', import.meta.url), { type: 'module', name: 'previews' })
      previews = createPreviews({ store, index, local, make: connectPreviewWorker(previewsWorker), withLock })
      previews.start()
    }
    await held
  })

  // LiveStore 0.4's stalls: a reload drops what this tab's session has not handed to the leader
  // yet, so it happens only when that is the file sync's own events, which it recomputes.
  watchLiveStoreStalls({
    store,
    connectivity,
    syncHeadUrl: new URL(`/api/sync-head/${storeId}`, baseUrl).href,
    token: () => tokens.getToken().catch(() => tokens.cached()),
    recomputable: new Set([
      fileSyncEvents.fileUploaded.name,
      fileSyncEvents.filesUploaded.name,
      fileSyncEvents.localFileStateSet.name,
      fileSyncEvents.localFileStatesSet.name,
      fileSyncEvents.deviceSyncStateSet.name,
    ]),
    whenIdle: () => fileStorage.whenIdle(),
  })

  return {
    index,
    totals,
    fileStorage,
    fileSync,
    progress,
    connectivity,
    settings: { deleteGraceMs, maxFileBytes, maxRequestBytes },
    presence,
    dispose() {
      disposed = true
      previews?.stop()
      previewsWorker?.terminate()
      stopAnnouncing()
      presence?.close()
      fileSync.stop()
      totals.close()
      index.close()
      progress.close()
      connectivity.stop()
      filesWorker.terminate()
      released()
    },
  }
}

/** LiveStore's sync connection status as a plain callback subscription. */
const subscribeNetworkStatus = <TSchema extends LiveStoreSchema>(store: Store<TSchema>, listener: (connected: boolean) => void): (() => void) => {
  const fiber = store.networkStatus.changes.pipe(
    Stream.runForEach((status) => Effect.sync(() => listener(status.isConnected))),
    Effect.runFork,
  )
  return () => void Effect.runFork(Fiber.interrupt(fiber))
}
