import { Events, type LiveStoreEvent, makeSchema, Schema, State, type Store } from '@livestore/livestore'

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/**
 * Synced metadata of every file in the store. The bytes never travel through LiveStore: they
 * live in each device's OPFS and in R2, both addressed by `contentHash` (SHA-256, lowercase hex).
 */
const files = State.SQLite.table({
  name: 'files',
  columns: {
    id: State.SQLite.text({ primaryKey: true }),
    name: State.SQLite.text(),
    mimeType: State.SQLite.text(),
    size: State.SQLite.integer(),
    contentHash: State.SQLite.text(),
    /** R2 key of `contentHash` once some device has uploaded it; '' until then. */
    remoteKey: State.SQLite.text({ default: '' }),
    createdAt: State.SQLite.integer(),
    updatedAt: State.SQLite.integer(),
    /** Soft delete: the row stays so that every device learns to drop its copy. */
    deletedAt: State.SQLite.integer({ nullable: true }),
  },
})

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

/** What a transfer in one direction is doing on this device. */
export const TransferStatus = Schema.Literal('idle', 'active', 'failed')
export type TransferStatus = typeof TransferStatus.Type

/**
 * This device's view of one file. One document per file id, so that every write touches one
 * file's state only. Client documents are shared by all tabs of the same origin and store, and
 * never leave the device.
 */
export const LocalFileState = Schema.Struct({
  /** SHA-256 of the copy in this device's OPFS; '' when there is none. */
  localHash: Schema.String,
  upload: TransferStatus,
  download: TransferStatus,
  uploadAttempts: Schema.Number,
  downloadAttempts: Schema.Number,
  /** The last failure in words a person can read; '' after a success. */
  lastError: Schema.String,
  /** The content hash a 'failed' status is about: a newer version of the file is tried afresh. */
  failedHash: Schema.String,
  /** This device has asked the server to drop the bytes of this deleted file. */
  remoteRemoved: Schema.Boolean,
})
export type LocalFileState = typeof LocalFileState.Type

export const emptyLocalFileState: LocalFileState = {
  localHash: '',
  upload: 'idle',
  download: 'idle',
  uploadAttempts: 0,
  downloadAttempts: 0,
  lastError: '',
  failedHash: '',
  remoteRemoved: false,
}

const localFilesState = State.SQLite.clientDocument({
  name: 'localFilesState',
  schema: LocalFileState,
  default: { value: emptyLocalFileState },
})

/** This device's sync as a whole, beside the per-file state; one document, shared by its tabs. */
export const DeviceSyncState = Schema.Struct({
  /** Why this device holds its downloads (its disk or quota is full); '' when it does not. */
  downloadsHeld: Schema.String,
})
export type DeviceSyncState = typeof DeviceSyncState.Type
export const deviceSyncStateId = 'device'

const deviceSyncState = State.SQLite.clientDocument({
  name: 'deviceSyncState',
  schema: DeviceSyncState,
  default: { value: { downloadsHeld: '' } },
})

export const tables = { files, galleryItems, localFilesState, deviceSyncState }

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

const FileContent = {
  id: Schema.String,
  name: Schema.String,
  mimeType: Schema.String,
  size: Schema.Number,
  contentHash: Schema.String,
}

export const events = {
  fileCreated: Events.synced({
    name: 'v1.FileCreated',
    schema: Schema.Struct({ ...FileContent, createdAt: Schema.Number }),
  }),
  fileUploaded: Events.synced({
    name: 'v1.FileUploaded',
    schema: Schema.Struct({ id: Schema.String, contentHash: Schema.String, remoteKey: Schema.String }),
  }),
  fileUpdated: Events.synced({
    name: 'v1.FileUpdated',
    schema: Schema.Struct({ ...FileContent, updatedAt: Schema.Number }),
  }),
  fileDeleted: Events.synced({
    name: 'v1.FileDeleted',
    schema: Schema.Struct({ id: Schema.String, deletedAt: Schema.Number }),
  }),
  galleryItemAdded: Events.synced({
    name: 'v1.GalleryItemAdded',
    schema: Schema.Struct({ id: Schema.String, fileId: Schema.String, addedAt: Schema.Number }),
  }),
  galleryItemRemoved: Events.synced({
    name: 'v1.GalleryItemRemoved',
    schema: Schema.Struct({ id: Schema.String, removedAt: Schema.Number }),
  }),
  localFileStateSet: localFilesState.set,
  deviceSyncStateSet: deviceSyncState.set,
}

// ---------------------------------------------------------------------------------------------
// Materializers
// ---------------------------------------------------------------------------------------------

const materializers = State.SQLite.materializers(events, {
  'v1.FileCreated': ({ createdAt, ...file }) =>
    files.insert({ ...file, remoteKey: '', createdAt, updatedAt: createdAt, deletedAt: null }),
  // Matching on the hash too: an upload of an older version must not mark a newer one as uploaded.
  'v1.FileUploaded': ({ id, contentHash, remoteKey }) => files.update({ remoteKey }).where({ id, contentHash }),
  'v1.FileUpdated': ({ id, updatedAt, ...content }) =>
    files.update({ ...content, remoteKey: '', updatedAt }).where({ id }),
  'v1.FileDeleted': ({ id, deletedAt }) => files.update({ deletedAt }).where({ id }),
  'v1.GalleryItemAdded': (item) => galleryItems.insert({ ...item, removedAt: null }),
  'v1.GalleryItemRemoved': ({ id, removedAt }) => galleryItems.update({ removedAt }).where({ id }),
})

const state = State.SQLite.makeState({ tables, materializers })

export const schema = makeSchema({ events, state })

/** Travels with the sync connection; the Worker checks the token for the store. */
export const SyncPayload = Schema.Struct({ authToken: Schema.String })

export type FileRow = typeof files.Type
export type GalleryItemRow = typeof galleryItems.Type
export type AppSchema = typeof schema
export type AppStore = Store<AppSchema>
export type AppEvent = LiveStoreEvent.Input.ForSchema<AppSchema>
