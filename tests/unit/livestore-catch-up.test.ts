import { makeAdapter } from '@livestore/adapter-node'
import { createStorePromise, StoreInternalsSymbol } from '@livestore/livestore'
import { Effect, LogLevel } from 'effect'
import { afterEach, describe, expect, test } from 'vitest'
import { type AppStore, events, schema, tables } from '../../src/livestore/schema.ts'
import { type FakeSyncServer, type GlobalEvent, makeServer } from '../support/fake-sync-backend.ts'
import { waitFor } from '../support/wait.ts'

// LiveStore 0.4.0's leader against a fake sync backend that loses what the real one lost when
// the Worker was killed in the middle of a push (tests/browser/faults.spec.ts): the publication
// (pull chunk) of a push it stored, a pull request sent on the dying socket, and an event that
// sync-cf sends twice to a pull it is still reading. Unpatched, each of these leaves the device
// behind for good: a push refused with ServerAheadError waits for a pull chunk that never comes
// (upstream #1394, #1462), the doubled event kills the leader's pull, a gap is merged over, the
// lost pull is never sent again (#1365). patches/@livestore__common@0.4.0.patch makes the leader
// catch up from its persisted cursor instead; all four tests fail without it.

type Server = FakeSyncServer

const openStore = (server: Server): Promise<AppStore> =>
  createStorePromise({
    schema,
    adapter: makeAdapter({
      storage: { type: 'in-memory' },
      sync: { backend: server.backend as never, initialSyncOptions: { _tag: 'Skip' } },
    }),
    storeId: `catch-up-${crypto.randomUUID().slice(0, 8)}`,
    logLevel: LogLevel.Warning,
  })

const created = (id: string) =>
  events.fileCreated({ id, name: `${id}.bin`, mimeType: 'application/octet-stream', size: 1, contentHash: id.padEnd(64, '0'), createdAt: 1 })

/** Another device's FileCreated, as the server stores it. */
const fromOtherDevice = (id: string, seqNum: number): GlobalEvent => ({
  name: 'v1.FileCreated',
  args: { id, name: `${id}.bin`, mimeType: 'application/octet-stream', size: 1, contentHash: id.padEnd(64, '0'), createdAt: 1 },
  seqNum,
  parentSeqNum: seqNum - 1,
  clientId: 'other-device',
  sessionId: 'other-session',
})

/** The number of events the leader holds that the server has not confirmed (LiveStore internals, 0.4.0). */
const leaderPending = async (store: AppStore): Promise<number> => {
  type Internals = { clientSession: { leaderThread: { syncState: { get: Effect.Effect<{ pending: unknown[] }> } } } }
  const internals = (store as unknown as Record<symbol, Internals | undefined>)[StoreInternalsSymbol]
  if (!internals) throw new Error('LiveStore internals are not where 0.4.0 keeps them')
  return (await Effect.runPromise(internals.clientSession.leaderThread.syncState.get)).pending.length
}

const fileIds = (store: AppStore): string[] =>
  store
    .query(tables.files)
    .map((file) => file.id)
    .toSorted()

describe('LiveStore leader catch-up (patched)', () => {
  let store: AppStore | undefined
  afterEach(async () => {
    await store?.shutdownPromise()
    store = undefined
  })

  test('a push refused with ServerAheadError after a lost publication gets out, and nothing is doubled', async () => {
    const server = makeServer()
    store = await openStore(server)
    // The server stores this device's event but its publication is lost (the Worker died).
    server.loseNextPublications(1)
    store.commit(created('mine-1'))
    await waitFor(() => server.log.length === 1, 5_000, 'the first push stored')
    // Another device pushes meanwhile; this device does not hear of it either.
    server.loseNextPublications(1)
    server.append([fromOtherDevice('theirs', 2)])
    // This device's next push starts from its stale parent: ServerAheadError.
    store.commit(created('mine-2'))

    await waitFor(() => server.log.length === 3, 5_000, "this device's second event on the server")
    await waitFor(async () => (await leaderPending(store!)) === 0, 5_000, 'every event of this device confirmed')
    expect(server.log.map((event) => (event.args as { id: string }).id)).toEqual(['mine-1', 'theirs', 'mine-2'])
    await waitFor(() => fileIds(store!).length === 3, 5_000, "the other device's event in this device's state")
    expect(fileIds(store)).toEqual(['mine-1', 'mine-2', 'theirs'])
  })

  test('an event pulled twice is applied once, and the pull goes on', async () => {
    const server = makeServer()
    store = await openStore(server)
    server.append([fromOtherDevice('first', 1)])
    await waitFor(() => fileIds(store!).includes('first'), 5_000, 'the first event pulled')
    // sync-cf sends an event written while it reads a new pull's first page both ways.
    server.publish([server.log[0]!])
    server.append([fromOtherDevice('second', 2)])
    await waitFor(() => fileIds(store!).includes('second'), 5_000, 'the event after the doubled one')
    expect(fileIds(store)).toEqual(['first', 'second'])
  })

  test('an event published after a gap makes the leader fetch what it missed', async () => {
    const server = makeServer()
    store = await openStore(server)
    server.loseNextPublications(1)
    server.append([fromOtherDevice('lost', 1)])
    server.append([fromOtherDevice('after', 2)])
    await waitFor(() => fileIds(store!).length === 2, 5_000, 'both events')
    expect(fileIds(store)).toEqual(['after', 'lost'])
  })

  test('a pull lost with the socket is replaced once the connection is back', async () => {
    const server = makeServer()
    store = await openStore(server)
    server.append([fromOtherDevice('before', 1)])
    await waitFor(() => fileIds(store!).includes('before'), 5_000, 'the event before the outage')
    await server.dropConnection()
    server.append([fromOtherDevice('after', 2)])
    await waitFor(() => fileIds(store!).includes('after'), 5_000, 'the event after the outage')
  })
})
