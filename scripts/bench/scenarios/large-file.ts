/**
 * One large file added on A: how fast it goes up (from the file input until A shows it uploaded)
 * and down to B (from B's download starting until the file is on its disk), and how much every
 * process grows over its idle memory meanwhile. Its bytes on B are then checked chunk by chunk,
 * and B's page drains the same file from the Worker with a bare `fetch`: what the browser itself
 * takes in, with nothing hashed or kept, next to what the download did.
 */
import type { Page } from '@playwright/test'
import { patternMismatchInPage, type PatternFile } from '../../../tests/support/test-files.ts'
import { fileRequests } from '../../../tests/support/wrangler.ts'
import { deviceWatches, type MemoryGrowth, stopWatches, workerWatch } from '../memory.ts'
import { clockOffset, type ClockOffset, type Condition, firstTimes, reloadsIn, timelineOf, type TimelineEvent, waitForTimeline } from '../page-timeline.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep, throughput, type Throughput, timeoutFor } from '../setup.ts'

export interface LargeFileResult {
  bytes: number
  /** The parts the page sent, as the Worker logged them. */
  parts: { count: number; bytes: number }
  /** From A's file input until A shows the file uploaded (its save into OPFS and hashing included). */
  upload: Throughput
  /** From A's file input until the file is saved in A's OPFS (hashed, committed). */
  saveSeconds: number
  /** From A's upload starting (`uploading`) until `uploaded`. */
  uploadPhase: Throughput
  /** From B's download starting (`downloading`) until the file is on B's disk (`present`). */
  download: Throughput
  /** The same bytes read from the Worker by a `fetch` in B's page and dropped: the browser's own ceiling. */
  browserDrain: Throughput
  /** From A's file input until the file is on B's disk. */
  endToEndSeconds: number
  memory: MemoryGrowth[]
  /** B's copy, read through its service worker, matched the pattern byte for byte. */
  verifiedOnB: boolean
  reloads: { A: number; B: number }
}

export const largeFile = async ({ env, log }: ScenarioContext, file: PatternFile): Promise<LargeFileResult> => {
  const { a, b } = await env.freshDevices()
  const storeId = newStoreId('large')
  await Promise.all([openStore(a, env.appUrl, storeId), openStore(b, env.appUrl, storeId)])
  await sleep(settleMs)
  const [offsetA, offsetB] = [await clockOffset(a.page), await clockOffset(b.page)]

  const watches = { ...deviceWatches([a, b]), ...workerWatch(env.worker.processGroup()) }
  log(`adding a file of ${(file.size / 2 ** 20).toFixed(0)} MiB on A…`)
  await a.page.getByTestId('file-input').setInputFiles(file.path)
  const waitingFor = (device: string) => ({ timeoutMs: timeoutFor(file.size), progress: (states: string) => log(`${device}: ${states}`) })
  const at = (device: string, timeline: TimelineEvent[], offset: ClockOffset, condition: Condition) => {
    const time = firstTimes(timeline, condition, offset).get(file.name)
    if (time === undefined) throw new Error(`${device} never showed ${file.name} as ${JSON.stringify(condition)}`)
    return time
  }
  const between = (from: number, to: number): Throughput => throughput(file.size, (to - from) / 1000)

  await waitForTimeline(a.page, [file.name], { kind: 'state', remote: 'uploaded' }, waitingFor('A'))
  const timelineA = await timelineOf(a.page)
  const added = at('A', timelineA, offsetA, { kind: 'input' })
  const saved = at('A', timelineA, offsetA, { kind: 'state', local: 'present' })
  const uploading = at('A', timelineA, offsetA, { kind: 'state', remote: 'uploading' })
  const uploaded = at('A', timelineA, offsetA, { kind: 'state', remote: 'uploaded' })
  log(`uploaded at ${between(added, uploaded).mbPerSecond.toFixed(1)} MB/s; waiting for B…`)
  try {
    await waitForTimeline(b.page, [file.name], { kind: 'state', local: 'present' }, waitingFor('B'))
  } catch (error) {
    // Say what was measured before B got stuck: the upload, and how much memory it took.
    const grown = stopWatches(watches)
      .sort((x, y) => y.growthBytes - x.growthBytes)
      .slice(0, 3)
    const upload = `${between(added, uploaded).mbPerSecond.toFixed(1)} MB/s`
    const memory = grown.map((row) => `${row.process} +${(row.growthBytes / 1e6).toFixed(0)} MB`).join(', ')
    const reloadsOf = (page: Page) => timelineOf(page).then(reloadsIn, () => '?')
    const reloads = `reloads: A ${await reloadsOf(a.page)}, B ${await reloadsOf(b.page)}`
    const measured = `A uploaded at ${upload}; most memory growth: ${memory}; ${reloads}`
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nbefore that, ${measured}`, { cause: error })
  }
  const memory = stopWatches(watches)
  const timelineB = await timelineOf(b.page)
  const downloading = at('B', timelineB, offsetB, { kind: 'state', local: 'downloading' })
  const present = at('B', timelineB, offsetB, { kind: 'state', local: 'present' })

  log('checking the bytes on B…')
  const verifiedOnB = (await patternMismatchInPage(b.page, storeId, file)) === -1
  if (!verifiedOnB) throw new Error("B's copy of the large file differs from what A added")
  log("draining the same file with a fetch in B's page…")
  const browserDrain = await drainInPage(b.page, storeId, file)

  const parts = fileRequests(env.worker.output()).filter(
    (request) => request.route === 'upload-part' && request.status === 200 && request.key === `${storeId}/${file.sha256}`,
  )
  return {
    bytes: file.size,
    parts: { count: parts.length, bytes: Math.max(0, ...parts.map((part) => part.bytes)) },
    upload: between(added, uploaded),
    saveSeconds: (saved - added) / 1000,
    uploadPhase: between(uploading, uploaded),
    download: between(downloading, present),
    browserDrain,
    endToEndSeconds: (present - added) / 1000,
    memory,
    verifiedOnB,
    reloads: { A: reloadsIn(timelineA), B: reloadsIn(timelineB) },
  }
}

/** Reads the file from the Worker in `page` with a plain `fetch`, counting the bytes and dropping them. */
const drainInPage = async (page: Page, storeId: string, file: PatternFile): Promise<Throughput> => {
  const { bytes, ms } = await page.evaluate(
    async ({ storeId, sha256 }) => {
      const { token } = (await (await fetch(`/api/auth/${storeId}`)).json()) as { token: string }
      const started = performance.now()
      const response = await fetch(`/api/files/${storeId}/${sha256}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
      if (!response.ok || !response.body) throw new Error(`GET answered ${response.status}`)
      const reader = response.body.getReader()
      let bytes = 0
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength
      return { bytes, ms: performance.now() - started }
    },
    { storeId, sha256: file.sha256 },
  )
  if (bytes !== file.size) throw new Error(`B's fetch drained ${bytes} bytes, not ${file.size}`)
  return throughput(bytes, ms / 1000)
}
