import { makeSchema, State } from '@livestore/livestore'
import { fileSyncEvents, fileSyncMaterializers, fileSyncTables, withFileSync } from './file-sync/schema.ts'

// The file sync's fragment is this app's whole schema; an app spreads its own tables and events beside it.
export const schema = makeSchema({
  events: fileSyncEvents,
  state: withFileSync(State.SQLite.makeState({ tables: fileSyncTables, materializers: fileSyncMaterializers() })),
})
