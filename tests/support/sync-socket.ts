/**
 * LiveStore's sync socket as `makeWsSync` opens it, for the Worker tests and the store seeder:
 * `/api/sync?storeId=…&payload=…&transport=ws`, where payload is the JSON of the
 * sync payload, URI-component encoded, then encoded again as a query value.
 * Past the handshake the socket speaks Effect RPC in JSON.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'

export const syncUrlOf = (baseUrl: string, storeId: string, payload: unknown, protocol = 'ws:'): string => {
  const url = new URL('/api/sync', baseUrl)
  url.protocol = protocol
  url.search = new URLSearchParams({
    storeId,
    payload: encodeURIComponent(JSON.stringify(payload)),
    transport: 'ws',
  }).toString()
  return url.toString()
}

/** The handshake's HTTP answer: 101 when the socket is accepted. */
export const handshake = (url: string): Promise<{ status: number; body: string; contentType?: string }> =>
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

export const openSocket = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.addEventListener('open', () => resolve(socket), { once: true })
    socket.addEventListener('error', () => reject(new Error('WebSocket refused')), { once: true })
  })

type RpcAnswer = { _tag: 'Success'; value: unknown } | { _tag: 'Failure'; cause: unknown } | { _tag: 'Chunk'; values: unknown[] }

type RpcMessage = { _tag: string; requestId?: string; exit?: RpcAnswer; values?: unknown[] }

let nextRequestId = 1

/**
 * Sends one Effect RPC request and waits for its first answer: the Exit, or a
 * stream's first Chunk (a pull streams its events and does not end at once).
 */
export const call = (socket: WebSocket, tag: string, payload: unknown): Promise<RpcAnswer> =>
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

export const firstEvent = { name: 'v1.TestEventHappened', args: {}, seqNum: 1, parentSeqNum: 0, clientId: 'c1', sessionId: 's1' }
