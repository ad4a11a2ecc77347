/**
 * Previews: a 20 MB picture added on A, timed from A's file input until B shows a picture of it
 * (its preview, an `img[data-preview]`, or the picture itself: whichever loads first; a version
 * without previews shows only the latter), and until B has the whole file; once per try. The
 * picture is noise, which no encoder makes small: the upload and the download are those of
 * 20 MB. Times come from the pages' own timelines, as in the latency scenario.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pngFile } from '../../../tests/support/test-files.ts'
import { clockOffset, firstTimes, reloadsIn, timelineOf, waitForTimeline } from '../page-timeline.ts'
import { median } from '../stats.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep } from '../setup.ts'

export interface PreviewResult {
  tries: number
  imageBytes: number
  /** A's input → A's own card shows the preview (none: a version without previews). */
  previewOnAMs: number[]
  /** A's input → B's card shows a picture of the file: its preview, or the picture itself. */
  shownOnBMs: number[]
  /** How many of those were the preview. */
  previewsShown: number
  /** A's input → the whole file on B. */
  fileOnBMs: number[]
  medianShownOnBMs: number
  medianFileOnBMs: number
  reloads: { A: number; B: number }
}

export const previews = async ({ env, log }: ScenarioContext, tries: number): Promise<PreviewResult> => {
  const { a, b } = await env.freshDevices()
  const storeId = newStoreId('preview')
  await Promise.all([openStore(a, env.appUrl, storeId), openStore(b, env.appUrl, storeId)])
  await sleep(settleMs)

  log(`adding ${tries} pictures of 20 MB on A, one at a time…`)
  const result = { previewOnAMs: [] as number[], shownOnBMs: [] as number[], fileOnBMs: [] as number[], previewsShown: 0 }
  let imageBytes = 0
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    const image = pngFile(`preview-${attempt}.png`, { width: 3000, height: 2300, noise: true })
    const path = join(env.workDir, image.name)
    await writeFile(path, image.buffer)
    imageBytes = image.buffer.length
    const [offsetA, offsetB] = [await clockOffset(a.page), await clockOffset(b.page)]

    await a.page.getByTestId('file-input').setInputFiles(path)
    await waitForTimeline(b.page, [image.name], { kind: 'state', local: 'present' }, { timeoutMs: 120_000 })
    await waitForTimeline(a.page, [image.name], { kind: 'state', remote: 'uploaded' }, { timeoutMs: 60_000 })
    await sleep(1_000) // B's card draws the picture it now has
    const timelineA = await timelineOf(a.page)
    const timelineB = await timelineOf(b.page)
    const added = firstTimes(timelineA, { kind: 'input' }, offsetA).get(image.name)
    const previewOnA = firstTimes(timelineA, { kind: 'preview' }, offsetA).get(image.name)
    const previewOnB = firstTimes(timelineB, { kind: 'preview' }, offsetB).get(image.name)
    const imageOnB = firstTimes(timelineB, { kind: 'image' }, offsetB).get(image.name)
    const fileOnB = firstTimes(timelineB, { kind: 'state', local: 'present' }, offsetB).get(image.name)
    const shownOnB = Math.min(previewOnB ?? Infinity, imageOnB ?? Infinity)
    if (added === undefined || fileOnB === undefined || shownOnB === Infinity) throw new Error(`try ${attempt}: the timelines miss ${image.name}`)
    if (previewOnA !== undefined) result.previewOnAMs.push(previewOnA - added)
    if (previewOnB !== undefined && previewOnB === shownOnB) result.previewsShown += 1
    result.shownOnBMs.push(shownOnB - added)
    result.fileOnBMs.push(fileOnB - added)
    const what = previewOnB === shownOnB ? 'its preview' : 'the picture'
    log(`  shown on B after ${(shownOnB - added).toFixed(0)} ms (${what}); the file on B after ${(fileOnB - added).toFixed(0)} ms`)
    await sleep(500)
  }
  const reloads = { A: reloadsIn(await timelineOf(a.page)), B: reloadsIn(await timelineOf(b.page)) }
  return { tries, imageBytes, ...result, medianShownOnBMs: median(result.shownOnBMs), medianFileOnBMs: median(result.fileOnBMs), reloads }
}
