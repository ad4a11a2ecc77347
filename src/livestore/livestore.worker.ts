import { makeWorker } from '@livestore/adapter-web/worker'
import { makeWsSync } from '@livestore/sync-cf/client'
import { schema, SyncPayload } from './schema.ts'

// The sync socket goes to the page's own origin; in development Vite proxies /api to wrangler.
makeWorker({
  schema,
  sync: { backend: makeWsSync({ url: `${self.location.origin}/api/sync` }) },
  syncPayloadSchema: SyncPayload,
})
