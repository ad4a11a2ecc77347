/**
 * Latency: a ~100 KB PNG added on A, timed from the moment A's file input receives it (its
 * `change` event) until B displays it (its <img> `load`ed with a natural width), once per try.
 * Both moments come from the pages' own timelines, put on Node's clock with offsets measured
 * just before each try: the figure is good to the offsets' uncertainty (reported, typically
 * well under a millisecond) plus Chromium's timer resolution (0.1 ms).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pngFile } from '../../../tests/support/test-files.ts'
import { clockOffset, firstTimes, reloadsIn, timelineOf, waitForTimeline } from '../page-timeline.ts'
import { median, percentile } from '../stats.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep } from '../setup.ts'

export interface LatencyResult {
  tries: number
  imageBytes: number
  samplesMs: number[]
  medianMs: number
  p95Ms: number
  /** The largest uncertainty of the clock alignment over all tries (A's plus B's). */
  clockUncertaintyMs: number
  reloads: { A: number; B: number }
}

export const latency = async ({ env, log }: ScenarioContext, tries: number): Promise<LatencyResult> => {
  const { a, b } = await env.freshDevices()
  const storeId = newStoreId('latency')
  await Promise.all([openStore(a, env.appUrl, storeId), openStore(b, env.appUrl, storeId)])
  await sleep(settleMs)

  log(`adding ${tries} images on A, one at a time…`)
  const samplesMs: number[] = []
  let imageBytes = 0
  let clockUncertaintyMs = 0
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    // 184 × 184 random pixels: about 100 KB, since noise does not compress.
    const image = pngFile(`latency-${String(attempt).padStart(2, '0')}.png`, { width: 184, height: 184, noise: true })
    const path = join(env.workDir, image.name)
    await writeFile(path, image.buffer)
    imageBytes = image.buffer.length
    const [offsetA, offsetB] = [await clockOffset(a.page), await clockOffset(b.page)]
    clockUncertaintyMs = Math.max(clockUncertaintyMs, offsetA.uncertaintyMs + offsetB.uncertaintyMs)

    await a.page.getByTestId('file-input').setInputFiles(path)
    await waitForTimeline(b.page, [image.name], { kind: 'image' }, { timeoutMs: 30_000, pollMs: 20 })
    const added = firstTimes(await timelineOf(a.page), { kind: 'input' }, offsetA).get(image.name)
    const shown = firstTimes(await timelineOf(b.page), { kind: 'image' }, offsetB).get(image.name)
    if (added === undefined || shown === undefined) throw new Error(`try ${attempt}: the timelines miss ${image.name}`)
    samplesMs.push(shown - added)

    // Start the next try from quiet devices: the upload recorded, B's download done.
    await waitForTimeline(a.page, [image.name], { kind: 'state', remote: 'uploaded' }, { timeoutMs: 30_000 })
    await waitForTimeline(b.page, [image.name], { kind: 'state', local: 'present' }, { timeoutMs: 30_000 })
    await sleep(300)
  }
  const reloads = { A: reloadsIn(await timelineOf(a.page)), B: reloadsIn(await timelineOf(b.page)) }
  return { tries, imageBytes, samplesMs, medianMs: median(samplesMs), p95Ms: percentile(samplesMs, 95), clockUncertaintyMs, reloads }
}
