/**
 * The app's LiveStore schema: the file sync's fragment (../file-sync/schema.ts) and the app's
 * own gallery, whose items point at files, as a real app's would.
 */
import { Events, type LiveStoreEvent, makeSchema, type MaterializerContextQuery, Schema, State, type Store } from '@livestore/livestore'
import {
  type BatchKinds,
  batchOf,
  fileBatchKinds,
  type FileRow,
  fileSyncEvents,
  fileSyncMaterializers,
  fileSyncTables,
  withFileSync,
} from '../file-sync/schema.ts'
import { galleryChanges } from './gallery-changes.ts'

export * from '../file-sync/schema.ts'

/** The app's own table: a gallery whose items point at files, as a real app would. */
const galleryItems = State.SQLite.table({
  name: 'galleryItems',
  columns: {
    id: State.SQLite.text({ primaryKey: true }),
    fileId: State.SQLite.text(),
    addedAt: State.SQLite.integer(),
    removedAt: State.SQLite.integer({ nullable: true }),
  },
})

// In this order: LiveStore hashes the tables in order, and a new hash has every device rebuild its
// state from its event log once (the order the app had before the file sync became a fragment).
export const tables = {
  files: fileSyncTables.files,
  galleryItems,
  localFilesState: fileSyncTables.localFilesState,
  deviceSyncState: fileSyncTables.deviceSyncState,
}

const GalleryItemAdded = Schema.Struct({ id: Schema.String, fileId: Schema.String, addedAt: Schema.Number })

const galleryEvents = {
  galleryItemAdded: Events.synced({ name: 'v1.GalleryItemAdded', schema: GalleryItemAdded }),
  galleryItemsAdded: Events.synced({ name: 'v1.GalleryItemsAdded', schema: Schema.Struct({ items: batchOf(GalleryItemAdded) }) }),
  galleryItemRemoved: Events.synced({
    name: 'v1.GalleryItemRemoved',
    schema: Schema.Struct({ id: Schema.String, removedAt: Schema.Number }),
  }),
  galleryItemRestored: Events.synced({
    name: 'v1.GalleryItemRestored',
    schema: Schema.Struct({ id: Schema.String, restoredAt: Schema.Number }),
  }),
}

export const events = { ...fileSyncEvents, ...galleryEvents }

/**
 * The app's part of a conflict copy: it joins the gallery wherever the original is, with the
 * original's time so that it sorts right after it (see gallery-order.ts).
 */
const galleryItemsForCopy = (copy: FileRow, query: MaterializerContextQuery) =>
  query(galleryItems.where({ fileId: copy.conflictOf, removedAt: null })).map((item) => {
    const id = `${item.id}~${copy.id}`
    galleryChanges.report(id)
    return galleryItems.insert({ id, fileId: copy.id, addedAt: item.addedAt, removedAt: null })
  })

const addGalleryItem = (item: typeof GalleryItemAdded.Type) => {
  galleryChanges.report(item.id)
  return galleryItems.insert({ ...item, removedAt: null })
}

const galleryMaterializers = State.SQLite.materializers(galleryEvents, {
  'v1.GalleryItemAdded': addGalleryItem,
  'v1.GalleryItemsAdded': ({ items }) => items.map(addGalleryItem),
  'v1.GalleryItemRemoved': ({ id, removedAt }) => {
    galleryChanges.report(id)
    return galleryItems.update({ removedAt }).where({ id })
  },
  'v1.GalleryItemRestored': ({ id }) => {
    galleryChanges.report(id)
    return galleryItems.update({ removedAt: null }).where({ id })
  },
})

const state = withFileSync(
  State.SQLite.makeState({
    tables,
    materializers: { ...fileSyncMaterializers({ onConflictCopy: galleryItemsForCopy }), ...galleryMaterializers },
  }),
)

export const schema = makeSchema({ events, state })

/** The facts a commit may gather into batch events: the file sync's, and the gallery's items. */
export const batchKinds: BatchKinds = new Map([
  ...fileBatchKinds,
  [
    events.galleryItemAdded.name,
    { table: 'galleryItems', batch: (args: unknown[]) => events.galleryItemsAdded({ items: args as Array<typeof GalleryItemAdded.Type> }) },
  ],
])

export type GalleryItemRow = typeof galleryItems.Type
export type AppSchema = typeof schema
export type AppStore = Store<AppSchema>
export type AppEvent = LiveStoreEvent.Input.ForSchema<AppSchema>
