import { randomBytes } from 'node:crypto'
import type { Locator, Page } from '@playwright/test'
import type { TestFile } from '../support/test-files.ts'
import { fileRequests } from '../support/wrangler.ts'
import { expect } from './fixtures.ts'

// Made without the test runner, so that the benchmark (scripts/bench/) uses them too.
export { patternMismatchInPage, type PatternFile, pngFile, type TestFile, writePatternFile } from '../support/test-files.ts'
export { fileRequests } from '../support/wrangler.ts'

export const randomFile = (name: string, size: number, mimeType = 'application/octet-stream'): TestFile => ({
  name,
  mimeType,
  buffer: randomBytes(size),
})

export const textFile = (name: string, text: string): TestFile => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) })

import { sha256Hex as sha256 } from '../support/sha256.ts'

export { sha256 }

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
  (
    await item
      .locator('a.name')
      .getAttribute('href', { timeout: 1_000 })
      .catch(() => null)
  )?.match(/[0-9a-f]{64}/)?.[0]

/** The content hash of the preview a card shows; undefined while it shows none. */
export const previewHash = async (item: Locator): Promise<string | undefined> =>
  (
    await item
      .locator('img[data-preview]')
      .getAttribute('src', { timeout: 1_000 })
      .catch(() => null)
  )?.match(/[0-9a-f]{64}/)?.[0]

export const expectFileState = async (item: Locator, { local, remote }: { local?: string; remote?: string }, timeout = 30_000): Promise<void> => {
  if (local) await expect(item).toHaveAttribute('data-local-state', local, { timeout })
  if (remote) await expect(item).toHaveAttribute('data-remote-state', remote, { timeout })
}

/** `/files/<storeId>/<sha256>?type=...`, the URL the page renders for this file's content. */
export const fileUrl = (storeId: string, file: TestFile): string => `/files/${storeId}/${sha256(file.buffer)}?type=${encodeURIComponent(file.mimeType)}`

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
export const expectSyncedEverywhere = async (pages: Page[], storeId: string, files: ExpectedFile[], timeout = 60_000): Promise<void> => {
  try {
    for (const page of pages) {
      // Each file shown once: the list counts them all (only the cards on screen are in the page).
      await expect(page.getByTestId('gallery')).toHaveAttribute('data-count', String(files.length), { timeout })
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
          const hash =
            item
              .querySelector('a.name')
              ?.getAttribute('href')
              ?.match(/[0-9a-f]{64}/)?.[0]
              .slice(0, 12) ?? '?'
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
