/**
 * Presence on the real Worker (`wrangler dev`): who has a store open, as every page of it hears.
 * The token travels in the socket's first message, never in its URL; the user and the profile
 * come from the server (the token, the profiles hook), the device label and the uploads from the
 * page. A page that goes silent is dropped after the heartbeat timeout (3 s here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Peer } from '../../src/file-sync/shared/presence-protocol.ts'
import type { RunningWorker } from '../support/wrangler.ts'
import { waitFor } from '../support/wait.ts'
import { handshake } from '../support/sync-socket.ts'
import { newStoreId, signedToken, startWorkerApp } from './helpers.ts'

const AUTH_SECRET = 'test-secret-for-the-presence-tests'
const TIMEOUT_SECONDS = 3

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorkerApp('tests/worker/apps/presence-profiles.ts', 'livestore-file-sync-presence', {
    vars: { AUTH_SECRET, PRESENCE_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) },
  })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const tokenFor = (store: string, user: string, exp?: number) => signedToken({ store, user, secret: AUTH_SECRET, ...(exp === undefined ? {} : { exp }) })

/** A presence socket as a test drives it: every message it heard, and how it closed. */
interface TestSocket {
  socket: WebSocket
  peers(): Peer[] | undefined
  closed: Promise<{ code: number; reason: string }>
  send(message: unknown): void
}

const open = async (storeId: string): Promise<TestSocket> => {
  const url = new URL(`/api/presence/${storeId}`, worker.url)
  url.protocol = 'ws:'
  const socket = new WebSocket(url)
  let peers: Peer[] | undefined
  socket.addEventListener('message', (event) => {
    if (event.data === 'pong') return
    const message = JSON.parse(String(event.data)) as { type: string; peers?: Peer[] }
    if (message.type === 'peers') peers = message.peers
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }), { once: true }),
  )
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', () => reject(new Error('the presence socket was refused')), { once: true })
  })
  return { socket, peers: () => peers, closed, send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)) }
}

const hello = (token: string, pageId: string, device = 'Test device') => ({ type: 'hello', token, device, pageId })

/** Opens a socket and says hello; resolves once the server listed this page. */
const join = async (storeId: string, user: string, pageId: string, device?: string): Promise<TestSocket> => {
  const page = await open(storeId)
  page.send(hello(tokenFor(storeId, user), pageId, device))
  await waitFor(() => page.peers()?.some((peer) => peer.pageId === pageId) ?? false, 5_000, `${pageId} listed`)
  return page
}

const pageIdsOf = (page: TestSocket) => page.peers()?.map((peer) => peer.pageId)

describe('presence', () => {
  it('shows two users to each other, with their profiles from the server and the devices they claim', async () => {
    const storeId = newStoreId()
    const alice = await join(storeId, 'alice', 'page-alice-1', 'Chrome on Linux · a1b2')
    const bob = await join(storeId, 'bob', 'page-bob-1', 'Firefox\u202E on Mac\n')
    try {
      const expected = [
        {
          pageId: 'page-alice-1',
          userId: 'alice',
          profile: { name: 'Profile of alice', image: 'https://example.test/alice.png' },
          device: 'Chrome on Linux · a1b2',
          uploading: [],
        },
        // The label is the page's claim: control and reordering characters are taken out.
        {
          pageId: 'page-bob-1',
          userId: 'bob',
          profile: { name: 'Profile of bob', image: 'https://example.test/bob.png' },
          device: 'Firefox on Mac',
          uploading: [],
        },
      ]
      await waitFor(() => alice.peers()?.length === 2, 5_000, 'alice sees bob')
      expect(alice.peers()).toEqual(expected)
      expect(bob.peers()).toEqual(expected)

      // What a page uploads reaches the others: valid file ids, once each.
      bob.send({ type: 'uploading', fileIds: ['file-2', 'file-1', 'file-1', 'not a "file" id'] })
      await waitFor(() => alice.peers()?.[1]?.uploading.length === 2, 5_000, 'alice hears what bob uploads')
      expect(alice.peers()?.[1]?.uploading).toEqual(['file-1', 'file-2'])
    } finally {
      alice.socket.close()
      bob.socket.close()
    }
  })

  it('closes a page that floods the store with messages (4429), and drops it from the others’ lists', async () => {
    const storeId = newStoreId()
    const calm = await join(storeId, 'alice', 'page-calm')
    const flood = await join(storeId, 'mallory', 'page-flood')
    try {
      await waitFor(() => calm.peers()?.length === 2, 5_000, 'both listed')
      // Each change would be told to every page: 21 in a moment is more than a page may send in 10 s.
      for (let n = 0; n <= 20; n += 1) flood.send({ type: 'uploading', fileIds: [`file-${n}`] })
      const closed = await flood.closed
      expect(closed.code).toBe(4429)
      expect(closed.reason).toMatch(/at most 20 messages in 10 s/)
      await waitFor(() => calm.peers()?.length === 1, 5_000, 'the flooding page dropped')
      expect(pageIdsOf(calm)).toEqual(['page-calm'])
    } finally {
      calm.socket.close()
      flood.socket.close()
    }
  })

  it('drops a page that closed its socket from the others’ lists', async () => {
    const storeId = newStoreId()
    const first = await join(storeId, 'alice', 'page-first')
    const second = await join(storeId, 'alice', 'page-second')
    await waitFor(() => first.peers()?.length === 2, 5_000, 'both listed')
    second.socket.close(1000, 'page closed')
    await waitFor(() => first.peers()?.length === 1, 5_000, 'the closed page dropped')
    expect(pageIdsOf(first)).toEqual(['page-first'])
    first.socket.close()
  })

  it("refuses another store's token with 4403, and a forged or expired one with 4401", async () => {
    const storeId = newStoreId()
    const present = await join(storeId, 'alice', 'page-present')
    try {
      const cases = [
        { token: tokenFor(newStoreId(), 'mallory'), code: 4403, reason: /another store/ },
        { token: signedToken({ store: storeId, user: 'mallory', secret: 'not-the-secret' }), code: 4401, reason: /bad signature/ },
        { token: tokenFor(storeId, 'mallory', Math.floor(Date.now() / 1000) - 1), code: 4401, reason: /expired/ },
      ]
      for (const { token, code, reason } of cases) {
        const intruder = await open(storeId)
        intruder.send(hello(token, 'page-intruder'))
        const closed = await intruder.closed
        expect(closed.code, String(reason)).toBe(code)
        expect(closed.reason).toMatch(reason)
        expect(intruder.peers()).toBeUndefined()
      }
      // None of them was ever listed.
      expect(pageIdsOf(present)).toEqual(['page-present'])
    } finally {
      present.socket.close()
    }
  })

  it('refuses a first message that is no hello, or a hello without a token, with 4400 and 4401', async () => {
    const storeId = newStoreId()
    const garbage = await open(storeId)
    garbage.send('not json at all')
    expect((await garbage.closed).code).toBe(4400)

    const notHello = await open(storeId)
    notHello.send({ type: 'uploading', fileIds: ['x'] })
    expect((await notHello.closed).code).toBe(4400)

    const noToken = await open(storeId)
    noToken.send({ type: 'hello', device: 'no token', pageId: 'page-no-token' })
    expect(await noToken.closed).toEqual({ code: 4401, reason: expect.stringContaining('missing') })
  })

  it('closes a socket that says nothing (no hello) once the timeout is over', async () => {
    const storeId = newStoreId()
    const opened = Date.now()
    const silent = await open(storeId)
    const present = await join(storeId, 'alice', 'page-present')
    try {
      expect((await silent.closed).code).toBe(4408)
      expect(Date.now() - opened).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 500)
      // It was never a peer. (Under wrangler dev, a socket that never sent a message hears its
      // close about 10 s after the alarm closed it, with undici's WebSocket and with ws alike;
      // one that did hears it at once.)
      expect(pageIdsOf(present)).toEqual(['page-present'])
    } finally {
      present.socket.close()
    }
  }, 30_000)

  it('drops a page that stops pinging after the heartbeat timeout, and keeps one that pings', async () => {
    const storeId = newStoreId()
    const pinging = await join(storeId, 'alice', 'page-pinging')
    const silent = await join(storeId, 'bob', 'page-silent')
    // Pings are answered by the runtime ('pong') without waking the object; they keep a page listed.
    let pongs = 0
    pinging.socket.addEventListener('message', (event) => {
      if (event.data === 'pong') pongs += 1
    })
    const ping = setInterval(() => pinging.socket.send('ping'), 500)
    try {
      await waitFor(() => pinging.peers()?.length === 2, 5_000, 'both listed')
      const silentSince = Date.now()
      expect((await silent.closed).code).toBe(4408)
      expect(Date.now() - silentSince).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 1_000)
      await waitFor(() => pinging.peers()?.length === 1, 5_000, 'the silent page dropped')
      expect(pageIdsOf(pinging)).toEqual(['page-pinging'])
      expect(pongs).toBeGreaterThan(0)
      // Twice the timeout later, the pinging page is still there.
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_SECONDS * 1000))
      expect(pinging.socket.readyState).toBe(WebSocket.OPEN)
    } finally {
      clearInterval(ping)
      pinging.socket.close()
    }
  }, 30_000)

  it('closes a socket when its token expires (4401), so that the page reconnects with a fresh one', async () => {
    const storeId = newStoreId()
    const page = await open(storeId)
    const exp = Math.floor(Date.now() / 1000) + 2
    page.send(hello(tokenFor(storeId, 'alice', exp), 'page-expiring'))
    await waitFor(() => page.peers()?.length === 1, 5_000, 'listed')
    const ping = setInterval(() => page.socket.send('ping'), 500)
    try {
      const closed = await page.closed
      expect(closed.code).toBe(4401)
      expect(closed.reason).toMatch(/expired/)
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 100)
    } finally {
      clearInterval(ping)
    }
  }, 20_000)

  it('gives a page id to one user only: the same user takes it over, another is refused (4409)', async () => {
    const storeId = newStoreId()
    const original = await join(storeId, 'alice', 'page-shared')
    const squatter = await open(storeId)
    squatter.send(hello(tokenFor(storeId, 'mallory'), 'page-shared'))
    expect((await squatter.closed).code).toBe(4409)

    const reconnected = await join(storeId, 'alice', 'page-shared')
    expect((await original.closed).code).toBe(4409)
    expect(pageIdsOf(reconnected)).toEqual(['page-shared'])
    reconnected.socket.close()
  })

  it('answers a request without Upgrade: websocket with 426, and a bad store id with 400', async () => {
    expect((await fetch(`${worker.url}/api/presence/${newStoreId()}`)).status).toBe(426)
    expect((await handshake(`${worker.url}/api/presence/not%20a%20store`)).status).toBe(400)
    expect((await handshake(`${worker.url}/api/presence/${newStoreId()}`)).status).toBe(101)
  })
})
