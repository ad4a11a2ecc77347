/**
 * A store of many files (10,000 by default) opened by a new device: the benchmark fills it as a
 * device would have (tests/support/seed-store.ts: their events through the sync backend, each a
 * small file no device has uploaded, so no download runs while measuring). Then:
 * - B, a new device, opens it: time from the navigation until the first card is on screen, and
 *   until the whole list is known (the header counts every file); the resident memory of B's
 *   renderer process that runs the page, at its peak meanwhile, once settled, and beforehand with
 *   an empty store.
 * - A, another device that shows all of them, adds one more file, five times one after the other:
 *   the main thread's busy time (Chrome's `TaskDuration`) from the input until it is uploaded and
 *   quiet again, less what the same page spends over as long a time doing nothing; the median.
 *   The same device does the same in an empty store first, for comparison.
 */
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { chromiumProcesses } from '../../../tests/support/process-memory.ts'
import { seedStore } from '../../../tests/support/seed-store.ts'
import { clockOffset, firstCountAt, nodeNow, timelineOf, waitForCount } from '../page-timeline.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep } from '../setup.ts'
import { median } from '../stats.ts'

/** How long B is left alone after its sync, for what it holds at rest. */
const atRestWaitMs = 60_000
/** How many files A adds, one after the other, to measure one more file. */
const oneMoreTries = 5

export interface BigStoreResult {
  files: number
  /** Facts per event in the seeded store (1: an event per file). */
  factsPerEvent: number
  seedSeconds: number
  /** From B's navigation until the page has opened the store (its file input is there). */
  storeOpenSeconds: number
  /** From B's navigation until its first card is in the page and visible. */
  firstCardSeconds: number
  /** From B's navigation until its header counts every file. */
  listKnownSeconds: number
  /**
   * The resident memory of B's renderer process that runs the page (the largest of its renderer
   * processes: the page, its workers, LiveStore's): its peak while opening the store, once
   * settled, and with an empty store in this run, for comparison.
   */
  rendererPeakBytes: number
  rendererSettledBytes: number
  /**
   * The lowest within a minute after the sync, the page left alone: V8 gives back what the sync
   * left as garbage only when its memory reducer runs, 20 to 30 s after the page went quiet.
   */
  rendererAtRestBytes: number
  rendererEmptyStoreBytes: number
  /** A's main thread busy time to add one more file (input → uploaded), less its idle activity: the median of the tries. */
  oneMoreFileMainThreadMs: number
  /** Each try's figure, in order. */
  oneMoreFileSamplesMs: number[]
  /** The same page's main thread over as long a time with nothing to do. */
  idleMainThreadMs: number
  /** The same measure on the same device in an empty store, just before: what a file costs whatever the store. */
  oneMoreFileEmptyStoreMs: number
  oneMoreFileEmptyStoreSamplesMs: number[]
}

export const bigStore = async ({ env, log }: ScenarioContext, count: number, factsPerEvent = 1): Promise<BigStoreResult> => {
  const storeId = newStoreId('big')
  log(`filling a store with ${count} files, ${factsPerEvent} per event…`)
  const seedStarted = nodeNow()
  await seedStore({
    baseUrl: env.worker.url,
    storeId,
    files: Array.from({ length: count }, (_, index) => ({
      id: `big-${index}`,
      name: `photo-${String(index).padStart(5, '0')}.jpg`,
      mimeType: 'image/jpeg',
      bytes: randomBytes(256),
    })),
    factsPerEvent,
  })
  const seedSeconds = (nodeNow() - seedStarted) / 1000

  const { a, b } = await env.freshDevices()
  // The same page with an empty store first: what the renderer holds before any file.
  await openStore(b, env.appUrl, newStoreId('empty'))
  await sleep(settleMs)
  const rendererEmptyStoreBytes = pageRenderer(b.profile)
  log(`B opens the store of ${count} files…`)
  let rendererPeakBytes = 0
  const sampler = setInterval(() => (rendererPeakBytes = Math.max(rendererPeakBytes, pageRenderer(b.profile))), 100)
  const navigated = nodeNow()
  await b.page.goto(`${env.appUrl}/?store=${storeId}`)
  await b.page.getByTestId('file-input').waitFor({ state: 'attached', timeout: 120_000 })
  const open = nodeNow()
  await b.page.locator('[data-testid=file-item]').first().waitFor({ state: 'visible', timeout: 120_000 })
  const firstCard = nodeNow()
  await waitForCount(b.page, 'files', count, { timeoutMs: 300_000, progress: (counts) => log(`B: ${counts}`) })
  const offsetB = await clockOffset(b.page)
  const known = firstCountAt(await timelineOf(b.page), 'files', count, offsetB) ?? nodeNow()
  await sleep(settleMs)
  clearInterval(sampler)
  const rendererSettledBytes = pageRenderer(b.profile)
  let rendererAtRestBytes = rendererSettledBytes
  for (let waited = 0; waited < atRestWaitMs; waited += 1_000) {
    await sleep(1_000)
    rendererAtRestBytes = Math.min(rendererAtRestBytes, pageRenderer(b.profile))
  }

  // A's cost of one more file, first in an empty store then in this one: the same figure in both
  // says that what is left does not grow with the store.
  log(`A adds ${oneMoreTries} files one after the other to an empty store…`)
  await openStore(a, env.appUrl, newStoreId('one-more'))
  await sleep(settleMs)
  const inEmptyStore = await oneMoreFile(a.page, env.workDir, 'empty', 0)
  log(`A opens the store of ${count} too, and adds ${oneMoreTries} more files, one after the other…`)
  await openStore(a, env.appUrl, storeId)
  await waitForCount(a.page, 'files', count, { timeoutMs: 300_000 })
  await sleep(settleMs)
  const inBigStore = await oneMoreFile(a.page, env.workDir, 'big', count)

  return {
    factsPerEvent,
    files: count,
    seedSeconds,
    storeOpenSeconds: (open - navigated) / 1000,
    firstCardSeconds: (firstCard - navigated) / 1000,
    listKnownSeconds: (known - navigated) / 1000,
    rendererPeakBytes: Math.max(rendererPeakBytes, rendererSettledBytes),
    rendererSettledBytes,
    rendererAtRestBytes,
    rendererEmptyStoreBytes,
    oneMoreFileMainThreadMs: median(inBigStore.samplesMs),
    oneMoreFileSamplesMs: inBigStore.samplesMs,
    idleMainThreadMs: inBigStore.idleMs,
    oneMoreFileEmptyStoreMs: median(inEmptyStore.samplesMs),
    oneMoreFileEmptyStoreSamplesMs: inEmptyStore.samplesMs,
  }
}

/**
 * A page's main-thread busy time (Chrome's `TaskDuration`) for each of a few files added one after
 * the other, from the input until it is uploaded and quiet again, less what the same page spends
 * over as long a time doing nothing; `known` files are in its store before.
 */
const oneMoreFile = async (page: Page, workDir: string, label: string, known: number) => {
  const metrics = await mainThreadMetrics(page)
  // What the page does anyway (its watchdogs, the connection's checks), over a quiet while.
  const quietMs = 3_000
  const idleStart = await metrics.taskMs()
  await sleep(quietMs)
  const idleMs = (await metrics.taskMs()) - idleStart
  // One file's cost moves by tens of milliseconds from one try to the next on a shared machine:
  // the median of a few.
  const samplesMs: number[] = []
  for (let added = 1; added <= oneMoreTries; added += 1) {
    const one = join(workDir, `one-more-${label}-${added}.bin`)
    await writeFile(one, randomBytes(100_000))
    const started = await metrics.taskMs()
    const addedAt = nodeNow()
    await page.getByTestId('file-input').setInputFiles(one)
    await waitForCount(page, 'onServer', added, { timeoutMs: 60_000 })
    await waitForCount(page, 'files', known + added, { timeoutMs: 60_000 })
    // Until quiet: what the file costs includes the renders and commits after its upload.
    await sleep(Math.max(0, quietMs - (nodeNow() - addedAt)))
    const busy = (await metrics.taskMs()) - started
    const windowMs = nodeNow() - addedAt
    samplesMs.push(Math.max(0, busy - idleMs * (windowMs / quietMs)))
  }
  await metrics.close()
  return { samplesMs, idleMs }
}

/** The resident memory of a device's largest renderer process: the one that runs its page. */
const pageRenderer = (profile: string): number =>
  Math.max(
    0,
    ...chromiumProcesses(profile)
      .filter((process) => process.kind === 'renderer')
      .map((process) => process.rssBytes),
  )

/** The page's main thread: its cumulative busy time (Chrome's `TaskDuration`), in milliseconds. */
const mainThreadMetrics = async (page: Page) => {
  const session = await page.context().newCDPSession(page)
  await session.send('Performance.enable')
  return {
    async taskMs() {
      const { metrics } = (await session.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
      return (metrics.find((metric) => metric.name === 'TaskDuration')?.value ?? 0) * 1000
    },
    close: () => session.detach(),
  }
}
