import { type FileSyncStore, deviceSyncStateId, type LocalFileState, fileSyncTables as tables } from '../schema.ts'
import { batchEvents } from './batch-events.ts'
import type { FileIndex } from './file-index.ts'
import type { LocalFileStorage } from './local-file-storage.ts'

/**
 * Once per start of the file sync, before it follows changes: makes the local state agree with
 * the disk (one listing, no per-file disk I/O) and forgets transfers that were running when the
 * last leader stopped. Resolves to the hashes whose bytes are on the disk.
 */
export const reconcileWithDisk = async ({ store, local, index }: { store: FileSyncStore; local: LocalFileStorage; index: FileIndex }): Promise<Set<string>> => {
  const currentFiles = [...index.files()]
  // Interrupted downloads of content still wanted are kept, to continue where they stopped.
  await local.removePartials(currentFiles.filter((file) => file.deletedAt === null).map((file) => file.contentHash))
  const onDisk = new Set(await local.list())
  const currentStates = new Map(index.states())
  const patches: Array<[string, Partial<LocalFileState>]> = []
  const filesById = new Map(currentFiles.map((file) => [file.id, file]))
  for (const [fileId, state] of currentStates) {
    const patch: { -readonly [K in keyof LocalFileState]?: LocalFileState[K] } = {}
    const file = filesById.get(fileId)
    const bytesHere = state.localHash !== '' && onDisk.has(state.localHash)
    if (state.localHash !== '' && !bytesHere) patch.localHash = ''
    // An interrupted upload that is about to resume keeps saying so (and checks the server
    // first); any other 'active' flag is a leftover of a leader that is gone.
    const resumesUpload = bytesHere && file?.contentHash === state.localHash && file.remoteKey === '' && file.deletedAt === null
    if (state.upload === 'active' && !resumesUpload) patch.upload = 'idle'
    if (state.download === 'active') patch.download = 'idle'
    if (Object.keys(patch).length > 0) patches.push([fileId, patch])
  }
  for (const file of currentFiles) {
    const state = currentStates.get(file.id)
    if (file.deletedAt === null && onDisk.has(file.contentHash) && state?.localHash !== file.contentHash) {
      patches.push([file.id, { localHash: file.contentHash }])
    }
  }
  if (patches.length > 0) store.commit(...batchEvents(patches.map(([id, patch]) => tables.localFilesState.set(patch, id))))
  // A hold recorded by an earlier leader: this one finds out afresh.
  const device = store.query(tables.deviceSyncState.where({ id: deviceSyncStateId }))[0]?.value
  if (device && device.downloadsHeld !== '') store.commit(tables.deviceSyncState.set({ downloadsHeld: '' }, deviceSyncStateId))
  return onDisk
}
