/**
 * Store tokens on the real Worker: who gets one (the app's `authorize`), and what each request
 * does with a valid one, none, a forged one, an expired one and one of another store, on the
 * file API and on the sync socket alike.
 *
 * The tokens here are made by the test itself, in the documented format
 * (`v1.<claims>.<HMAC-SHA256>`), with the Worker's AUTH_SECRET or another one: a Worker that
 * accepted only the tokens it signed itself would pass the other tests by accident.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { fileRequests, startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, startWorkerApp, newStoreId, randomFile, signedToken } from './helpers.ts'
import { call, firstEvent, handshake, openSocket, syncUrlOf } from '../support/sync-socket.ts'

const AUTH_SECRET = 'test-secret-for-the-token-tests'
const TOKEN_TTL_SECONDS = 120

let worker: RunningWorker

beforeAll(async () => {
  worker = await startWorker({ vars: { AUTH_SECRET, TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) } })
}, 60_000)

afterAll(async () => {
  await worker?.close()
})

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A token in the Worker's format, made here (signed with the Worker's secret unless told). */
const makeToken = (claims: { store: string; user?: string; exp?: number; secret?: string }): string =>
  signedToken({ secret: AUTH_SECRET, exp: nowSeconds() + TOKEN_TTL_SECONDS, ...claims })

const claimsOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))

const fileUrl = (storeId: string, sha256: string) => `${worker.url}/api/files/${storeId}/${sha256}`
const syncUrl = (storeId: string, authToken: string | undefined, protocol = 'ws:') =>
  syncUrlOf(worker.url, storeId, authToken === undefined ? null : { authToken }, protocol)

/** What each kind of token does, for a store that holds one file. */
const refusedTokens = (storeId: string) => ({
  'another store': makeToken({ store: newStoreId() }),
  expired: makeToken({ store: storeId, exp: nowSeconds() - 1 }),
  'bad signature': makeToken({ store: storeId, secret: 'not-the-worker-secret' }),
  // The claims changed after signing: another user, same signature.
  tampered: (() => {
    const [version, , signature] = makeToken({ store: storeId }).split('.')
    return `${version}.${Buffer.from(JSON.stringify({ store: storeId, user: 'mallory', exp: nowSeconds() + 600 })).toString('base64url')}.${signature}`
  })(),
  malformed: 'not-a-token',
  // Signed right, but to outlive any token the Worker issues now (TOKEN_TTL_SECONDS).
  'expiry too far': makeToken({ store: storeId, exp: Math.floor(Date.UTC(2200, 0, 1) / 1000) }),
})

describe('the token endpoint (development authorize)', () => {
  it('signs a token for the store, for user "dev", valid for TOKEN_TTL_SECONDS', async () => {
    const storeId = newStoreId()
    const before = nowSeconds()
    const response = await fetch(`${worker.url}/api/auth/${storeId}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const body = (await response.json()) as { token: string; expiresAt: number }
    expect(body).toEqual({
      storeId,
      userId: 'dev',
      token: expect.stringMatching(/^v1\.[\w-]+\.[\w-]{43}$/),
      expiresAt: expect.any(Number),
      expiresIn: TOKEN_TTL_SECONDS,
    })
    expect(claimsOf(body.token)).toEqual({ store: storeId, user: 'dev', exp: body.expiresAt / 1000 })
    expect(body.expiresAt / 1000 - before).toBeGreaterThanOrEqual(TOKEN_TTL_SECONDS)
    expect(body.expiresAt / 1000 - before).toBeLessThanOrEqual(TOKEN_TTL_SECONDS + 2)
    // Signed with AUTH_SECRET, as one made here would be.
    const file = randomFile(8)
    expect((await fetch(fileUrl(storeId, file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(body.token) })).status).toBe(201)
  })

  it('says loudly in the log, on every token, that anyone may have one', async () => {
    const storeId = newStoreId()
    await fetch(`${worker.url}/api/auth/${storeId}`)
    await expect.poll(() => worker.output()).toMatch(new RegExp(`"store":"${storeId}".*DEVELOPMENT auth`))
  })
})

describe('the file API', () => {
  it('serves a valid token, and logs the store, the user, the status and the bytes, never the token', async () => {
    const storeId = newStoreId()
    const token = makeToken({ store: storeId, user: 'alice' })
    const file = randomFile(100)
    expect((await fetch(fileUrl(storeId, file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(token) })).status).toBe(201)
    const read = await fetch(fileUrl(storeId, file.sha256), { headers: bearer(token) })
    expect(read.status).toBe(200)
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(file.bytes)

    await expect.poll(() => worker.output()).toContain(`"method":"GET","status":200`)
    const lines = worker
      .output()
      .split('\n')
      .filter((line) => line.includes(`"store":"${storeId}"`) && line.includes('"method"'))
    expect(lines.map((line) => JSON.parse(line.slice(line.indexOf('{'))))).toEqual([
      { route: 'file', store: storeId, file: file.sha256, user: 'alice', method: 'PUT', status: 201, bytes: 100, ms: expect.any(Number) },
      { route: 'file', store: storeId, file: file.sha256, user: 'alice', method: 'GET', status: 200, bytes: 100, ms: expect.any(Number) },
    ])
    expect(worker.output()).not.toContain(token)
  })

  it("refuses no token, a forged one, an expired one and another store's with 401 saying why, for every method", async () => {
    const storeId = newStoreId()
    const file = randomFile(10)
    const owner = makeToken({ store: storeId })
    expect((await fetch(fileUrl(storeId, file.sha256), { method: 'PUT', body: file.bytes, headers: bearer(owner) })).status).toBe(201)

    const cases: Array<[string, Record<string, string>]> = [
      ['missing', {}],
      ...Object.entries(refusedTokens(storeId)).map(([why, token]): [string, Record<string, string>] => [why, bearer(token)]),
    ]
    for (const [why, headers] of cases) {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const response = await fetch(fileUrl(storeId, file.sha256), { method, headers, ...(method === 'PUT' ? { body: file.bytes } : {}) })
        expect(response.status, `${why} ${method}`).toBe(401)
        expect(response.headers.get('WWW-Authenticate'), why).toContain('Bearer')
        if (method === 'GET') {
          const { error } = (await response.json()) as { error: string }
          const expected = {
            missing: 'Authorization',
            'another store': 'another store',
            expired: 'expired',
            'bad signature': 'bad signature',
            tampered: 'bad signature',
            malformed: 'malformed',
            'expiry too far': 'expiry too far',
          }[why]
          expect(error, why).toContain(expected)
        }
      }
    }
    // Nothing was deleted by any of them.
    expect((await fetch(fileUrl(storeId, file.sha256), { headers: bearer(owner) })).status).toBe(200)
  })

  it("refuses the token of store A on store B's multipart routes too", async () => {
    const storeB = newStoreId()
    const tokenA = makeToken({ store: newStoreId() })
    const file = randomFile(10)
    const create = await fetch(`${fileUrl(storeB, file.sha256)}/uploads`, {
      method: 'POST',
      body: JSON.stringify({ size: 10, mimeType: 'text/plain' }),
      headers: { ...bearer(tokenA), 'Content-Type': 'application/json' },
    })
    expect(create.status).toBe(401)
  })
})

describe('the sync socket', () => {
  it('opens with a valid token, and takes a push and a pull', async () => {
    const storeId = newStoreId()
    const token = makeToken({ store: storeId })
    expect((await handshake(syncUrl(storeId, token, 'http:'))).status).toBe(101)
    const socket = await openSocket(syncUrl(storeId, token))
    try {
      const push = await call(socket, 'SyncWsRpc.Push', { storeId, payload: { authToken: token }, batch: [firstEvent], backendId: { _tag: 'None' } })
      expect(push).toEqual({ _tag: 'Success', value: {} })
    } finally {
      socket.close()
    }
  })

  it("refuses to open with no token, a forged one, an expired one or another store's, with 401 saying why", async () => {
    const storeId = newStoreId()
    const cases: Array<[string, string | undefined]> = [['missing', undefined], ...Object.entries(refusedTokens(storeId))]
    for (const [why, token] of cases) {
      const answer = await handshake(syncUrl(storeId, token, 'http:'))
      expect(answer.status, why).toBe(401)
      expect(answer.contentType, why).toBe('application/json')
      if (token !== undefined) expect(answer.body, why).not.toContain(token)
      await expect(openSocket(syncUrl(storeId, token))).rejects.toThrow('refused')
    }
  })

  it('checks the token of every push on an open socket: an expired or foreign one is refused, a renewed one taken', async () => {
    const storeId = newStoreId()
    const socket = await openSocket(syncUrl(storeId, makeToken({ store: storeId })))
    try {
      const push = (authToken: string, seqNum: number) =>
        call(socket, 'SyncWsRpc.Push', {
          storeId,
          payload: { authToken },
          batch: [{ ...firstEvent, seqNum, parentSeqNum: seqNum - 1 }],
          backendId: { _tag: 'None' },
        })
      const refused = refusedTokens(storeId)
      for (const why of ['expired', 'another store', 'bad signature', 'expiry too far'] as const) {
        expect(await push(refused[why], 1), why).toMatchObject({ _tag: 'Failure' })
      }
      // What the page's sync worker sends once it renewed its token: taken on the same socket.
      expect(await push(makeToken({ store: storeId, exp: nowSeconds() + TOKEN_TTL_SECONDS }), 1)).toEqual({ _tag: 'Success', value: {} })
    } finally {
      socket.close()
    }
  })

  it('closes a socket when the token it opened with expires, which ends its live pull', async () => {
    const storeId = newStoreId()
    const exp = nowSeconds() + 3
    const socket = await openSocket(syncUrl(storeId, makeToken({ store: storeId, exp })))
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      socket.addEventListener('close', (event) => resolve({ code: event.code, at: Date.now() }), { once: true }),
    )
    // A live pull: it would stream the store's events for as long as the socket lives.
    const pull = call(socket, 'SyncWsRpc.Pull', { storeId, payload: { authToken: makeToken({ store: storeId }) }, cursor: { _tag: 'None' }, live: true })
    expect(await pull).toMatchObject({ _tag: 'Chunk' })
    const { code, at } = await closed
    expect(code).toBe(4401)
    // Not before the token expired (the alarm is set for that moment).
    expect(at).toBeGreaterThanOrEqual(exp * 1000 - 100)
    // Another socket, with a token that lives on, stays open meanwhile and after.
    const fresh = await openSocket(syncUrl(storeId, makeToken({ store: storeId })))
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(fresh.readyState).toBe(WebSocket.OPEN)
      expect(
        await call(fresh, 'SyncWsRpc.Pull', { storeId, payload: { authToken: makeToken({ store: storeId }) }, cursor: { _tag: 'None' }, live: false }),
      ).toMatchObject({ _tag: 'Chunk' })
    } finally {
      fresh.close()
    }
  }, 20_000)

  it("takes a pull sent again with the token of its time, but not a forged one or another store's", async () => {
    const storeId = newStoreId()
    const socket = await openSocket(syncUrl(storeId, makeToken({ store: storeId })))
    try {
      const pull = (authToken: string) => call(socket, 'SyncWsRpc.Pull', { storeId, payload: { authToken }, cursor: { _tag: 'None' }, live: false })
      const refused = refusedTokens(storeId)
      // A live pull outlives its token: a reconnected socket sends it again as it was.
      expect(await pull(refused.expired)).toMatchObject({ _tag: 'Chunk' })
      for (const why of ['another store', 'bad signature', 'malformed', 'expiry too far'] as const) {
        expect(await pull(refused[why]), why).toMatchObject({ _tag: 'Failure' })
      }
    } finally {
      socket.close()
    }
  })
})

describe("an app's own authorize", () => {
  let appWorker: RunningWorker
  beforeAll(async () => {
    appWorker = await startWorkerApp('tests/worker/apps/app-auth.ts', 'livestore-file-sync-app-auth', { vars: { AUTH_SECRET, DEV_AUTH: 'false' } })
  }, 60_000)

  afterAll(async () => {
    await appWorker?.close()
  })

  const tokenRequest = (storeId: string, user?: string) =>
    fetch(`${appWorker.url}/api/auth/${storeId}`, { headers: user === undefined ? {} : { 'X-Test-User': user } })

  it('signs a token for the user it names, for the stores it allows', async () => {
    const response = await tokenRequest('alice-notes', 'alice')
    expect(response.status).toBe(200)
    const { token, userId } = (await response.json()) as { token: string; userId: string }
    expect(userId).toBe('alice')
    expect(claimsOf(token)).toMatchObject({ store: 'alice-notes', user: 'alice' })
    const file = randomFile(8)
    const put = await fetch(`${appWorker.url}/api/files/alice-notes/${file.sha256}`, { method: 'PUT', body: file.bytes, headers: bearer(token) })
    expect(put.status).toBe(201)
    await expect.poll(() => fileRequests(appWorker.output()).at(-1)).toMatchObject({ route: 'file', key: `alice-notes/${file.sha256}`, status: 201 })
  })

  it('refuses with 403 the stores it does not allow, and answers its own Response as it is', async () => {
    const refused = await tokenRequest('bob-notes', 'alice')
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({ error: expect.stringContaining('bob-notes') })
    const signIn = await tokenRequest('alice-notes')
    expect(signIn.status).toBe(401)
    expect(await signIn.json()).toEqual({ error: 'sign in first' })
    expect(appWorker.output()).not.toContain('DEVELOPMENT auth')
  })
})
