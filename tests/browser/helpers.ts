import { createHash, randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import type { Locator, Page } from '@playwright/test'
import { expect } from './fixtures.ts'

export interface TestFile {
  name: string
  mimeType: string
  buffer: Buffer
}

/** A real PNG of one colour, so that an <img> can prove it was displayed. */
export const pngFile = (name: string, { width = 8, height = 8, rgb = [47, 111, 236] } = {}): TestFile => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())])
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return {
    name,
    mimeType: 'image/png',
    buffer: Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]),
  }
}

export const randomFile = (name: string, size: number, mimeType = 'application/octet-stream'): TestFile => ({
  name,
  mimeType,
  buffer: randomBytes(size),
})

export const textFile = (name: string, text: string): TestFile => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) })

export const sha256 = (buffer: Buffer): string => createHash('sha256').update(buffer).digest('hex')

export const addFiles = async (page: Page, files: TestFile[]): Promise<void> => {
  await page.getByTestId('file-input').setInputFiles(files)
}

export const fileItem = (page: Page, name: string): Locator => page.getByTestId('file-item').filter({ hasText: name })

/** Gives a file new content through its card's Replace action. */
export const replaceFile = async (page: Page, name: string, file: TestFile): Promise<void> => {
  await fileItem(page, name).getByTestId('replace-file').setInputFiles(file)
}

/** The content hash a card shows, read from the link to its bytes (there once they are viewable). */
export const shownHash = async (item: Locator): Promise<string | undefined> =>
  (await item.locator('a.name').getAttribute('href', { timeout: 1_000 }).catch(() => null))?.match(/[0-9a-f]{64}/)?.[0]

export const expectFileState = async (
  item: Locator,
  { local, remote }: { local?: string; remote?: string },
  timeout = 30_000,
): Promise<void> => {
  if (local) await expect(item).toHaveAttribute('data-local-state', local, { timeout })
  if (remote) await expect(item).toHaveAttribute('data-remote-state', remote, { timeout })
}

/** `/files/<storeId>/<sha256>?type=...`, the URL the page renders for this file's content. */
export const fileUrl = (storeId: string, file: TestFile): string =>
  `/files/${storeId}/${sha256(file.buffer)}?type=${encodeURIComponent(file.mimeType)}`

/** Fetches a URL from inside the page, so through its service worker, as an <img> would. */
export const fetchInPage = async (
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; source: string | null; contentType: string | null; headers: Record<string, string>; body: Buffer }> => {
  const result = await page.evaluate(
    async ({ url, init }) => {
      const response = await fetch(url, init)
      const bytes = new Uint8Array(await response.arrayBuffer())
      let binary = ''
      for (const byte of bytes) binary += String.fromCharCode(byte)
      return {
        status: response.status,
        source: response.headers.get('X-File-Source'),
        contentType: response.headers.get('Content-Type'),
        headers: Object.fromEntries(response.headers),
        base64: btoa(binary),
      }
    },
    { url, init },
  )
  const { base64, ...answer } = result
  return { ...answer, body: Buffer.from(base64, 'base64') }
}

/** The hashes this device holds in its OPFS for the store, read straight from disk. */
export const opfsHashes = (page: Page, storeId: string): Promise<string[]> =>
  page.evaluate(async (storeId) => {
    const root = await navigator.storage.getDirectory()
    try {
      const folder = await (await root.getDirectoryHandle('files')).getDirectoryHandle(storeId)
      const names: string[] = []
      // @ts-expect-error keys() is missing from TypeScript's DOM types
      for await (const name of folder.keys()) names.push(name)
      return names.filter((name) => /^[0-9a-f]{64}$/.test(name)).sort()
    } catch {
      return []
    }
  }, storeId)

export const removeFromOpfs = (page: Page, storeId: string, hash: string): Promise<void> =>
  page.evaluate(
    async ({ storeId, hash }) => {
      const root = await navigator.storage.getDirectory()
      await (await (await root.getDirectoryHandle('files')).getDirectoryHandle(storeId)).removeEntry(hash)
    },
    { storeId, hash },
  )

/** The Worker's answer to a HEAD of this file's content in the store: 200 while it holds the bytes, 404 once not. */
export const serverStatus = async (workerUrl: string, storeId: string, file: TestFile): Promise<number> => {
  const { token } = (await (await fetch(`${workerUrl}/api/auth/${storeId}`)).json()) as { token: string }
  const url = `${workerUrl}/api/files/${storeId}/${sha256(file.buffer)}`
  return (await fetch(url, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } })).status
}

/** Whether the <img> of an item really shows a decoded picture. */
export const imageIsDisplayed = (item: Locator): Promise<boolean> =>
  item.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)

/** What the Worker logged for each file request: one JSON line per request. */
export const fileRequests = (workerOutput: string): Array<{ route: string; key: string; method: string; status: number }> =>
  workerOutput
    .split('\n')
    .map((line) => line.slice(line.indexOf('{')))
    .filter((line) => line.startsWith('{"route":'))
    .map((line) => {
      const entry = JSON.parse(line) as { route: string; files: string; method: string; status: number }
      return { route: entry.route, key: entry.files, method: entry.method, status: entry.status }
    })

/** Stored uploads (201: in one request, or the parts joined) per object key, as the Worker counted them. */
export const storedUploads = (workerOutput: string): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const { route, key, method, status } of fileRequests(workerOutput)) {
    const stored = (route === 'file' && method === 'PUT') || route === 'upload-complete'
    if (stored && status === 201) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** A file a test expects to see; `conflictOf` names the file it must be a conflict copy of. */
export type ExpectedFile = TestFile & { conflictOf?: string }

/**
 * The end state every fault test wants: on each page, each file shown exactly once, on disk
 * and uploaded, and its bytes, read back through the service worker from this device,
 * identical to what was added. A conflict copy is marked as one, pointing at its original;
 * any other file is not.
 */
export const expectSyncedEverywhere = async (
  pages: Page[],
  storeId: string,
  files: ExpectedFile[],
  timeout = 60_000,
): Promise<void> => {
  try {
    for (const page of pages) {
      await expect(page.getByTestId('file-item')).toHaveCount(files.length, { timeout })
      for (const file of files) {
        await expectFileState(fileItem(page, file.name), { local: 'present', remote: 'uploaded' }, timeout)
        if (file.conflictOf === undefined) {
          await expect(fileItem(page, file.name), file.name).not.toHaveAttribute('data-conflict-of')
        } else {
          const originalId = await fileItem(page, file.conflictOf).getAttribute('data-file-id')
          await expect(fileItem(page, file.name), file.name).toHaveAttribute('data-conflict-of', originalId ?? '(no original)')
        }
        const served = await fetchInPage(page, fileUrl(storeId, file))
        expect(served.source, file.name).toBe('local')
        expect(sha256(served.body), file.name).toBe(sha256(file.buffer))
      }
    }
  } catch (error) {
    // Say where every file is on every device: one stuck item rarely tells the story alone.
    const views = await Promise.all(pages.map((page, index) => describeItems(page).then((items) => `page ${index}:\n${items}`)))
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n\n${views.join('\n')}`, { cause: error })
  }
}

const describeItems = (page: Page): Promise<string> =>
  page
    .evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=file-item]')]
        .map((item) => {
          const hash = item.querySelector('a.name')?.getAttribute('href')?.match(/[0-9a-f]{64}/)?.[0].slice(0, 12) ?? '?'
          const copy = item.dataset.conflictOf ? ` (conflict copy of ${item.dataset.conflictOf})` : ''
          return `  ${item.querySelector('.name')?.textContent} [${item.dataset.fileId} ${hash}]${copy}: ${item.dataset.localState}/${item.dataset.remoteState} ${item.querySelector('[data-testid=file-status]')?.textContent}`
        })
        .join('\n'),
    )
    .catch((error: unknown) => `  (page unreadable: ${String(error)})`)

/**
 * Slows this page's network down (Chromium's DevTools emulation), so a test can act in the
 * middle of a transfer instead of racing it.
 */
export const throttle = async (page: Page, bytesPerSecond: number): Promise<void> => {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: bytesPerSecond,
    uploadThroughput: bytesPerSecond,
  })
}

/**
 * A large file whose bytes follow a pattern of `seed`, written to `path` in pieces, so neither
 * the test nor the page ever holds it whole: `patternMismatchInPage` checks a copy chunk by chunk.
 */
export interface PatternFile {
  name: string
  path: string
  size: number
  seed: number
  sha256: string
}

export const writePatternFile = async (path: string, size: number, seed: number): Promise<PatternFile> => {
  const file = await open(path, 'w')
  const hash = createHash('sha256')
  const chunkBytes = 4 * 1024 * 1024
  try {
    for (let offset = 0; offset < size; offset += chunkBytes) {
      const chunk = patternBytes(offset, Math.min(chunkBytes, size - offset), seed)
      hash.update(chunk)
      await file.write(chunk)
    }
  } finally {
    await file.close()
  }
  return { name: basename(path), path, size, seed, sha256: hash.digest('hex') }
}

/** Byte `i` of the pattern: four bytes of a multiplicative hash of `i >> 2` and the seed. */
const patternBytes = (offset: number, length: number, seed: number): Buffer => {
  const bytes = Buffer.alloc(length)
  for (let index = 0; index < length; index += 1) {
    const position = offset + index
    const word = (Math.imul((position >>> 2) + seed, 2654435761) >>> 0) ^ seed
    bytes[index] = (word >>> ((position & 3) * 8)) & 0xff
  }
  return bytes
}

/**
 * Reads `url` in the page (through its service worker) as a stream and compares every byte with
 * the pattern: the first differing offset, or -1 when all `size` bytes match (and no more came).
 */
export const patternMismatchInPage = (page: Page, storeId: string, { sha256, size, seed }: PatternFile): Promise<number> =>
  page.evaluate(
    async ({ url, size, seed }) => {
      const response = await fetch(url)
      if (!response.ok || !response.body) return 0
      const reader = response.body.getReader()
      let position = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return position === size ? -1 : position
        for (let index = 0; index < value.byteLength; index += 1, position += 1) {
          const word = (Math.imul((position >>> 2) + seed, 2654435761) >>> 0) ^ seed
          if (value[index] !== ((word >>> ((position & 3) * 8)) & 0xff)) return position
        }
      }
    },
    { url: `/files/${storeId}/${sha256}`, size, seed },
  )
