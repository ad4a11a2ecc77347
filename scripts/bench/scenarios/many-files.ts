/**
 * Many small files: picked at once in A's file input (or in picks of `perPick`), timed from A's
 * input receiving them until every one is on B's disk, as B's header counts them; then B's copies
 * are hashed in its page and compared with what was added. In the same run, the raw baseline:
 * the same files PUT to the Worker's file API from Node and then GET back, 4 at a time, with no
 * browser, no OPFS, no hashing and no metadata. A file A refuses to save ends the scenario at
 * once, with the page's message.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { opfsDigests } from '../../../tests/support/test-files.ts'
import { clockOffset, firstCountAt, firstTimes, nodeNow, reloadsIn, timelineOf, waitForCount } from '../page-timeline.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep, timeoutFor } from '../setup.ts'

export interface ManyFilesResult {
  files: number
  bytesEach: number
  /** How many files each pick on A held. */
  perPick: number
  /** From A's file input receiving the first until all are saved on A (its header counts them here). */
  allSavedOnASeconds: number
  /** From A's file input receiving the first until the last is uploaded, as A's header counts them. */
  allUploadedOnASeconds: number
  /** From A's file input receiving the first until the first is on B's disk. */
  firstPresentOnBSeconds: number
  /** From A's file input receiving the first until the last is on B's disk. */
  allPresentOnBSeconds: number
  filesPerSecond: number
  /** Files whose copy on B hashed to their SHA-256. */
  verifiedOnB: number
  reloads: { A: number; B: number }
  /** The same files straight from Node to the Worker and back, in this run. */
  raw: { uploadSeconds: number; downloadSeconds: number; filesPerSecond: number }
  /**
   * The same files through two browsers with nothing of this project in them, in this run: A's
   * page hashes each and PUTs it, then B's page GETs each and writes it to OPFS, 4 at a time. The
   * floor for any web app that keeps files on the device, on this machine.
   */
  browserRaw: { uploadSeconds: number; downloadSeconds: number; filesPerSecond: number }
}

export interface ManyFilesOptions {
  count: number
  bytes: number
  /** Files per pick: all of them by default. */
  perPick: number
}

export const manyFiles = async ({ env, log }: ScenarioContext, { count, bytes, perPick }: ManyFilesOptions): Promise<ManyFilesResult> => {
  const folder = join(env.workDir, `many-files-${count}`)
  await mkdir(folder, { recursive: true })
  const files: Array<{ name: string; path: string; sha256: string; buffer: Buffer }> = []
  for (let index = 1; index <= count; index += 1) {
    const name = `small-${String(index).padStart(5, '0')}.bin`
    const buffer = randomBytes(bytes)
    await writeFile(join(folder, name), buffer)
    files.push({ name, path: join(folder, name), sha256: createHash('sha256').update(buffer).digest('hex'), buffer })
  }

  log(`raw baseline: ${count} files of ${bytes} bytes PUT then GET from Node, 4 at a time…`)
  const raw = await rawManyFiles(env.worker.url, newStoreId('raw-many'), files)
  log(`raw baseline in two browsers: A's page hashes and PUTs, B's page GETs into OPFS, 4 at a time…`)
  const browserRaw = await browserRawManyFiles(await env.freshDevices(), env.appUrl, newStoreId('raw-browsers'), files)

  const { a, b } = await env.freshDevices()
  const storeId = newStoreId('many')
  await Promise.all([openStore(a, env.appUrl, storeId), openStore(b, env.appUrl, storeId)])
  await sleep(settleMs)
  const [offsetA, offsetB] = [await clockOffset(a.page), await clockOffset(b.page)]

  log(`adding ${count} files of ${bytes} bytes on A, ${perPick} per pick…`)
  for (let start = 0; start < count; start += perPick) {
    const pick = files.slice(start, start + perPick)
    await a.page.getByTestId('file-input').setInputFiles(pick.map((file) => file.path))
    await savedOrRefused(a.page, Math.min(start + perPick, count))
  }
  const timeoutMs = timeoutFor(count * bytes)
  await waitForCount(b.page, 'here', count, { timeoutMs, progress: (counts) => log(`B: ${counts}`) })
  await waitForCount(a.page, 'onServer', count, { timeoutMs, progress: (counts) => log(`A: ${counts}`) })

  const [timelineA, timelineB] = [await timelineOf(a.page), await timelineOf(b.page)]
  const inputs = firstTimes(timelineA, { kind: 'input' }, offsetA)
  const added = Math.min(...files.map((file) => inputs.get(file.name) ?? Infinity))
  const at = (time: number | undefined, what: string) => {
    if (time === undefined) throw new Error(`never seen: ${what}`)
    return (time - added) / 1000
  }
  const allPresentOnBSeconds = at(firstCountAt(timelineB, 'here', count, offsetB), `all ${count} on B`)

  const onB = await opfsDigests(b.page, storeId)
  const verifiedOnB = files.filter((file) => onB[file.sha256] === file.sha256).length
  if (verifiedOnB !== count) throw new Error(`only ${verifiedOnB} of ${count} files are on B with the right bytes`)

  return {
    files: count,
    bytesEach: bytes,
    perPick,
    allSavedOnASeconds: at(firstCountAt(timelineA, 'here', count, offsetA), `all ${count} saved on A`),
    allUploadedOnASeconds: at(firstCountAt(timelineA, 'onServer', count, offsetA), `all ${count} uploaded from A`),
    firstPresentOnBSeconds: at(firstCountAt(timelineB, 'here', 1, offsetB), 'the first on B'),
    allPresentOnBSeconds,
    filesPerSecond: count / allPresentOnBSeconds,
    verifiedOnB,
    reloads: { A: reloadsIn(timelineA), B: reloadsIn(timelineB) },
    raw,
    browserRaw,
  }
}

/**
 * Waits until A counts `total` files (saved), or has stopped saving and shows errors: then it
 * fails with how many it did not save, and its messages.
 */
const savedOrRefused = async (page: Page, total: number): Promise<void> => {
  const outcome = await page.waitForFunction(
    (total) => {
      const counts = (window.benchTimeline ?? []).filter((event) => event.kind === 'counts').at(-1)
      const missing = total - (counts?.files ?? 0)
      if (missing <= 0) return { missing: 0 }
      if (document.querySelector('.add-files .saving')) return false
      const errors = [...document.querySelectorAll('.add-files [role=alert] li')].map((item) => item.firstChild?.textContent?.trim() ?? '')
      return errors.length > 0 ? { missing, messages: errors } : false
    },
    total,
    { polling: 100, timeout: timeoutFor(0) },
  )
  const result = (await outcome.jsonValue()) as { missing: number; messages?: string[] }
  if (result.missing > 0) {
    const messages = [...new Set(result.messages ?? [])].join(' | ') // the page shows the last five
    throw new Error(`A did not save ${result.missing} of the ${total} files picked; it said: ${messages}`)
  }
}

/**
 * The floor: the same files PUT from Node straight to the file API, 4 at a time, then each GET
 * and read to its end, 4 at a time, under a store of their own. Files per second over both.
 */
const rawManyFiles = async (baseUrl: string, storeId: string, files: ReadonlyArray<{ sha256: string; buffer: Buffer }>): Promise<ManyFilesResult['raw']> => {
  const { token } = (await (await fetch(`${baseUrl}/api/auth/${storeId}`)).json()) as { token: string }
  const headers = { Authorization: `Bearer ${token}` }
  const urlOf = (sha256: string) => `${baseUrl}/api/files/${storeId}/${sha256}`
  const fourAtATime = async (work: (file: { sha256: string; buffer: Buffer }) => Promise<void>) => {
    let next = 0
    const worker = async (): Promise<void> => {
      const file = files[next++]
      if (!file) return
      await work(file)
      return worker()
    }
    await Promise.all(Array.from({ length: 4 }, worker))
  }
  const uploadStarted = nodeNow()
  await fourAtATime(async ({ sha256, buffer }) => {
    const response = await fetch(urlOf(sha256), {
      method: 'PUT',
      headers: { ...headers, 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(buffer),
    })
    if (!response.ok) throw new Error(`raw PUT answered ${response.status}: ${await response.text()}`)
    await response.arrayBuffer()
  })
  const downloadStarted = nodeNow()
  await fourAtATime(async ({ sha256, buffer }) => {
    const response = await fetch(urlOf(sha256), { headers })
    const received = (await response.arrayBuffer()).byteLength
    if (!response.ok || received !== buffer.byteLength) throw new Error(`raw GET answered ${response.status} with ${received} bytes`)
  })
  const ended = nodeNow()
  return {
    uploadSeconds: (downloadStarted - uploadStarted) / 1000,
    downloadSeconds: (ended - downloadStarted) / 1000,
    filesPerSecond: files.length / ((ended - uploadStarted) / 1000),
  }
}

/**
 * The floor in browsers: the same files picked in a bare page of A (on the app's origin, without
 * the app), each hashed (WebCrypto) and PUT to the file API, 4 at a time; then each GET in a bare
 * page of B and written to its OPFS, 4 at a time. No LiveStore, no service worker, no metadata.
 */
const browserRawManyFiles = async (
  { a, b }: { a: { page: Page }; b: { page: Page } },
  origin: string,
  storeId: string,
  files: ReadonlyArray<{ path: string; sha256: string; buffer: Buffer }>,
): Promise<ManyFilesResult['browserRaw']> => {
  // A page of the origin that is not the app: the token's JSON.
  for (const { page } of [a, b]) await page.goto(`${origin}/api/auth/${storeId}`)
  const token = (JSON.parse((await a.page.locator('body').textContent()) ?? '') as { token: string }).token
  await a.page.evaluate(() => {
    const input = document.createElement('input')
    input.type = 'file'
    input.multiple = true
    input.id = 'raw-input'
    document.body.append(input)
  })
  await a.page.locator('#raw-input').setInputFiles(files.map((file) => file.path))

  const uploadStarted = nodeNow()
  const hashes = await a.page.evaluate(
    async ({ storeId, token }) => {
      const picked = [...(document.querySelector<HTMLInputElement>('#raw-input')!.files ?? [])]
      const hashes: string[] = []
      let next = 0
      const worker = async (): Promise<void> => {
        const index = next++
        const file = picked[index]
        if (!file) return
        const bytes = await file.arrayBuffer()
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
        const hash = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
        const response = await fetch(`/api/files/${storeId}/${hash}`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
          body: bytes,
        })
        if (!response.ok) throw new Error(`PUT answered ${response.status}: ${await response.text()}`)
        await response.arrayBuffer()
        hashes[index] = hash
        return worker()
      }
      await Promise.all(Array.from({ length: 4 }, worker))
      return hashes
    },
    { storeId, token },
  )
  const downloadStarted = nodeNow()
  await b.page.evaluate(
    async ({ storeId, token, hashes }) => {
      const directory = await navigator.storage.getDirectory()
      let next = 0
      const worker = async (): Promise<void> => {
        const hash = hashes[next++]
        if (!hash) return
        const response = await fetch(`/api/files/${storeId}/${hash}`, { headers: { Authorization: `Bearer ${token}` } })
        if (!response.ok) throw new Error(`GET answered ${response.status}`)
        const writable = await (await directory.getFileHandle(hash, { create: true })).createWritable()
        await writable.write(await response.arrayBuffer())
        await writable.close()
        return worker()
      }
      await Promise.all(Array.from({ length: 4 }, worker))
    },
    { storeId, token, hashes },
  )
  const ended = nodeNow()
  const expected = new Set(files.map((file) => file.sha256))
  if (hashes.length !== files.length || !hashes.every((hash) => expected.has(hash)))
    throw new Error("the browsers' raw baseline hashed other bytes than were picked")
  return {
    uploadSeconds: (downloadStarted - uploadStarted) / 1000,
    downloadSeconds: (ended - downloadStarted) / 1000,
    filesPerSecond: files.length / ((ended - uploadStarted) / 1000),
  }
}
