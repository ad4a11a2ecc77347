import { runLiveStoreWorker } from '../file-sync/client/livestore-worker.ts'
import { schema } from './schema.ts'

// The sync socket goes to the page's own origin; in development Vite proxies /api to wrangler.
runLiveStoreWorker(schema)
