import { describe, expect, test } from 'vitest'
import { browserOf, deviceLabel, systemOf } from '../../src/file-sync/client/device-label.ts'
import { connectPresence, type PresenceOptions, type PresenceSocket, presenceUrl } from '../../src/file-sync/client/presence.ts'
import type { Peer } from '../../src/file-sync/shared/presence-protocol.ts'
import { createManualClock, createMemoryStorage } from '../support/fakes.ts'

/** A socket the test plays the server of: what the page sent, and events fired by hand. */
const fakeSocket = (url: string) => {
  const listeners = new Map<string, Array<(event: { data?: unknown; code?: number }) => void>>()
  const fire = (type: string, event: { data?: unknown; code?: number } = {}) => {
    for (const listener of listeners.get(type) ?? []) listener(event)
  }
  const socket = {
    url,
    sent: [] as string[],
    closedWith: undefined as number | undefined,
    send(data: string) {
      this.sent.push(data)
    },
    close(code = 1005) {
      this.closedWith = code
    },
    addEventListener(type: string, listener: (event: { data?: unknown; code?: number }) => void) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener])
    },
    /** The server: the socket opened. */
    open: () => fire('open'),
    /** The server: a message. */
    message: (data: string) => fire('message', { data }),
    /** The server: the peers message. */
    peers: (peers: Peer[]) => fire('message', { data: JSON.stringify({ type: 'peers', peers }) }),
    /** The socket closed (by the server, or the network). */
    closed: (code: number) => fire('close', { code }),
    messages: () => socket.sent.filter((data) => data !== 'ping').map((data) => JSON.parse(data) as Record<string, unknown>),
  }
  return socket satisfies PresenceSocket
}

const peer = (pageId: string, uploading: string[] = []): Peer => ({
  pageId,
  userId: 'alice',
  profile: { name: 'Alice' },
  device: 'Chrome on Linux · a1b2',
  uploading,
})

const setup = (options: Partial<PresenceOptions> = {}) => {
  const clock = createManualClock()
  const sockets: Array<ReturnType<typeof fakeSocket>> = []
  const tokenCalls: Array<{ refresh?: boolean } | undefined> = []
  let pageIds = 0
  const events = new EventTarget()
  const presence = connectPresence({
    url: 'ws://127.0.0.1/api/presence/store-1',
    getToken: async (asked) => {
      tokenCalls.push(asked)
      return `token-${tokenCalls.length}`
    },
    device: 'Chrome on Linux · a1b2',
    newPageId: () => `page-id-${++pageIds}`,
    connect: (url) => {
      const socket = fakeSocket(url)
      sockets.push(socket)
      return socket
    },
    events,
    setTimer: clock.setTimer,
    now: clock.now,
    ...options,
  })
  /** Lets the token's promise resolve, so that the socket is made. */
  const flush = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve()
  }
  const last = () => {
    const socket = sockets.at(-1)
    if (!socket) throw new Error('no socket yet')
    return socket
  }
  return { presence, clock, sockets, tokenCalls, events, flush, last }
}

describe('connectPresence', () => {
  test('says hello with the token, lists the peers with this page as you, and tells its uploads once listed', async () => {
    const { presence, flush, last, clock } = setup()
    presence.setUploading(['file-b', 'file-a', 'file-a'])
    await flush()
    const socket = last()
    expect(socket.url).toBe('ws://127.0.0.1/api/presence/store-1')
    socket.open()
    // Only the hello before the server has taken it: another message would be refused.
    expect(socket.messages()).toEqual([{ type: 'hello', token: 'token-1', device: 'Chrome on Linux · a1b2', pageId: 'page-id-1' }])
    expect(presence.state()).toEqual({ connected: false, peers: [] })

    socket.peers([peer('page-id-1'), peer('other-page', ['file-c'])])
    expect(presence.state()).toEqual({
      connected: true,
      peers: [
        { ...peer('page-id-1'), you: true },
        { ...peer('other-page', ['file-c']), you: false },
      ],
    })
    expect(socket.messages().slice(1)).toEqual([{ type: 'uploading', fileIds: ['file-a', 'file-b'] }])
    // A change is told within a second of the last one; the same list again is not.
    presence.setUploading(['file-a'])
    presence.setUploading(['file-a'])
    clock.advance(1_000)
    expect(socket.messages().slice(2)).toEqual([{ type: 'uploading', fileIds: ['file-a'] }])
  })

  test('tells its uploads at most once a second, the latest list, however fast they change', async () => {
    const { presence, flush, last, clock } = setup()
    await flush()
    const socket = last()
    socket.open()
    socket.peers([peer('page-id-1')])
    clock.advance(5_000)
    // A pick of many files: the list changes on every upload that starts or ends.
    for (let n = 1; n <= 50; n += 1) {
      presence.setUploading([`file-${n}`])
      clock.advance(40)
    }
    clock.advance(1_000)
    const lists = socket.messages().filter((message) => message.type === 'uploading')
    // 2 s of changes: the first at once, then one a second at most, and the last list told.
    expect(lists.length).toBeGreaterThanOrEqual(2)
    expect(lists.length).toBeLessThanOrEqual(4)
    expect(lists.at(-1)).toEqual({ type: 'uploading', fileIds: ['file-50'] })
  })

  test('pings every 10 s, and gives up on a server that stops answering, then reconnects', async () => {
    const { presence, clock, sockets, flush, last } = setup()
    await flush()
    const first = last()
    first.open()
    first.peers([peer('page-id-1')])
    clock.advance(10_000)
    expect(first.sent.filter((data) => data === 'ping')).toHaveLength(1)
    first.message('pong')
    clock.advance(20_000)
    expect(first.sent.filter((data) => data === 'ping')).toHaveLength(3)
    expect(presence.state().connected).toBe(true)
    // Nothing heard for 25 s (no pong): the connection is dead, whether or not it says so.
    clock.advance(5_000)
    expect(first.closedWith).toBeDefined()
    expect(presence.state()).toEqual({ connected: false, peers: [] })
    clock.advance(1_000)
    await flush()
    expect(sockets).toHaveLength(2)
  })

  test('waits longer after each failure, again from the start once connected, and at once when back online', async () => {
    const { clock, sockets, events, flush, last } = setup()
    await flush()
    const waits: number[] = []
    for (let attempt = 0; attempt < 4; attempt += 1) {
      last().closed(1006)
      const before = sockets.length
      let waited = 0
      while (sockets.length === before && waited < 60_000) {
        clock.advance(500)
        waited += 500
        await flush()
      }
      waits.push(waited)
    }
    expect(waits).toEqual([1_000, 2_000, 5_000, 10_000])
    // Listed: the next failure waits the first pause again.
    last().open()
    last().peers([peer('page-id-1')])
    last().closed(1006)
    clock.advance(999)
    await flush()
    const count = sockets.length
    clock.advance(1)
    await flush()
    expect(sockets.length).toBe(count + 1)
    // Offline for a while: the browser's online event reconnects without waiting out the pause.
    last().closed(1006)
    events.dispatchEvent(new Event('online'))
    await flush()
    expect(sockets.length).toBe(count + 2)
  })

  test('asks for a fresh token after the server refused or expired the token (4401, 4403), and a new page id after 4409', async () => {
    const { presence, clock, tokenCalls, flush, last } = setup()
    await flush()
    last().open()
    last().closed(4401)
    clock.advance(1_000)
    await flush()
    expect(tokenCalls.at(-1)).toEqual({ refresh: true })
    last().open()
    expect(last().messages()[0]).toMatchObject({ token: 'token-2', pageId: 'page-id-1' })
    last().closed(4409)
    clock.advance(2_000)
    await flush()
    expect(tokenCalls.at(-1)).toEqual({})
    last().open()
    expect(last().messages()[0]).toMatchObject({ pageId: 'page-id-2' })
    expect(presence.pageId).toBe('page-id-2')
  })

  test('close() closes the socket and never reconnects', async () => {
    const { presence, clock, sockets, flush, last } = setup()
    await flush()
    last().open()
    presence.close()
    expect(last().closedWith).toBe(1000)
    last().closed(1000)
    clock.advance(60_000)
    await flush()
    expect(sockets).toHaveLength(1)
  })

  test('tries again later when there is no token (offline on a first visit)', async () => {
    let fail = true
    const { clock, sockets, flush } = setup({
      getToken: async () => {
        if (fail) throw new Error('offline')
        return 'token'
      },
    })
    await flush()
    expect(sockets).toHaveLength(0)
    fail = false
    clock.advance(1_000)
    await flush()
    expect(sockets).toHaveLength(1)
  })
})

describe('presenceUrl', () => {
  test('is a WebSocket URL on the origin of the base URL, secure with https', () => {
    expect(presenceUrl('http://127.0.0.1:5173/some/page', 'store-1')).toBe('ws://127.0.0.1:5173/api/presence/store-1')
    expect(presenceUrl('https://files.example', 'store-1')).toBe('wss://files.example/api/presence/store-1')
  })
})

describe('deviceLabel', () => {
  const linuxChrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36'
  test('names the browser and the system, with a suffix kept for the device', () => {
    const storage = createMemoryStorage()
    const label = deviceLabel({ userAgent: linuxChrome, storage, newSuffix: () => 'a1b2' })
    expect(label).toBe('Chrome on Linux · a1b2')
    // The next page of this browser: the same label.
    expect(deviceLabel({ userAgent: linuxChrome, storage, newSuffix: () => 'ffff' })).toBe(label)
  })

  test('tells the common browsers and systems apart', () => {
    const cases: Array<[string, string, string]> = [
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36 Edg/140.0', 'Edge', 'Windows'],
      ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15', 'Safari', 'macOS'],
      ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'Firefox', 'Linux'],
      [
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0 Mobile/15E148 Safari/604.1',
        'Chrome',
        'iOS',
      ],
      ['Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Mobile Safari/537.36', 'Chrome', 'Android'],
    ]
    for (const [userAgent, browser, system] of cases) expect([browserOf(userAgent), systemOf(userAgent)]).toEqual([browser, system])
  })
})
