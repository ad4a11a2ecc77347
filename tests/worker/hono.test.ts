/**
 * The file API and the sync socket mounted in a small Hono app (tests/worker/apps/hono-app.ts),
 * at paths of its choosing, with its own token route: what an app with a server of its own does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { RunningWorker } from '../support/wrangler.ts'
import { bearer, startWorkerApp, newStoreId, randomFile, rawRequest } from './helpers.ts'
import { handshake, syncUrlOf } from '../support/sync-socket.ts'

let app: RunningWorker
beforeAll(async () => {
  app = await startWorkerApp('tests/worker/apps/hono-app.ts', 'livestore-file-sync-hono')
}, 60_000)

afterAll(async () => {
  await app?.close()
})

const tokenFor = async (storeId: string) => {
  const response = await fetch(`${app.url}/session/store-token/${storeId}`, { headers: { 'X-Test-User': 'carol' } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { token: string }).token
}

describe('the file API mounted at /storage/files in a Hono app', () => {
  it("stores and serves files there, with the app's own token route", async () => {
    const storeId = newStoreId()
    const token = await tokenFor(storeId)
    const file = randomFile(4096)
    const url = `${app.url}/storage/files/${storeId}/${file.sha256}`
    const put = await fetch(url, { method: 'PUT', body: file.bytes, headers: bearer(token) })
    expect(put.status).toBe(201)
    expect(await put.json()).toMatchObject({ key: `${storeId}/${file.sha256}`, size: 4096, created: true })

    const range = await fetch(url, { headers: { ...bearer(token), Range: 'bytes=10-19' } })
    expect(range.status).toBe(206)
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(file.bytes.subarray(10, 20))
    expect((await fetch(url, { method: 'DELETE', headers: bearer(token) })).status).toBe(202)
    expect((await fetch(`${url}/restore`, { method: 'POST', headers: bearer(token) })).status).toBe(200)
  })

  it("keeps every check: the token, the key, the app's other routes untouched", async () => {
    const storeId = newStoreId()
    const file = randomFile(10)
    const url = `${app.url}/storage/files/${storeId}/${file.sha256}`
    expect((await fetch(url, { method: 'PUT', body: file.bytes })).status).toBe(401)
    expect((await fetch(url, { method: 'PUT', body: file.bytes, headers: bearer(await tokenFor(newStoreId())) })).status).toBe(401)
    expect((await fetch(`${app.url}/session/store-token/${storeId}`)).status).toBe(403)
    const token = await tokenFor(storeId)
    for (const path of [
      `/storage/files/${storeId}/..`,
      `/storage/files/${storeId}/${file.sha256.toUpperCase()}`,
      `/storage/files/${storeId}%2F${file.sha256}`,
    ]) {
      expect((await rawRequest(app.url, { path, headers: bearer(token) })).status, path).toBe(400)
    }
    // Not mounted where the built-in Worker has it, and the app's own page is the app's.
    expect((await fetch(`${app.url}/api/files/${storeId}/${file.sha256}`, { headers: bearer(token) })).status).toBe(404)
    expect(await (await fetch(app.url)).text()).toBe("the app's own page")
  })

  it("opens LiveStore's sync socket at /realtime with a token of the store, and only then", async () => {
    const storeId = newStoreId()
    const token = await tokenFor(storeId)
    const at = (authToken: string) => syncUrlOf(app.url, storeId, { authToken }, 'http:').replace('/api/sync', '/realtime')
    expect((await handshake(at(token))).status).toBe(101)
    expect((await handshake(at(await tokenFor(newStoreId())))).status).toBe(401)
  })
})
