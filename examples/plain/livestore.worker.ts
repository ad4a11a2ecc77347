import { runLiveStoreWorker } from './file-sync/client/livestore-worker.ts'
import { schema } from './schema.ts'

runLiveStoreWorker(schema)
