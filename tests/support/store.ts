import { makeAdapter } from '@livestore/adapter-node'
import { createStorePromise, queryDb, Schema } from '@livestore/livestore'
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

export const fileRow = (store: AppStore, fileId: string): FileRow | undefined => store.query(tables.files.where({ id: fileId }).first())

/** This device's state of a file; the default one when nothing was recorded yet. */
export const localState = (store: AppStore, fileId: string): LocalFileState => store.query(tables.localFilesState.get(fileId))

/**
 * The gallery's order as SQLite gives it: what src/livestore/gallery-order.ts keeps in memory
 * (the page ran this query on every gallery write until it cost 25 ms with 10,000 items). A
 * conflict copy's item has its original's time and id followed by more, so it comes right after.
 */
export const visibleGalleryItems$ = queryDb(
  {
    query: `SELECT id, fileId FROM galleryItems WHERE removedAt IS NULL ORDER BY addedAt DESC, id ASC`,
    schema: Schema.Array(Schema.Struct({ id: Schema.String, fileId: Schema.String })),
  },
  { label: 'visibleGalleryItems' },
)
