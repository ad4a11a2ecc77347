/**
 * Many small files: added on A (by default in one pick, as a person selecting them all would),
 * timed from A's file input receiving them until every one is on B's disk (its card `present`);
 * then B's copies are hashed in its page and compared with what was added. A file A refuses to
 * save ends the scenario at once, with the page's message.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { clockOffset, firstTimes, lastOfFirstTimes, reloadsIn, timelineOf, waitForTimeline } from '../page-timeline.ts'
import { mbPerSecond, newStoreId, openStore, type ScenarioContext, settleMs, sleep, timeoutFor } from '../setup.ts'

export interface SmallFilesResult {
  files: number
  bytesEach: number
  /** How many files each pick on A held. */
  perPick: number
  /** From A's file input receiving the first until the last is uploaded, as A shows it. */
  allUploadedOnASeconds: number
  /** From A's file input receiving the first until the last is on B's disk. */
  allPresentOnBSeconds: number
  filesPerSecond: number
  mbPerSecond: number
  /** Files whose copy on B hashed to their SHA-256. */
  verifiedOnB: number
  reloads: { A: number; B: number }
}

export interface SmallFilesOptions {
  count: number
  bytes: number
  /** Files per pick: all of them by default. */
  perPick: number
}

export const smallFiles = async ({ env, log }: ScenarioContext, { count, bytes, perPick }: SmallFilesOptions): Promise<SmallFilesResult> => {
  const { a, b } = await env.freshDevices()
  const folder = join(env.workDir, 'small-files')
  await mkdir(folder, { recursive: true })
  const files: Array<{ name: string; path: string; sha256: string }> = []
  for (let index = 1; index <= count; index += 1) {
    const name = `small-${String(index).padStart(4, '0')}.bin`
    const buffer = randomBytes(bytes)
    await writeFile(join(folder, name), buffer)
    files.push({ name, path: join(folder, name), sha256: createHash('sha256').update(buffer).digest('hex') })
  }
  const names = files.map((file) => file.name)

  const storeId = newStoreId('small')
  await Promise.all([openStore(a, env.appUrl, storeId), openStore(b, env.appUrl, storeId)])
  await sleep(settleMs)
  const [offsetA, offsetB] = [await clockOffset(a.page), await clockOffset(b.page)]

  log(`adding ${count} files of ${bytes} bytes on A, ${perPick} per pick…`)
  for (let start = 0; start < count; start += perPick) {
    const pick = files.slice(start, start + perPick)
    await a.page.getByTestId('file-input').setInputFiles(pick.map((file) => file.path))
    const refused = await savedOrRefused(a.page, pick.map((file) => file.name))
    if (refused) {
      const messages = [...new Set(refused.messages)].join(' | ') // the page shows the last five
      throw new Error(`A did not save ${refused.missing} of the ${pick.length} files of a pick; it said: ${messages}`)
    }
  }
  const timeoutMs = timeoutFor(count * bytes)
  await waitForTimeline(b.page, names, { kind: 'state', local: 'present' }, { timeoutMs, progress: (states) => log(`B: ${states}`) })
  await waitForTimeline(a.page, names, { kind: 'state', remote: 'uploaded' }, { timeoutMs, progress: (states) => log(`A: ${states}`) })

  const [timelineA, timelineB] = [await timelineOf(a.page), await timelineOf(b.page)]
  const inputs = firstTimes(timelineA, { kind: 'input' }, offsetA)
  const added = Math.min(...names.map((name) => inputs.get(name) ?? Infinity))
  const uploaded = lastOfFirstTimes(timelineA, names, { kind: 'state', remote: 'uploaded' }, offsetA)
  const present = lastOfFirstTimes(timelineB, names, { kind: 'state', local: 'present' }, offsetB)
  const seconds = (present - added) / 1000

  const onB = await opfsDigests(b.page, storeId)
  const verifiedOnB = files.filter((file) => onB[file.sha256] === file.sha256).length
  if (verifiedOnB !== count) throw new Error(`only ${verifiedOnB} of ${count} files are on B with the right bytes`)

  return {
    files: count,
    bytesEach: bytes,
    perPick,
    allUploadedOnASeconds: (uploaded - added) / 1000,
    allPresentOnBSeconds: seconds,
    filesPerSecond: count / seconds,
    mbPerSecond: mbPerSecond(count * bytes, seconds),
    verifiedOnB,
    reloads: { A: reloadsIn(timelineA), B: reloadsIn(timelineB) },
  }
}

/**
 * Waits until the page shows a card for each of `names` (saved), or has stopped saving and shows
 * errors: then how many it did not save, and its messages.
 */
const savedOrRefused = async (page: Page, names: string[]): Promise<{ missing: number; messages: string[] } | undefined> => {
  const outcome = await page.waitForFunction(
    (names) => {
      const shown = new Set([...document.querySelectorAll('[data-testid=file-item] .name')].map((name) => name.textContent))
      const missing = names.filter((name) => !shown.has(name)).length
      if (missing === 0) return { missing }
      if (document.querySelector('.add-files .saving')) return false
      const errors = [...document.querySelectorAll('.add-files [role=alert] li')].map((item) => item.firstChild?.textContent?.trim() ?? '')
      return errors.length > 0 ? { missing, messages: errors } : false
    },
    names,
    { polling: 100, timeout: timeoutFor(0) },
  )
  const result = (await outcome.jsonValue()) as { missing: number; messages?: string[] }
  return result.missing === 0 ? undefined : { missing: result.missing, messages: result.messages ?? [] }
}

/** The SHA-256 of every file in a device's OPFS folder of the store, by its name there (its expected hash). */
const opfsDigests = (page: Page, storeId: string): Promise<Record<string, string>> =>
  page.evaluate(async (storeId) => {
    const root = await navigator.storage.getDirectory()
    const folder = await (await root.getDirectoryHandle('files')).getDirectoryHandle(storeId)
    // TypeScript's DOM types lack the handle's async iteration (lib "DOM.AsyncIterable").
    const entries = (folder as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()
    const digests: Record<string, string> = {}
    for await (const [name, handle] of entries) {
      if (!(handle instanceof FileSystemFileHandle) || !/^[0-9a-f]{64}$/.test(name)) continue
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await (await handle.getFile()).arrayBuffer()))
      digests[name] = [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('')
    }
    return digests
  }, storeId)
