/** Small HTTP helpers shared by the Worker tests. */
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { sha256Hex } from '../support/sha256.ts'
import { type RunningWorker, type StartWorkerOptions, startWorker } from '../support/wrangler.ts'

export { sha256Hex }

export const randomFile = (size: number): { bytes: Uint8Array<ArrayBuffer>; sha256: string } => {
  const bytes = new Uint8Array(randomBytes(size))
  return { bytes, sha256: sha256Hex(bytes) }
}

/** A fresh store per test keeps tests independent on one shared Worker. */
export const newStoreId = (): string => `store_${randomBytes(6).toString('hex')}`

export const fetchToken = async (baseUrl: string, storeId: string): Promise<string> => {
  const response = await fetch(`${baseUrl}/api/auth/${storeId}`)
  if (response.status !== 200) throw new Error(`GET /api/auth/${storeId}: ${response.status}`)
  const body = (await response.json()) as { storeId: string; token: string }
  return body.token
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` })

export type RawResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A request whose path goes out byte for byte (`fetch` would resolve `..` itself). */
export const rawRequest = (
  baseUrl: string,
  { method = 'GET', path, headers = {}, body }: { method?: string; path: string; headers?: Record<string, string>; body?: Uint8Array<ArrayBuffer> },
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl)
    const request = httpRequest({ hostname, port, method, path, headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
        request.destroy()
      })
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })

/** The multipart upload routes of one file (`fileUrl` = /api/files/<storeId>/<sha256>), as one client. */
export const multipartClient = (fileUrl: string, token: string) => {
  const uploadUrl = (uploadId: string) => `${fileUrl}/uploads/${encodeURIComponent(uploadId)}`
  const postJson = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { ...bearer(token), 'Content-Type': 'application/json' } })
  return {
    create: (body: unknown) => postJson(`${fileUrl}/uploads`, body),
    part: (uploadId: string, partNumber: number, bytes: Uint8Array<ArrayBuffer>) =>
      fetch(`${uploadUrl(uploadId)}/parts/${partNumber}`, { method: 'PUT', body: bytes, headers: bearer(token) }),
    complete: (uploadId: string, parts: unknown) => postJson(uploadUrl(uploadId), { parts }),
    abort: (uploadId: string) => fetch(uploadUrl(uploadId), { method: 'DELETE', headers: bearer(token) }),
  }
}

/**
 * A wrangler config for another Worker entry (an app that mounts or configures ours): the
 * project's wrangler.toml with `main` pointing at `entry`, written to a temporary folder.
 * Returns its path and the folder's removal.
 */
export const configWithEntry = async (entry: string, name: string): Promise<{ config: string; remove: () => Promise<void> }> => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
  const project = await readFile(join(repoRoot, 'wrangler.toml'), 'utf8')
  const folder = await mkdtemp(join(tmpdir(), 'livestore-file-sync-config-'))
  const config = join(folder, 'wrangler.toml')
  await writeFile(
    config,
    project.replace(/^name = .*$/m, `name = ${JSON.stringify(name)}`).replace(/^main = .*$/m, `main = ${JSON.stringify(join(repoRoot, entry))}`),
  )
  return { config, remove: () => rm(folder, { recursive: true, force: true }) }
}

/**
 * The real Worker run from another entry (configWithEntry), with its wrangler.toml changed by
 * `edit` when given (an edit that changes nothing is an error: the test would not test what it
 * says). Closing it also removes that config.
 */
export const startWorkerApp = async (
  entry: string,
  name: string,
  { edit, ...options }: Omit<StartWorkerOptions, 'config'> & { edit?: (toml: string) => string } = {},
): Promise<RunningWorker> => {
  const { config, remove } = await configWithEntry(entry, name)
  try {
    if (edit) {
      const shipped = await readFile(config, 'utf8')
      const edited = edit(shipped)
      if (edited === shipped) throw new Error(`the edit of ${name}'s wrangler.toml changed nothing`)
      await writeFile(config, edited)
    }
    const worker = await startWorker({ ...options, config })
    return {
      ...worker,
      close: async () => {
        await worker.close()
        await remove()
      },
    }
  } catch (error) {
    await remove()
    throw error
  }
}

/** A new store on the Worker at `baseUrl`, with its token and the file requests the tests make. */
export const newStoreClient = async (baseUrl: string) => {
  const storeId = newStoreId()
  const token = await fetchToken(baseUrl, storeId)
  const fileUrl = (sha256: string) => `${baseUrl}/api/files/${storeId}/${sha256}`
  const withToken = (sha256: string, init: RequestInit = {}) => fetch(fileUrl(sha256), { ...init, headers: bearer(token) })
  return {
    storeId,
    token,
    fileUrl,
    put: (file: { bytes: Uint8Array<ArrayBuffer>; sha256: string }) => withToken(file.sha256, { method: 'PUT', body: file.bytes }),
    read: (sha256: string) => withToken(sha256),
    status: async (sha256: string) => (await withToken(sha256, { method: 'HEAD' })).status,
    remove: (sha256: string) => withToken(sha256, { method: 'DELETE' }),
    restore: (sha256: string) => fetch(`${fileUrl(sha256)}/restore`, { method: 'POST', headers: bearer(token) }),
    /** The number of the store's last event on the server. */
    syncHead: async () => ((await (await fetch(`${baseUrl}/api/sync-head/${storeId}`, { headers: bearer(token) })).json()) as { head: number }).head,
  }
}

/**
 * A store token in the Worker's documented format (`v1.<claims>.<HMAC-SHA256>`), made here,
 * independently of the Worker: a Worker that accepted only tokens it signed would pass by accident.
 */
export const signedToken = ({
  store,
  secret,
  user = 'alice',
  exp = Math.floor(Date.now() / 1000) + 600,
}: {
  store: string
  secret: string
  user?: string
  exp?: number
}): string => {
  const claims = Buffer.from(JSON.stringify({ store, user, exp })).toString('base64url')
  return `v1.${claims}.${createHmac('sha256', secret).update(`v1.${claims}`).digest('base64url')}`
}
