/**
 * The floor the page is compared with: the same file sent from Node straight to the Worker's
 * file API, the way the page sends it (multipart, parts of the page's size, one after the
 * other), each part streamed from the file on disk with its Content-Length; then downloaded
 * with one GET, its bytes read and discarded. No browser, no OPFS, no hashing on the client.
 */
import { createReadStream } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { PatternFile } from '../../../tests/support/test-files.ts'
import { type MemoryGrowth, stopWatches, workerWatch } from '../memory.ts'
import { MiB } from '../options.ts'
import { nodeNow } from '../page-timeline.ts'
import { newStoreId, type ScenarioContext, throughput, type Throughput } from '../setup.ts'

// The page's choice (src/boot.ts and src/file-sync/client/file-transfers.ts): a file up to one part goes
// in one PUT; larger ones in parts of 16 MiB, or of the largest request body when the server
// allows less, never under R2's 5 MiB, and few enough that a file needs at most 10,000 of them.
const defaultPartBytes = 16 * MiB
const minPartBytes = 5 * MiB
const maxParts = 10_000

export const pagePartBytes = (maxRequestBytes: number, fileBytes: number): number =>
  Math.max(Math.max(minPartBytes, Math.min(defaultPartBytes, maxRequestBytes)), Math.ceil(fileBytes / maxParts))

export interface RawTransfers {
  upload: Throughput
  download: Throughput
}

export interface RawResult extends RawTransfers {
  bytes: number
  parts: { count: number; bytes: number }
  /** The Worker's growth over idle during the direct upload and download. */
  workerMemory: MemoryGrowth[]
}

export const raw = async ({ env, log }: ScenarioContext, file: PatternFile, warmUp: PatternFile): Promise<RawResult> => {
  // The page's figures come after other transfers have warmed the Worker up; so do these.
  await rawBaseline(env.worker.url, newStoreId('raw-warm-up'), warmUp)
  log(`sending the ${(file.size / MiB).toFixed(0)} MiB file from Node straight to the Worker and back…`)
  const watches = workerWatch(env.worker.processGroup())
  const direct = await rawBaseline(env.worker.url, newStoreId('raw'), file)
  const workerMemory = stopWatches(watches)
  return { bytes: file.size, parts: direct.parts, upload: direct.upload, download: direct.download, workerMemory }
}

/** Uploads then downloads `file` under a store of its own (so the server stores it afresh), then removes it. */
const rawBaseline = async (baseUrl: string, storeId: string, file: PatternFile): Promise<RawTransfers & { parts: { count: number; bytes: number } }> => {
  const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as { maxRequestBytes: number }
  const { token } = (await (await fetch(`${baseUrl}/api/auth/${storeId}`)).json()) as { token: string }
  const auth = { Authorization: `Bearer ${token}` }
  const fileUrl = `${baseUrl}/api/files/${storeId}/${file.sha256}`
  const partBytes = pagePartBytes(health.maxRequestBytes, file.size)
  const parts = file.size <= partBytes ? 0 : Math.ceil(file.size / partBytes)

  const uploadStarted = nodeNow()
  if (file.size <= partBytes) await send('PUT', fileUrl, auth, { path: file.path, start: 0, end: file.size })
  else await uploadInParts(fileUrl, auth, file, partBytes)
  const uploadSeconds = (nodeNow() - uploadStarted) / 1000

  const downloadStarted = nodeNow()
  const received = await drain(fileUrl, auth)
  const downloadSeconds = (nodeNow() - downloadStarted) / 1000
  if (received !== file.size) throw new Error(`the raw download brought ${received} bytes, not ${file.size}`)

  await send('DELETE', fileUrl, auth, '') // frees the disk; not timed
  return {
    parts: { count: parts, bytes: partBytes },
    upload: throughput(file.size, uploadSeconds),
    download: throughput(received, downloadSeconds),
  }
}

/** Sequential parts, as the page sends them, then the complete that has the Worker verify the SHA-256. */
const uploadInParts = async (fileUrl: string, auth: Record<string, string>, file: PatternFile, partBytes: number): Promise<void> => {
  const created = await send('POST', `${fileUrl}/uploads`, auth, JSON.stringify({ size: file.size, mimeType: 'application/octet-stream' }))
  const uploadUrl = `${fileUrl}/uploads/${encodeURIComponent((JSON.parse(created) as { uploadId: string }).uploadId)}`
  const parts: Array<{ partNumber: number; etag: string }> = []
  for (let partNumber = 1; (partNumber - 1) * partBytes < file.size; partNumber += 1) {
    const start = (partNumber - 1) * partBytes
    const body = { path: file.path, start, end: Math.min(start + partBytes, file.size) }
    const { etag } = JSON.parse(await send('PUT', `${uploadUrl}/parts/${partNumber}`, auth, body)) as { etag: string }
    parts.push({ partNumber, etag })
  }
  await send('POST', uploadUrl, auth, JSON.stringify({ parts }))
}

type Body = string | { path: string; start: number; end: number }

/** One request; the body a string, or a slice of a file streamed from disk. Resolves to the answer's text. */
const send = (method: string, url: string, headers: Record<string, string>, body: Body): Promise<string> =>
  new Promise((resolve, reject) => {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.end - body.start
    const type = typeof body === 'string' ? 'application/json' : 'application/octet-stream'
    const request = httpRequest(url, { method, headers: { ...headers, 'Content-Type': type, 'Content-Length': String(length) } })
    request.once('error', reject)
    request.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.once('error', reject)
      response.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) resolve(text)
        else reject(new Error(`${method} ${new URL(url).pathname} answered ${status}: ${text.slice(0, 300)}`))
      })
    })
    if (typeof body === 'string') request.end(body)
    else pipeline(createReadStream(body.path, { start: body.start, end: body.end - 1, highWaterMark: MiB }), request).catch(reject)
  })

/** GETs `url` and counts its bytes without keeping them. */
const drain = (url: string, headers: Record<string, string>): Promise<number> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'GET', headers })
    request.once('error', reject)
    request.once('response', (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume()
        reject(new Error(`GET ${new URL(url).pathname} answered ${response.statusCode}`))
        return
      }
      let bytes = 0
      response.on('data', (chunk: Buffer) => (bytes += chunk.length))
      response.once('error', reject)
      response.once('end', () => resolve(bytes))
    })
    request.end()
  })
