/**
 * Service worker read: a file present in A's OPFS, fetched through `/files/<storeId>/<sha256>`
 * in A's page and streamed to its end (bytes counted, not kept), timed in the page. The file is
 * added and uploaded first and the page left to settle, so nothing else runs meanwhile; it was
 * just written, so its bytes are likely in the OS's page cache, as for a file added recently.
 */
import { patternMismatchInPage, type PatternFile } from '../../../tests/support/test-files.ts'
import { waitForTimeline } from '../page-timeline.ts'
import { newStoreId, openStore, type ScenarioContext, settleMs, sleep, throughput, type Throughput, timeoutFor } from '../setup.ts'
import { median } from '../stats.ts'

export interface SwReadResult {
  bytes: number
  runs: Throughput[]
  /** The median run. */
  mbPerSecond: number
  /** Where the service worker said the bytes came from (`X-File-Source`): `local` is OPFS. */
  source: string
  verified: boolean
}

export const swRead = async ({ env, log }: ScenarioContext, file: PatternFile, runs = 5): Promise<SwReadResult> => {
  const { a } = await env.freshDevices()
  const storeId = newStoreId('sw')
  await openStore(a, env.appUrl, storeId)
  log(`adding a file of ${(file.size / 2 ** 20).toFixed(0)} MiB on A and letting it upload…`)
  await a.page.getByTestId('file-input').setInputFiles(file.path)
  await waitForTimeline(a.page, [file.name], { kind: 'state', remote: 'uploaded' }, { timeoutMs: timeoutFor(file.size) })
  await sleep(settleMs)

  const url = `/files/${storeId}/${file.sha256}?type=application%2Foctet-stream`
  const measured: Throughput[] = []
  let source = ''
  for (let run = 0; run < runs; run += 1) {
    const result = await a.page.evaluate(async (url) => {
      const started = performance.now()
      const response = await fetch(url)
      if (!response.ok || !response.body) return { status: response.status, source: '', bytes: 0, ms: 0 }
      const reader = response.body.getReader()
      let bytes = 0
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength
      return { status: response.status, source: response.headers.get('X-File-Source') ?? '', bytes, ms: performance.now() - started }
    }, url)
    if (result.status !== 200 || result.bytes !== file.size) {
      throw new Error(`the service worker answered ${result.status} with ${result.bytes} bytes, not 200 with ${file.size}`)
    }
    source = result.source
    measured.push(throughput(file.size, result.ms / 1000))
  }
  const verified = (await patternMismatchInPage(a.page, storeId, file)) === -1
  if (!verified) throw new Error("A's copy read through the service worker differs from what was added")
  return { bytes: file.size, runs: measured, mbPerSecond: median(measured.map((run) => run.mbPerSecond)), source, verified }
}
