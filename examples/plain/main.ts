import { makePersistedAdapter } from '@livestore/adapter-web'
import LiveStoreSharedWorker from '@livestore/adapter-web/shared-worker?sharedworker'
import { createStorePromise } from '@livestore/livestore'
import { prepareFileSync } from './file-sync/client/index.ts'
import { SyncPayload } from './file-sync/schema.ts'
import LiveStoreWorker from './livestore.worker.ts?worker'
import { render } from './page.ts'
import { schema } from './schema.ts'

const storeId = new URLSearchParams(location.search).get('store') ?? 'example'
const sync = await prepareFileSync({ storeId })
const adapter = makePersistedAdapter({ storage: { type: 'opfs' }, worker: LiveStoreWorker, sharedWorker: LiveStoreSharedWorker })
const store = await createStorePromise({ schema, adapter, storeId, syncPayload: sync.syncPayload, syncPayloadSchema: SyncPayload })
const files = await sync.start(store)

render(document.body, storeId, files)
