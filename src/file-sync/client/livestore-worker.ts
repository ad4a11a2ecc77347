/**
 * The body of an app's LiveStore worker (the module it passes to `makePersistedAdapter` as
 * `worker`): LiveStore's own, syncing through the Worker on this origin with the store's token,
 * which it renews by itself (../livestore-0.4/fresh-token-sync.ts).
 *
 *   // livestore.worker.ts
 *   runLiveStoreWorker(schema)
 */
import { makeWorker } from '@livestore/adapter-web/worker'
import type { LiveStoreSchema } from '@livestore/livestore'
import { makeFreshTokenWsSync } from '../livestore-0.4/fresh-token-sync.ts'
import { SyncPayload } from '../schema.ts'

export const runLiveStoreWorker = (schema: LiveStoreSchema, { baseUrl = self.location.origin }: { baseUrl?: string } = {}): void =>
  makeWorker({
    schema,
    sync: {
      backend: makeFreshTokenWsSync({
        url: `${baseUrl}/api/sync`,
        tokenEndpoint: (storeId) => `${baseUrl}/api/auth/${storeId}`,
      }),
    },
    syncPayloadSchema: SyncPayload,
  })
