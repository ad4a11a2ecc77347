/**
 * A WebSocket proxy for LiveStore's sync socket that can lose a push's answer on purpose: it
 * hands the next push to the Worker, swallows everything the Worker says after it, and closes the
 * connection once the Worker has had time to store the events. The device then holds events that
 * the server has but that it never heard confirmed: the start of LiveStore's upstream issue #1462.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type RawData, WebSocket, WebSocketServer } from 'ws'

export interface SyncSocketCutter {
  url: string
  /**
   * Arms the cut for the next push of any connection; resolves once that connection is closed.
   * With `delayPullAfterMs`, the next connection's pull chunks reach the device that much later
   * than the answers to its pushes: the order in which LiveStore's pusher waits for good.
   */
  cutAfterNextPush(options?: { delayPullAfterMs?: number }): Promise<void>
  /**
   * Silences every connection open now, both ways, without closing it: what a busy server or a
   * network that drops packets looks like. Resolves once the devices have closed all of them
   * (their pings went unanswered); connections opened later pass as usual.
   */
  silenceOpenConnections(): Promise<void>
  /** What went through, in order: `<ms> <direction> <message start>`. */
  log: string[]
  stop(): Promise<void>
}

const isPush = (data: string) => /"tag":"[^"]*Push"/.test(data) || data.includes('PushRequest')

export const startSyncSocketCutter = async (target: string, storeGraceMs = 500): Promise<SyncSocketCutter> => {
  const started = Date.now()
  const log: string[] = []
  // The sync payload carries the store's token: it never goes into the log.
  const note = (direction: string, data: string) =>
    log.push(`${Date.now() - started} ${direction} ${data.replace(/"authToken":"[^"]*"/g, '"authToken":"…"').slice(0, 200)}`)
  let armed: (() => void) | undefined
  let delayNextPullMs = 0
  const sockets = new Set<WebSocket>()
  /** Silences a connection; resolves when it is closed. One per connection open now. */
  const silencers = new Set<() => Promise<void>>()

  const server = createServer((_request, response) => response.writeHead(404).end())
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (client) => {
      const upstream = new WebSocket(`${target.replace(/^http/, 'ws')}${request.url ?? '/'}`)
      sockets.add(client)
      sockets.add(upstream)
      const queued: RawData[] = []
      let muted = false
      let silenced = false
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
      const silence = () => {
        silenced = true
        return closed
      }
      silencers.add(silence)
      void closed.then(() => silencers.delete(silence))
      const pullDelayMs = delayNextPullMs
      delayNextPullMs = 0
      const closeBoth = () => {
        client.terminate()
        upstream.terminate()
      }
      upstream.on('open', () => {
        for (const data of queued.splice(0)) upstream.send(data)
      })
      upstream.on('message', (data, isBinary) => {
        const text = data.toString()
        note(muted || silenced ? 'swallowed' : 'down', text)
        if (muted || silenced) return
        if (pullDelayMs > 0 && text.startsWith('{"_tag":"Chunk"')) setTimeout(() => client.send(data, { binary: isBinary }), pullDelayMs)
        else client.send(data, { binary: isBinary })
      })
      client.on('message', (data) => {
        const text = data.toString()
        note(silenced ? 'lost' : 'up', text)
        if (silenced) return
        if (armed && isPush(text)) {
          const cut = armed
          armed = undefined
          muted = true
          setTimeout(() => {
            closeBoth()
            cut()
          }, storeGraceMs)
        }
        if (upstream.readyState === WebSocket.OPEN) upstream.send(data)
        else queued.push(data)
      })
      client.on('close', closeBoth)
      upstream.on('close', closeBoth)
      client.on('error', closeBoth)
      upstream.on('error', closeBoth)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    cutAfterNextPush: ({ delayPullAfterMs = 0 } = {}) =>
      new Promise<void>((resolve) => {
        armed = () => {
          delayNextPullMs = delayPullAfterMs
          resolve()
        }
      }),
    silenceOpenConnections: async () => {
      await Promise.all([...silencers].map((silence) => silence()))
    },
    async stop() {
      for (const socket of sockets) socket.terminate()
      wss.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
