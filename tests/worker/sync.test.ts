/**
 * LiveStore sync over the WebSocket, as `makeWsSync` opens it:
 * `/api/sync?storeId=…&payload=…&transport=ws`, where payload is the JSON of the
 * sync payload, URI-component encoded, then encoded again as a query value.
 * Past the handshake the socket speaks Effect RPC in JSON; a few raw messages
 * are enough to show that every push and pull is checked, not just the handshake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { fetchToken, newStoreId } from './helpers.ts'
import { call, firstEvent, handshake, openSocket, syncUrlOf } from '../support/sync-socket.ts'

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker()
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const syncUrl = (storeId: string, payload: unknown, protocol = 'ws:') => syncUrlOf(worker.url, storeId, payload, protocol)

describe('sync handshake', () => {
  it('accepts a socket whose payload carries a valid token for the store', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    expect((await handshake(syncUrl(storeId, { authToken: token }, 'http:'))).status).toBe(101)

    const socket = await openSocket(syncUrl(storeId, { authToken: token }))
    expect(socket.readyState).toBe(WebSocket.OPEN)
    socket.close()
  })

  it("refuses a wrong token, another store's token and a missing payload", async () => {
    const storeId = newStoreId()
    const otherToken = await fetchToken(worker.url, newStoreId())
    const refused = [{ authToken: 'wrong' }, { authToken: otherToken }, { token: otherToken }, null]
    for (const payload of refused) {
      const answer = await handshake(syncUrl(storeId, payload, 'http:'))
      expect(answer.status, JSON.stringify(payload)).toBe(401)
      expect(answer.contentType).toBe('application/json')
      expect(answer.body).not.toContain(otherToken)
      await expect(openSocket(syncUrl(storeId, payload))).rejects.toThrow('refused')
    }
  })
})

describe('sync messages', () => {
  it('checks the payload of every push and pull, not only the handshake', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const otherToken = await fetchToken(worker.url, newStoreId())
    const socket = await openSocket(syncUrl(storeId, { authToken: token }))
    try {
      const push = (authToken: string) => call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken }, batch: [firstEvent], backendId: { _tag: 'None' } })
      const pull = (authToken: string) => call(socket, 'SyncWsRpc.Pull', { storeId, payload: { authToken }, cursor: { _tag: 'None' }, live: false })

      expect(await push(otherToken)).toMatchObject({ _tag: 'Failure' })
      expect(await pull(otherToken)).toMatchObject({ _tag: 'Failure' })

      expect(await push(token)).toEqual({ _tag: 'Success', value: {} })
      expect(await pull(token)).toMatchObject({
        _tag: 'Chunk',
        values: [{ batch: [{ eventEncoded: firstEvent }] }],
      })
    } finally {
      socket.close()
    }
  })
})

describe('a pull of a store with many events', () => {
  it('brings its first events in a message of their own, then all of them once, in order', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const socket = await openSocket(syncUrl(storeId, { authToken: token }))
    try {
      // Events that each carry many files, as a pick of this app makes them (batch-events.ts).
      const count = 150
      const events = Array.from({ length: count }, (_, index) => ({
        name: 'v1.FilesCreated',
        args: {
          files: Array.from({ length: 20 }, (_, n) => ({
            id: `f${index}-${n}`,
            name: `p${n}.jpg`,
            mimeType: 'image/jpeg',
            size: 1,
            contentHash: 'a'.repeat(64),
            createdAt: 1,
          })),
        },
        seqNum: index + 1,
        parentSeqNum: index,
        clientId: 'c1',
        sessionId: 's1',
      }))
      for (let start = 0; start < count; start += 100) {
        const batch = events.slice(start, start + 100)
        const answer = await call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken: token }, batch, backendId: { _tag: 'None' } })
        expect(answer).toEqual({ _tag: 'Success', value: {} })
      }

      // A new device's first pull: what each message carries, until none are left.
      const pullId = '900001'
      const messages = await new Promise<number[][]>((resolve) => {
        const received: number[][] = []
        const onMessage = (message: MessageEvent) => {
          for (const rpc of [JSON.parse(String(message.data))].flat() as Array<{
            _tag: string
            values?: Array<{ batch: Array<{ eventEncoded: { seqNum: number } }> }>
          }>) {
            if (rpc._tag !== 'Chunk') continue
            for (const value of rpc.values ?? []) received.push(value.batch.map((event) => event.eventEncoded.seqNum))
            // Effect RPC streams wait for the client's ack before the next chunk.
            socket.send(JSON.stringify({ _tag: 'Ack', requestId: pullId }))
            if (received.flat().length >= count) {
              socket.removeEventListener('message', onMessage)
              resolve(received)
            }
          }
        }
        socket.addEventListener('message', onMessage)
        socket.send(
          JSON.stringify({
            _tag: 'Request',
            id: pullId,
            tag: 'SyncWsRpc.Pull',
            payload: { storeId, payload: { authToken: token }, cursor: { _tag: 'None' }, live: false },
            headers: [],
          }),
        )
      })
      // Shown at once on a new device: its first message is small, whatever its events carry.
      expect(messages[0]).toEqual([1, 2])
      expect(messages.flat()).toEqual(events.map((event) => event.seqNum))
    } finally {
      socket.close()
    }
  })
})

describe("the store's head", () => {
  const head = (storeId: string, token?: string, init: RequestInit = {}) =>
    fetch(`${worker.url}/api/sync-head/${storeId}`, { ...init, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } })

  it("is not found before any push, and is the last event's number after", async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    // A store nothing was pushed to does not exist on the server: asking creates nothing.
    const before = await head(storeId, token)
    expect(before.status).toBe(404)
    expect(before.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(await before.json()).toEqual({ error: expect.stringContaining('no events') })
    expect((await head(storeId, token)).status).toBe(404)

    const socket = await openSocket(syncUrl(storeId, { authToken: token }))
    try {
      const second = { ...firstEvent, seqNum: 2, parentSeqNum: 1 }
      const pushed = await call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken: token }, batch: [firstEvent, second], backendId: { _tag: 'None' } })
      expect(pushed).toEqual({ _tag: 'Success', value: {} })
    } finally {
      socket.close()
    }
    expect(await (await head(storeId, token)).json()).toEqual({ head: 2 })
  })

  it('needs a token of the store, and only answers GET', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const otherToken = await fetchToken(worker.url, newStoreId())
    expect((await head(storeId)).status).toBe(401)
    expect((await head(storeId, otherToken)).status).toBe(401)
    expect((await head('no/such store', token)).status).toBe(400)
    expect((await head(storeId, token, { method: 'POST' })).status).toBe(405)
    expect((await head(storeId, token)).status).toBe(404)
  })
})
