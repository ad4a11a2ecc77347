import { makeWorker } from '@livestore/adapter-web/worker'
import { makeFreshTokenWsSync } from '../file-sync/livestore-0.4/fresh-token-sync.ts'
import { schema, SyncPayload } from './schema.ts'

// The sync socket goes to the page's own origin; in development Vite proxies /api to wrangler.
makeWorker({
  schema,
  sync: {
    backend: makeFreshTokenWsSync({
      url: `${self.location.origin}/api/sync`,
      tokenEndpoint: (storeId) => `${self.location.origin}/api/auth/${storeId}`,
    }),
  },
  syncPayloadSchema: SyncPayload,
})
