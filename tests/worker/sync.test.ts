/**
 * LiveStore sync over the WebSocket, as `makeWsSync` opens it:
 * `/api/sync?storeId=…&payload=…&transport=ws`, where payload is the JSON of the
 * sync payload, URI-component encoded, then encoded again as a query value.
 * Past the handshake the socket speaks Effect RPC in JSON; a few raw messages
 * are enough to show that every push and pull is checked, not just the handshake.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { fetchToken, newStoreId } from './helpers.ts'

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker()
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const syncUrl = (storeId: string, payload: unknown, protocol = 'ws:'): string => {
  const url = new URL('/api/sync', worker.url)
  url.protocol = protocol
  url.search = new URLSearchParams({
    storeId,
    payload: encodeURIComponent(JSON.stringify(payload)),
    transport: 'ws',
  }).toString()
  return url.toString()
}

/** The handshake's HTTP answer: 101 when the socket is accepted. */
const handshake = (url: string): Promise<{ status: number; body: string; contentType?: string }> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    })
    request.on('upgrade', (_response, socket) => {
      socket.destroy()
      resolve({ status: 101, body: '' })
    })
    request.on('response', (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, ...(response.headers['content-type'] ? { contentType: response.headers['content-type'] } : {}) }),
      )
    })
    request.on('error', reject)
    request.end()
  })

const openSocket = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.addEventListener('open', () => resolve(socket), { once: true })
    socket.addEventListener('error', () => reject(new Error('WebSocket refused')), { once: true })
  })

type RpcAnswer =
  | { _tag: 'Success'; value: unknown }
  | { _tag: 'Failure'; cause: unknown }
  | { _tag: 'Chunk'; values: unknown[] }

type RpcMessage = { _tag: string; requestId?: string; exit?: RpcAnswer; values?: unknown[] }

let nextRequestId = 1

/**
 * Sends one Effect RPC request and waits for its first answer: the Exit, or a
 * stream's first Chunk (a pull streams its events and does not end at once).
 */
const call = (socket: WebSocket, tag: string, payload: unknown): Promise<RpcAnswer> =>
  new Promise((resolve) => {
    const id = String(nextRequestId++)
    const onMessage = (event: MessageEvent) => {
      for (const message of [JSON.parse(String(event.data))].flat() as RpcMessage[]) {
        if (message.requestId !== id) continue
        if (message._tag === 'Exit' && message.exit !== undefined) resolve(message.exit)
        else if (message._tag === 'Chunk') resolve({ _tag: 'Chunk', values: message.values ?? [] })
        else continue
        socket.removeEventListener('message', onMessage)
        return
      }
    }
    socket.addEventListener('message', onMessage)
    socket.send(JSON.stringify({ _tag: 'Request', id, tag, payload, headers: [] }))
  })

const firstEvent = { name: 'v1.TestEventHappened', args: {}, seqNum: 1, parentSeqNum: 0, clientId: 'c1', sessionId: 's1' }

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
