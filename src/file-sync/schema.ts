/**
 * The file sync's part of a LiveStore schema: the synced `files` table, this device's state of
 * each file and of its sync (client documents), the `v1.File*` events and their materializers.
 * An app spreads it into its own schema (src/livestore/schema.ts does):
 *
 *   const tables = { ...fileSyncTables, ...appTables }
 *   const events = { ...fileSyncEvents, ...appEvents }
 *   const materializers = { ...fileSyncMaterializers({ onConflictCopy }), ...appMaterializers }
 *   const state = withFileSync(State.SQLite.makeState({ tables, materializers }))
 *
 * Nothing of an app is named here: what an app does when a conflict copy is made (put it in one of
 * its albums, say) comes in through `onConflictCopy`. The page, its workers and the Worker use the
 * same events, so the Worker's sync backend and every device agree on them.
 */
import { Events, type LiveStoreEvent, type Materializer, type MaterializerContextQuery, Schema, State, type Store } from '@livestore/livestore'
import { fileChanges } from './client/file-changes.ts'

/** A feed materializers tell of the rows they wrote, for an app's own tables (client/file-changes.ts). */
export { changeFeed } from './client/file-changes.ts'

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
    /**
     * Soft delete: the row stays so that every device learns to drop its copy, and so that an
     * undo (`v1.FileRestored`) can bring the file back while its bytes are kept (sync-plan.ts).
     */
    deletedAt: State.SQLite.integer({ nullable: true }),
    /** The file this one is a conflict copy of (see `v1.FileUpdated`); '' for any other file. */
    conflictOf: State.SQLite.text({ default: '' }),
    /**
     * This file's preview (`v1.FilePreviewAdded`): the id of another row, whose bytes are a small
     * picture of this file's content. '' while there is none.
     */
    previewId: State.SQLite.text({ default: '' }),
    /**
     * The file this row is the preview of; '' for any other file. A preview is a file like any
     * other for the sync (uploaded, downloaded, deduplicated, deleted with its file); an app lists
     * only the rows whose `previewOf` is ''.
     */
    previewOf: State.SQLite.text({ default: '' }),
  },
  // An upload, or a server that lost the content, changes every row with that content. The
  // deleted files are listed on every write to the table (`deletedFiles$`).
  //
  // A change of this table's layout has LiveStore rebuild each device's state from its event
  // log once, when the device opens this version. The second index came with the batch events
  // (`v1.FilesCreated`, …): a device on an older version keeps those in its log without applying
  // them (LiveStore's unknown events), and its update is when they are applied.
  indexes: [
    { name: 'files_contentHash', columns: ['contentHash'] },
    { name: 'files_deletedAt', columns: ['deletedAt'] },
  ],
})

/** What a transfer in one direction is doing on this device. */
export const TransferStatus = Schema.Literal('idle', 'active', 'failed')
export type TransferStatus = typeof TransferStatus.Type

/**
 * An upload in parts that has begun on this device (files larger than one request may carry).
 * The parts the server confirmed are kept beside the bytes on disk, not here (see
 * `LocalFileStorage.keepParts`): a write to the store for each of them would grow the tab's memory
 * for as long as the upload runs.
 */
export const PartsUpload = Schema.Struct({
  /** The content being uploaded: a new version of the file abandons this upload. */
  hash: Schema.String,
  uploadId: Schema.String,
  /** Fixed for the whole upload (every part but the last has this size). */
  partSize: Schema.Number,
})
export type PartsUpload = typeof PartsUpload.Type

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
  /**
   * This device has asked the server to delete this file's bytes (the server keeps them, marked,
   * for the grace period): if the file comes back, this device asks the server to keep them.
   */
  remoteRemoved: Schema.Boolean,
  /** This device restored the file: the server must keep its bytes (clear a pending deletion). */
  keepRemote: Schema.optional(Schema.Boolean),
  /** The upload in parts this device has begun for the file; null or absent when none. */
  partsUpload: Schema.optional(Schema.NullOr(PartsUpload)),
  /** The content this device could make no preview of (not a picture it can decode): not tried again. */
  previewFailedHash: Schema.optional(Schema.String),
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
  keepRemote: false,
  partsUpload: null,
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

export const fileSyncTables = { files, localFilesState, deviceSyncState }

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

const FileCreated = Schema.Struct({ ...FileContent, createdAt: Schema.Number })
const FilePreviewAdded = Schema.Struct({
  /** The file the preview shows. */
  id: Schema.String,
  /** The content it was made of: a preview of an older version is kept as a deleted row, never shown. */
  sourceHash: Schema.String,
  /** The preview's own row: `previewIdOf(id, contentHash)`. */
  previewId: Schema.String,
  mimeType: Schema.String,
  size: Schema.Number,
  contentHash: Schema.String,
  createdAt: Schema.Number,
})
const FileUploaded = Schema.Struct({ id: Schema.String, contentHash: Schema.String, remoteKey: Schema.String })

/** The most facts one batch event carries (batch-events.ts); far below a sync message's size. */
export const maxBatchedFacts = 100
/** A batch event's facts: a list of at most `maxBatchedFacts`. */
export const batchOf = <A, I>(item: Schema.Schema<A, I>) => Schema.Array(item).pipe(Schema.maxItems(maxBatchedFacts))

export const fileSyncEvents = {
  fileCreated: Events.synced({ name: 'v1.FileCreated', schema: FileCreated }),
  fileUploaded: Events.synced({ name: 'v1.FileUploaded', schema: FileUploaded }),
  /**
   * Many files created (or uploaded) in one commit, as one event: what a pick of a folder makes.
   * Each event costs every device and the server about the same whatever it carries
   * (batch-events.ts), and means exactly what its facts one by one would.
   */
  filesCreated: Events.synced({ name: 'v1.FilesCreated', schema: Schema.Struct({ files: batchOf(FileCreated) }) }),
  filesUploaded: Events.synced({ name: 'v1.FilesUploaded', schema: Schema.Struct({ uploads: batchOf(FileUploaded) }) }),
  fileUpdated: Events.synced({
    name: 'v1.FileUpdated',
    schema: Schema.Struct({
      ...FileContent,
      updatedAt: Schema.Number,
      /** The content the editing device saw when it edited; '' in events from before it was recorded. */
      previousHash: Schema.optionalWith(Schema.String, { default: () => '' }),
    }),
  }),
  /**
   * A device that holds a file's bytes made a preview of them (client/previews.ts): a new row
   * (`previewOf` = the file) that syncs like any file, linked from the file's `previewId`. The
   * first preview of a content in LiveStore's order is the one shown; a later one (another
   * device made one meanwhile), or one of a content the file no longer has, becomes a deleted
   * row, so that its bytes go the way of any deleted file's.
   */
  filePreviewAdded: Events.synced({ name: 'v1.FilePreviewAdded', schema: FilePreviewAdded }),
  fileDeleted: Events.synced({
    name: 'v1.FileDeleted',
    schema: Schema.Struct({ id: Schema.String, deletedAt: Schema.Number }),
  }),
  fileRestored: Events.synced({
    name: 'v1.FileRestored',
    schema: Schema.Struct({ id: Schema.String, restoredAt: Schema.Number }),
  }),
  /**
   * The server no longer has this content (evicted, or removed after its grace period) though a
   * row says it was uploaded: a device found out (a 404). Every row with it is not uploaded any
   * more, so a device that holds the bytes uploads them again.
   */
  fileRemoteLost: Events.synced({
    name: 'v1.FileRemoteLost',
    schema: Schema.Struct({ contentHash: Schema.String, foundAt: Schema.Number }),
  }),
  localFileStateSet: localFilesState.set,
  /** Many files' local states, each set as `localFileStateSet` would, in order; never leaves the device. */
  localFileStatesSet: Events.clientOnly({
    name: 'v1.LocalFileStatesSet',
    schema: Schema.Struct({ states: batchOf(Schema.Struct({ id: Schema.String, value: Schema.partial(LocalFileState) })) }),
  }),
  deviceSyncStateSet: deviceSyncState.set,
}

type Args<E extends (args: never) => unknown> = Parameters<E>[0]

/** A batchable fact: the one table it writes, and the event that carries many of them. */
export interface BatchKind {
  table: string
  batch(args: unknown[]): FileSyncEvent
}

/** Batchable facts by event name. An app adds its own. */
export type BatchKinds = ReadonlyMap<string, BatchKind>

/** The file sync's batchable facts (see client/batch-events.ts). */
export const fileBatchKinds: BatchKinds = new Map<string, BatchKind>([
  [
    fileSyncEvents.fileCreated.name,
    { table: 'files', batch: (args) => fileSyncEvents.filesCreated({ files: args as Array<Args<typeof fileSyncEvents.fileCreated>> }) },
  ],
  [
    fileSyncEvents.fileUploaded.name,
    { table: 'files', batch: (args) => fileSyncEvents.filesUploaded({ uploads: args as Array<Args<typeof fileSyncEvents.fileUploaded>> }) },
  ],
  [
    fileSyncEvents.localFileStateSet.name,
    {
      table: 'localFilesState',
      batch: (args) => fileSyncEvents.localFileStatesSet({ states: args as Array<Args<typeof fileSyncEvents.localFileStatesSet>['states'][number]> }),
    },
  ],
])

// ---------------------------------------------------------------------------------------------
// Materializers
// ---------------------------------------------------------------------------------------------

/**
 * Two devices edited the same file while apart: the row no longer has the content the editing
 * device saw, because another edit came first in LiveStore's order. The last edit wins, and the
 * content it replaces is kept as a new file next to it instead of being lost.
 *
 * Every device materializes the same events in the same order, and a rebase materializes them
 * again: the copy's id is derived from the file and the replaced content, never from time or
 * chance, so that every device (and every rebase) makes the same row.
 */
const conflictCopy = (
  { id, previousHash, contentHash, updatedAt }: { id: string; previousHash: string; contentHash: string; updatedAt: number },
  query: MaterializerContextQuery,
): FileRow | undefined => {
  const current = query(files.where({ id }).first())
  // No copy: an event from before previousHash was recorded, an edit of what the device saw,
  // the same content twice, or content that was deleted anyway.
  if (!current || previousHash === '' || current.contentHash === previousHash || current.contentHash === contentHash) return undefined
  if (current.deletedAt !== null) return undefined
  // The same content can lose to an edit twice (an edit back to it, then another conflict): the
  // next free id, found the same way on every device.
  const baseId = `${id}~${current.contentHash.slice(0, 16)}`
  let copyId = baseId
  for (let n = 2; query(files.where({ id: copyId }).first()) !== undefined; n += 1) copyId = `${baseId}~${n}`
  // The copy has no preview of its own yet: the replaced version's preview goes with the
  // original's update; a device that holds the copy's bytes makes one (client/previews.ts).
  return { ...current, id: copyId, name: conflictCopyName(current.name), conflictOf: id, createdAt: updatedAt, updatedAt, previewId: '' }
}

/** The largest preview a device shows (and downloads first): ours are tens of KB. */
export const maxPreviewBytes = 1024 * 1024

/** The row id of a file's preview: the same on every device that makes the same picture of the same file. */
export const previewIdOf = (fileId: string, previewHash: string): string => `${fileId}~preview~${previewHash.slice(0, 16)}`

/** Whether a row is a file a person added (not a preview, which syncs as a row of its own). */
export const isUserFile = (file: Pick<FileRow, 'previewOf'>): boolean => file.previewOf === ''

/** "photo.png" → "photo (conflict copy).png" */
export const conflictCopyName = (name: string): string => {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (conflict copy)${name.slice(dot)}` : `${name} (conflict copy)`
}

// Each materializer that writes files tells which (file-changes.ts), so that the views of the
// files read again only those rows.
const touched = fileChanges.report

const createFile = ({ createdAt, ...file }: typeof FileCreated.Type) => {
  touched({ fileId: file.id })
  return files.insert({ ...file, remoteKey: '', createdAt, updatedAt: createdAt, deletedAt: null, conflictOf: '' })
}
/**
 * The first preview of the file's current content is shown; any other (a second device's, or
 * one of a content the file no longer has) is recorded deleted, so that the sync removes its
 * bytes from the device that made it, as it would a deleted file's.
 */
const addPreview = ({ id, sourceHash, previewId, createdAt, ...preview }: typeof FilePreviewAdded.Type, query: MaterializerContextQuery) => {
  if (query(files.where({ id: previewId }).first())) return [] // the same picture, made twice
  const file = query(files.where({ id }).first())
  // What another device wrote is checked like any peer input: a "preview" of gigabytes, or one
  // that is no picture, would be downloaded first by every device for nothing.
  const fits = preview.size <= maxPreviewBytes && preview.mimeType.startsWith('image/')
  const shown = fits && file !== undefined && file.deletedAt === null && file.contentHash === sourceHash && file.previewId === '' && file.previewOf === ''
  touched({ fileId: previewId })
  const row = files.insert({
    id: previewId,
    name: `${file?.name ?? id} (preview)`,
    ...preview,
    remoteKey: '',
    createdAt,
    updatedAt: createdAt,
    deletedAt: shown ? null : createdAt,
    conflictOf: '',
    previewId: '',
    previewOf: id,
  })
  if (!shown) return [row]
  touched({ fileId: id })
  return [row, files.update({ previewId }).where({ id })]
}

/** A file's preview goes and comes back with it. */
const previewOfFile = (id: string, query: MaterializerContextQuery): string => {
  const previewId = query(files.where({ id }).first())?.previewId ?? ''
  if (previewId !== '') touched({ fileId: previewId })
  return previewId
}

const uploadFile = ({ contentHash, remoteKey }: typeof FileUploaded.Type) => {
  touched({ contentHash })
  return files.update({ remoteKey }).where({ contentHash })
}
/** LiveStore derives the client document's materializer: known once the state is made (withFileSync). */
let setLocalFileState: Materializer | undefined

/** What an app adds to the writes of an event of the file sync, in the same transaction. */
export interface FileSyncHooks {
  /**
   * A conflict copy was made (see `v1.FileUpdated`): the app's own rows for it, e.g. an album
   * item next to the original's. Every device runs it for the same events, in the same order.
   */
  onConflictCopy?: (copy: FileRow, query: MaterializerContextQuery) => ReadonlyArray<ReturnType<typeof files.insert>> | ReadonlyArray<unknown>
}

/** The materializers of the file sync's events, for the app's `makeState`. */
export const fileSyncMaterializers = ({ onConflictCopy }: FileSyncHooks = {}) =>
  State.SQLite.materializers(fileSyncEvents, {
    'v1.FileCreated': createFile,
    'v1.FilesCreated': ({ files }) => files.map(createFile),
    // Bytes are stored per store under their hash, so an upload is an upload for every row with
    // that content: a conflict copy whose bytes went up under the original's id before the
    // conflict was known, or a twin file. Never a newer version of this file (another hash). A
    // deleted row marked here only lets devices drop their copy early: the server's copy is removed
    // only when no live or still restorable row has the content (see sync-plan.ts).
    'v1.FileUploaded': uploadFile,
    'v1.FilesUploaded': ({ uploads }) => uploads.map(uploadFile),
    'v1.FileUpdated': ({ id, previousHash, updatedAt, ...content }, { query }) => {
      const copy = conflictCopy({ id, previousHash, contentHash: content.contentHash, updatedAt }, query)
      touched({ fileId: id })
      if (copy) touched({ fileId: copy.id })
      const reactions = copy ? ((onConflictCopy?.(copy, query) ?? []) as never[]) : []
      // The old content's preview shows it no more: deleted (its bytes go as a deleted file's),
      // and a device that has the new content makes the new one.
      const oldPreview = previewOfFile(id, query)
      return [
        ...(copy ? [files.insert(copy), ...reactions] : []),
        ...(oldPreview ? [files.update({ deletedAt: updatedAt }).where({ id: oldPreview, deletedAt: null })] : []),
        files.update({ ...content, remoteKey: '', updatedAt, previewId: '' }).where({ id }),
      ]
    },
    'v1.FilePreviewAdded': (preview, { query }) => addPreview(preview, query),
    'v1.FileDeleted': ({ id, deletedAt }, { query }) => {
      touched({ fileId: id })
      const preview = previewOfFile(id, query)
      return [files.update({ deletedAt }).where({ id }), ...(preview ? [files.update({ deletedAt }).where({ id: preview, deletedAt: null })] : [])]
    },
    'v1.FileRestored': ({ id }, { query }) => {
      touched({ fileId: id })
      const preview = previewOfFile(id, query)
      return [files.update({ deletedAt: null }).where({ id }), ...(preview ? [files.update({ deletedAt: null }).where({ id: preview })] : [])]
    },
    'v1.FileRemoteLost': ({ contentHash }) => {
      touched({ contentHash })
      return files.update({ remoteKey: '' }).where({ contentHash })
    },
    'v1.LocalFileStatesSet': ({ states }, context) => {
      if (!setLocalFileState) throw new Error(`${fileSyncEvents.localFileStateSet.name} has no materializer yet: pass the state to withFileSync`)
      const set = setLocalFileState
      return states.flatMap((state) => set(state, context))
    },
  })

/**
 * Finishes the app's state: the local state is a client document, whose materializer LiveStore
 * derives; the file sync tells of its writes through a wrapper around that one.
 */
export const withFileSync = <S extends { materializers: Map<string, Materializer> }>(state: S): S => {
  const derived = state.materializers.get(fileSyncEvents.localFileStateSet.name)
  if (!derived) throw new Error(`LiveStore made no materializer for ${fileSyncEvents.localFileStateSet.name}`)
  setLocalFileState = (args, context) => {
    touched({ fileId: (args as { id: string }).id })
    return derived(args, context)
  }
  state.materializers.set(fileSyncEvents.localFileStateSet.name, setLocalFileState)
  return state
}

/** Travels with the sync connection; the Worker checks the token for the store. */
export const SyncPayload = Schema.Struct({ authToken: Schema.String })

export type FileRow = typeof files.Type

/** An event as `store.commit` takes it: the file sync's, or the app's that go along. */
export type FileSyncEvent = LiveStoreEvent.Input.Decoded

/**
 * What the file sync needs of the app's store: a LiveStore `Store` of any schema that includes
 * this fragment (a `Store<AppSchema>` is one).
 */
export type FileSyncStore = Pick<Store, 'query' | 'networkStatus' | 'storeId' | 'schema' | 'subscribeSyncStatus' | 'syncStatus'> & {
  commit(...events: ReadonlyArray<FileSyncEvent>): void
}
