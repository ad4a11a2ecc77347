import { makeAdapter } from '@livestore/adapter-node'
import { createStorePromise } from '@livestore/livestore'
import { LogLevel } from 'effect'
import { type AppStore, type FileRow, type LocalFileState, schema, tables } from '../../src/livestore/schema.ts'

/** A real LiveStore store in memory: the services run against the same SQLite and materializers as in the page. */
export const createTestStore = (): Promise<AppStore> =>
  createStorePromise({
    schema,
    adapter: makeAdapter({ storage: { type: 'in-memory' } }),
    storeId: `test-${crypto.randomUUID().slice(0, 8)}`,
    // LiveStore's debug lines (boot, shutdown) would bury the test output.
    logLevel: LogLevel.Warning,
  })

export const fileRow = (store: AppStore, fileId: string): FileRow | undefined =>
  store.query(tables.files.where({ id: fileId }).first())

/** This device's state of a file; the default one when nothing was recorded yet. */
export const localState = (store: AppStore, fileId: string): LocalFileState => store.query(tables.localFilesState.get(fileId))
