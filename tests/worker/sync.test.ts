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

  it('refuses a wrong token, another store\'s token and a missing payload', async () => {
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
      const push = (authToken: string) =>
        call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken }, batch: [firstEvent], backendId: { _tag: 'None' } })
      const pull = (authToken: string) =>
        call(socket, 'SyncWsRpc.Pull', { storeId, payload: { authToken }, cursor: { _tag: 'None' }, live: false })

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

describe('the store\'s head', () => {
  const head = (storeId: string, token?: string, init: RequestInit = {}) =>
    fetch(`${worker.url}/api/sync-head/${storeId}`, { ...init, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } })

  it('is 0 before any push and the last event\'s number after', async () => {
    const storeId = newStoreId()
    const token = await fetchToken(worker.url, storeId)
    const before = await head(storeId, token)
    expect(before.status).toBe(200)
    expect(await before.json()).toEqual({ head: 0 })

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
    expect((await head(storeId, token)).status).toBe(200)
  })
})
