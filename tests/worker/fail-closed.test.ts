/**
 * The Worker as it ships, reached as a deployed one is: by a host other than this machine's.
 * Without AUTH_SECRET it must not be usable by anyone: every route that needs a token answers
 * 503 and names the missing secret, whatever token comes (one signed with the public development
 * secret included), while on a loopback host (`wrangler dev`) it keeps working with no set-up.
 * With AUTH_SECRET set, the development authorize() still gives no one a token from outside.
 *
 * The requests go to 127.0.0.1 with another `Host`: what Cloudflare routes by, and what the
 * Worker sees as the request's host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWorker, type RunningWorker } from '../support/wrangler.ts'
import { bearer, newStoreId, randomFile, rawRequest, signedToken } from './helpers.ts'

// The development secret is public (src/file-sync/server/auth.ts): an attacker has it.
const DEVELOPMENT_SECRET = 'livestore-file-sync/development-secret/not-for-production'
const PUBLIC_HOST = 'files.example.com'

/** Every route that needs a token, as an attacker would call it, with `token`. */
const routesNeedingAToken = (storeId: string, token: string) => {
  const file = randomFile(64)
  const auth = bearer(token)
  const payload = encodeURIComponent(JSON.stringify({ authToken: token }))
  return [
    { method: 'GET', path: `/api/auth/${storeId}` },
    { method: 'GET', path: `/api/files/${storeId}/${file.sha256}`, headers: auth },
    { method: 'HEAD', path: `/api/files/${storeId}/${file.sha256}`, headers: auth },
    { method: 'PUT', path: `/api/files/${storeId}/${file.sha256}`, headers: { ...auth, 'Content-Length': '64' }, body: file.bytes },
    { method: 'DELETE', path: `/api/files/${storeId}/${file.sha256}`, headers: auth },
    {
      method: 'POST',
      path: `/api/files/${storeId}/${file.sha256}/uploads`,
      headers: { ...auth, 'Content-Type': 'application/json', 'Content-Length': '2' },
      body: new TextEncoder().encode('{}'),
    },
    { method: 'GET', path: `/api/sync-head/${storeId}`, headers: auth },
    {
      method: 'GET',
      path: `/api/sync?storeId=${storeId}&payload=${payload}&transport=ws`,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    },
  ]
}

describe('without AUTH_SECRET (the shipped configuration)', () => {
  let worker: RunningWorker
  beforeAll(async () => {
    worker = await startWorker()
  }, 60_000)
  afterAll(async () => {
    await worker?.close()
  })

  it('refuses every route that needs a token on a public host with 503, naming the missing secret', async () => {
    const storeId = newStoreId()
    const forged = signedToken({ store: storeId, secret: DEVELOPMENT_SECRET, user: 'mallory' })
    for (const { method, path, headers = {}, body } of routesNeedingAToken(storeId, forged)) {
      const response = await rawRequest(worker.url, { method, path, headers: { ...headers, Host: PUBLIC_HOST }, body })
      expect(response.status, `${method} ${path}`).toBe(503)
      if (method !== 'HEAD') expect(JSON.parse(response.body).error, `${method} ${path}`).toContain('AUTH_SECRET')
      expect(response.body).not.toContain(forged)
    }
    // Said in the log once, not once per request.
    expect(worker.output().match(/AUTH_SECRET is not set: every request/g)).toHaveLength(1)
  })

  it('still answers what needs no token there', async () => {
    const health = await rawRequest(worker.url, { path: '/api/health', headers: { Host: PUBLIC_HOST } })
    expect(health.status).toBe(200)
  })

  it('works with no set-up on this machine (a loopback host), as `wrangler dev` does', async () => {
    const storeId = newStoreId()
    for (const host of ['127.0.0.1', 'localhost']) {
      const response = await rawRequest(worker.url, { path: `/api/auth/${storeId}`, headers: { Host: `${host}:${new URL(worker.url).port}` } })
      expect(response.status, host).toBe(200)
      const { token } = JSON.parse(response.body) as { token: string }
      const file = randomFile(32)
      const put = await fetch(`${worker.url}/api/files/${storeId}/${file.sha256}`, { method: 'PUT', body: file.bytes, headers: bearer(token) })
      expect(put.status, host).toBe(201)
    }
  })
})

describe('with AUTH_SECRET but the development authorize()', () => {
  const AUTH_SECRET = 'test-secret-for-the-fail-closed-test'
  let worker: RunningWorker
  beforeAll(async () => {
    worker = await startWorker({ vars: { AUTH_SECRET } })
  }, 60_000)
  afterAll(async () => {
    await worker?.close()
  })

  it('gives no one a token from a public host', async () => {
    const response = await rawRequest(worker.url, { path: `/api/auth/${newStoreId()}`, headers: { Host: PUBLIC_HOST } })
    expect(response.status).toBe(403)
    expect(JSON.parse(response.body).error).toContain('authorize()')
  })

  it('takes tokens signed with its secret there, and refuses ones signed with the development secret', async () => {
    const storeId = newStoreId()
    const file = randomFile(16)
    const put = (secret: string) =>
      rawRequest(worker.url, {
        method: 'PUT',
        path: `/api/files/${storeId}/${file.sha256}`,
        headers: { ...bearer(signedToken({ store: storeId, secret })), Host: PUBLIC_HOST, 'Content-Length': '16' },
        body: file.bytes,
      })
    expect((await put(DEVELOPMENT_SECRET)).status).toBe(401)
    expect((await put(AUTH_SECRET)).status).toBe(201)
  })
})
