/** Small HTTP helpers shared by the Worker tests. */
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

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
