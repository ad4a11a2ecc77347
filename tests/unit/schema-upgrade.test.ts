import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeAdapter } from '@livestore/adapter-node'
import { createStorePromise, makeSchema, type Materializer, State } from '@livestore/livestore'
import { LogLevel } from 'effect'
import { afterEach, expect, test } from 'vitest'
import { events, schema, tables } from '../../src/livestore/schema.ts'
import { type FakeSyncServer, makeServer } from '../support/fake-sync-backend.ts'
import { waitFor } from '../support/wait.ts'

// A device that runs the version before batch events keeps `v1.FilesCreated` in its event log
// without applying it (LiveStore's unknown events). LiveStore applies the log again only when the
// state's table layout changes: this version changed it (schema.ts), so the update shows the files.

/** The schema as the version before batch events had it: no batch events, one index on files. */
const previousSchema = () => {
  const batchNames = new Set<string>([events.filesCreated.name, events.filesUploaded.name, events.galleryItemsAdded.name, events.localFileStatesSet.name])
  const previousEvents = Object.fromEntries(Object.entries(events).filter(([, def]) => !batchNames.has(def.name)))
  const files = State.SQLite.table({
    name: 'files',
    columns: tables.files.sqliteDef.columns as never,
    indexes: [{ name: 'files_contentHash', columns: ['contentHash'] }],
  })
  const materializers: Record<string, Materializer> = {}
  for (const def of Object.values(previousEvents) as Array<{ name: string }>) {
    const materializer = schema.state.materializers.get(def.name)
    if (materializer && !def.name.endsWith('Set')) materializers[def.name] = materializer
  }
  const state = State.SQLite.makeState({
    tables: { files, galleryItems: tables.galleryItems, localFilesState: tables.localFilesState, deviceSyncState: tables.deviceSyncState },
    materializers: materializers as never,
  })
  return makeSchema({ events: previousEvents as never, state })
}

const folders: string[] = []
afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })))
})

const open = (appSchema: typeof schema, server: FakeSyncServer, baseDirectory: string, storeId: string) =>
  createStorePromise({
    schema: appSchema,
    adapter: makeAdapter({
      storage: { type: 'fs', baseDirectory },
      sync: { backend: server.backend as never, initialSyncOptions: { _tag: 'Skip' } },
    }),
    storeId,
    logLevel: LogLevel.Error,
  })

test('a device on the previous version keeps batch events it cannot read, and shows their files once it updates', async () => {
  const baseDirectory = await mkdtemp(join(tmpdir(), 'livestore-upgrade-'))
  folders.push(baseDirectory)
  const storeId = `upgrade-${crypto.randomUUID().slice(0, 8)}`
  const server = makeServer()
  // Another device, on this version, added a pick of three files.
  const files = ['a', 'b', 'c'].map((id) => ({ id, name: `${id}.jpg`, mimeType: 'image/jpeg', size: 1, contentHash: id.repeat(64), createdAt: 1 }))
  server.append([{ name: events.filesCreated.name, args: { files }, seqNum: 1, parentSeqNum: 0, clientId: 'other', sessionId: 'other' }])

  const before = await open(previousSchema() as never, server, baseDirectory, storeId)
  try {
    await waitFor(() => before.syncStatus().upstreamHead.startsWith('e1'))
    expect(before.query(tables.files.where({}))).toEqual([])
  } finally {
    await before.shutdownPromise()
  }

  const after = await open(schema, server, baseDirectory, storeId)
  try {
    await waitFor(() => after.query(tables.files.where({})).length === 3)
    expect(after.query(tables.files.where({}).orderBy('id', 'asc')).map((file) => file.name)).toEqual(['a.jpg', 'b.jpg', 'c.jpg'])
  } finally {
    await after.shutdownPromise()
  }
})
