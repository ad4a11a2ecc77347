/**
 * The figures as a table, each throughput beside its raw baseline, the targets checked against
 * them (PASS / FAIL, or SKIP when a scenario they need did not run), and the JSON written out.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MiB, type ScenarioName } from './options.ts'
import type { LargeFileResult } from './scenarios/large-file.ts'
import type { LatencyResult } from './scenarios/latency.ts'
import type { PreviewResult } from './scenarios/preview.ts'
import type { RawResult } from './scenarios/raw.ts'
import type { BigStoreResult } from './scenarios/big-store.ts'
import type { ManyFilesResult } from './scenarios/many-files.ts'
import type { SwReadResult } from './scenarios/sw-read.ts'
import type { Throughput } from './setup.ts'

export interface ScenarioResults {
  'many-files'?: ManyFilesResult
  'big-store'?: BigStoreResult
  'large-file'?: LargeFileResult
  latency?: LatencyResult
  preview?: PreviewResult
  'sw-read'?: SwReadResult
  raw?: RawResult
}

export interface BenchResults {
  startedAt: string
  finishedAt: string
  machine: Record<string, string | number>
  options: Record<string, unknown>
  scenarios: ScenarioResults
  /** Scenarios that could not finish, and why. */
  errors: Partial<Record<ScenarioName, string>>
  targets: Target[]
}

export interface Target {
  target: string
  measured: string
  status: 'PASS' | 'FAIL' | 'SKIP'
}

export const targetRatio = 0.8
export const memoryLimitBytes = 200e6
export const latencyLimitMs = 300
/** A 20 MB picture's preview on another device: "within seconds". */
export const previewLimitMs = 5_000
/** Many small files, end to end (A's pick until all on B): files per second, and against the raw stack. */
export const manyFilesPerSecond = 50
export const manyFilesRawRatio = 0.5
/** A store of 10,000 files on a new device, and one more file on a device that shows them all. */
export const firstCardLimitSeconds = 1.5
export const bigStoreRendererLimitBytes = 400e6
export const oneMoreFileLimitMs = 50
/** One file's whole trip (A's input until present on B) against the raw upload plus download of its bytes. */
export const wholeTripRawRatio = 1.5

export const checkTargets = ({ raw, 'large-file': large, latency, preview, 'many-files': many, 'big-store': big }: ScenarioResults): Target[] => {
  const ratioTarget = (what: string, page: Throughput | undefined, baseline: Throughput | undefined): Target => {
    const target = `${what} ≥ ${targetRatio} × raw`
    if (!page || !baseline) return { target, measured: 'not measured', status: 'SKIP' }
    const ratio = page.mbPerSecond / baseline.mbPerSecond
    return { target, measured: `${ratio.toFixed(2)} × (${mbs(page)} vs ${mbs(baseline)})`, status: ratio >= targetRatio ? 'PASS' : 'FAIL' }
  }
  const memoryTarget = (): Target => {
    const target = `peak memory growth while syncing the large file < ${memoryLimitBytes / 1e6} MB, every process of A, B, Worker`
    const rows = large?.memory ?? []
    if (rows.length === 0) return { target, measured: 'not measured', status: 'SKIP' }
    const over = rows.filter((row) => row.growthBytes >= memoryLimitBytes)
    const worst = rows.reduce((most, row) => (row.growthBytes > most.growthBytes ? row : most))
    const measured =
      over.length > 0 ? `over: ${over.map((row) => `${row.process} ${mb(row.growthBytes)}`).join(', ')}` : `largest: ${worst.process} ${mb(worst.growthBytes)}`
    return { target, measured, status: over.length > 0 ? 'FAIL' : 'PASS' }
  }
  const previewTarget = (): Target => {
    const target = `20 MB picture shown on B (its preview), median < ${previewLimitMs / 1000} s`
    if (!preview) return { target, measured: 'not measured', status: 'SKIP' }
    return { target, measured: `${(preview.medianShownOnBMs / 1000).toFixed(1)} s`, status: preview.medianShownOnBMs < previewLimitMs ? 'PASS' : 'FAIL' }
  }
  const latencyTarget = (): Target => {
    const target = `latency median < ${latencyLimitMs} ms`
    if (!latency) return { target, measured: 'not measured', status: 'SKIP' }
    return { target, measured: `${latency.medianMs.toFixed(0)} ms`, status: latency.medianMs < latencyLimitMs ? 'PASS' : 'FAIL' }
  }
  const manyTargets = (): Target[] => {
    const rate = `many files end to end ≥ ${manyFilesPerSecond} files/s`
    const ratio = `many files end to end ≥ ${manyFilesRawRatio} × the raw stack's files/s`
    if (!many) return [rate, ratio].map((target) => ({ target, measured: 'not measured', status: 'SKIP' }))
    const vsRaw = many.filesPerSecond / many.raw.filesPerSecond
    return [
      { target: rate, measured: `${many.filesPerSecond.toFixed(1)} files/s`, status: many.filesPerSecond >= manyFilesPerSecond ? 'PASS' : 'FAIL' },
      {
        target: ratio,
        measured: `${vsRaw.toFixed(2)} × (${many.filesPerSecond.toFixed(1)} vs ${many.raw.filesPerSecond.toFixed(1)} files/s)`,
        status: vsRaw >= manyFilesRawRatio ? 'PASS' : 'FAIL',
      },
    ]
  }
  const bigTargets = (): Target[] => {
    const targets = [
      `big store: first card < ${firstCardLimitSeconds} s after the store is open`,
      `big store: the page's renderer < ${bigStoreRendererLimitBytes / 1e6} MB`,
      `big store: one more file < ${oneMoreFileLimitMs} ms of main-thread time`,
    ]
    if (!big) return targets.map((target) => ({ target, measured: 'not measured', status: 'SKIP' }))
    const afterOpen = big.firstCardSeconds - big.storeOpenSeconds
    return [
      { target: targets[0]!, measured: `${afterOpen.toFixed(2)} s`, status: afterOpen < firstCardLimitSeconds ? 'PASS' : 'FAIL' },
      {
        target: targets[1]!,
        // The peak, while the new device syncs; what it keeps once V8 collects is shown beside it.
        measured: `${mb(big.rendererPeakBytes)} (at rest ${mb(big.rendererAtRestBytes)})`,
        status: big.rendererPeakBytes < bigStoreRendererLimitBytes ? 'PASS' : 'FAIL',
      },
      {
        target: targets[2]!,
        measured: `${big.oneMoreFileMainThreadMs.toFixed(0)} ms`,
        status: big.oneMoreFileMainThreadMs < oneMoreFileLimitMs ? 'PASS' : 'FAIL',
      },
    ]
  }
  const wholeTripTarget = (): Target => {
    const target = `large file's whole trip (A's input → on B) ≤ ${wholeTripRawRatio} × the raw upload + download`
    if (!large || !raw) return { target, measured: 'not measured', status: 'SKIP' }
    const rawSeconds = raw.upload.seconds + raw.download.seconds
    const ratio = large.endToEndSeconds / rawSeconds
    return {
      target,
      measured: `${ratio.toFixed(2)} × (${large.endToEndSeconds.toFixed(1)} s vs ${rawSeconds.toFixed(1)} s)`,
      status: ratio <= wholeTripRawRatio ? 'PASS' : 'FAIL',
    }
  }
  return [
    ...manyTargets(),
    ...bigTargets(),
    // The raw baseline sends bytes whose hash it knows: the page's like of that is its upload
    // phase. Saving into OPFS (hashing, writing) comes first and is reported on its own.
    ratioTarget('upload throughput (upload phase)', large?.uploadPhase, raw?.upload),
    ratioTarget('download throughput', large?.download, raw?.download),
    wholeTripTarget(),
    memoryTarget(),
    latencyTarget(),
    previewTarget(),
  ]
}

/** The whole report as text: figures, memory, targets. */
export const formatReport = (results: BenchResults): string => {
  const { 'many-files': many, 'big-store': big, 'large-file': large, latency, preview, 'sw-read': swRead, raw } = results.scenarios
  const vsRaw = (page: Throughput | undefined, baseline: Throughput | undefined) =>
    page && baseline ? `${(page.mbPerSecond / baseline.mbPerSecond).toFixed(2)} × raw` : ''
  const figures: string[][] = [['scenario', 'measure', 'value', 'vs raw']]
  if (many) {
    const picks = many.perPick >= many.files ? 'in one pick' : `in picks of ${many.perPick}`
    const what = `${many.files} × ${(many.bytesEach / 1000).toFixed(0)} KB ${picks}`
    const seconds = (value: number) => `${value.toFixed(1)} s`
    figures.push(
      ['many files', `${what}: added on A → all saved (A)`, seconds(many.allSavedOnASeconds), ''],
      ['', 'added on A → all uploaded (A)', seconds(many.allUploadedOnASeconds), ''],
      ['', 'added on A → the first present on B', seconds(many.firstPresentOnBSeconds), ''],
      [
        '',
        'added on A → all present on B',
        `${seconds(many.allPresentOnBSeconds)} (${many.filesPerSecond.toFixed(1)} files/s)`,
        `${(many.filesPerSecond / many.raw.filesPerSecond).toFixed(2)} × raw`,
      ],
      [
        '',
        `raw: the same files from Node, PUT then GET, 4 at a time`,
        `${seconds(many.raw.uploadSeconds + many.raw.downloadSeconds)} (${many.raw.filesPerSecond.toFixed(1)} files/s)`,
        '',
      ],
      [
        '',
        "raw in two browsers: A's page hashes, PUTs; B's GETs into OPFS",
        `${seconds(many.browserRaw.uploadSeconds + many.browserRaw.downloadSeconds)} (${many.browserRaw.filesPerSecond.toFixed(1)} files/s)`,
        `the app: ${(many.filesPerSecond / many.browserRaw.filesPerSecond).toFixed(2)} × this`,
      ],
    )
  }
  if (big) {
    figures.push(
      [
        'big store',
        `${big.files} files${big.factsPerEvent > 1 ? ` (${big.factsPerEvent} per event)` : ''}, a new device opens it: the store open`,
        `${big.storeOpenSeconds.toFixed(2)} s`,
        '',
      ],
      ['', '  the first card on screen', `${big.firstCardSeconds.toFixed(2)} s`, ''],
      ['', '  every file known (the header counts them all)', `${big.listKnownSeconds.toFixed(2)} s`, ''],
      [
        '',
        "  the new device's page renderer, peak / settled / at rest (with an empty store)",
        `${mb(big.rendererPeakBytes)} / ${mb(big.rendererSettledBytes)} / ${mb(big.rendererAtRestBytes)} (${mb(big.rendererEmptyStoreBytes)})`,
        '',
      ],
      [
        '',
        `one more file on a device that shows them all: main thread, median of ${big.oneMoreFileSamplesMs.length}`,
        `${big.oneMoreFileMainThreadMs.toFixed(0)} ms (${big.oneMoreFileSamplesMs.map((ms) => ms.toFixed(0)).join(', ')}; idle: ${big.idleMainThreadMs.toFixed(0)} ms per 3 s)`,
        '',
      ],
      [
        '',
        '  the same device, the same files, in an empty store just before',
        `${big.oneMoreFileEmptyStoreMs.toFixed(0)} ms (${big.oneMoreFileEmptyStoreSamplesMs.map((ms) => ms.toFixed(0)).join(', ')})`,
        '',
      ],
    )
  }
  if (large) {
    const size = `${(large.bytes / MiB).toFixed(0)} MiB`
    figures.push(
      ['large file', `${size} upload: added on A → uploaded (A)`, throughputText(large.upload), vsRaw(large.upload, raw?.upload)],
      ['', "  of which saving into A's OPFS (hash, write)", `${large.saveSeconds.toFixed(1)} s`, ''],
      [
        '',
        `  upload phase: uploading → uploaded (${large.parts.count} parts of ${(large.parts.bytes / MiB).toFixed(0)} MiB)`,
        throughputText(large.uploadPhase),
        vsRaw(large.uploadPhase, raw?.upload),
      ],
      ['', `${size} download: downloading on B → present (B)`, throughputText(large.download), vsRaw(large.download, raw?.download)],
      ['', `  the same ${size} drained by a fetch in B's page (nothing kept)`, throughputText(large.browserDrain), vsRaw(large.browserDrain, raw?.download)],
      ['', 'added on A → present on B', `${large.endToEndSeconds.toFixed(1)} s`, ''],
    )
  }
  if (latency) {
    figures.push([
      'latency',
      `${(latency.imageBytes / 1000).toFixed(0)} KB PNG: A's input → B's <img> shown, ${latency.tries} tries`,
      `median ${latency.medianMs.toFixed(0)} ms, p95 ${latency.p95Ms.toFixed(0)} ms (±${latency.clockUncertaintyMs.toFixed(1)} ms)`,
      '',
    ])
  }
  if (preview) {
    const seconds = (values: number[]) => values.map((ms) => (ms / 1000).toFixed(1)).join(', ')
    const size = `${(preview.imageBytes / 1e6).toFixed(1)} MB PNG`
    figures.push(
      [
        'preview',
        `${size}: A's input → a picture of it on B (${preview.previewsShown} of ${preview.tries} its preview)`,
        `median ${(preview.medianShownOnBMs / 1000).toFixed(1)} s (${seconds(preview.shownOnBMs)})`,
        '',
      ],
      ['', '  … → its preview on A', seconds(preview.previewOnAMs) || 'none', ''],
      ['', '  … → the whole file on B', `median ${(preview.medianFileOnBMs / 1000).toFixed(1)} s (${seconds(preview.fileOnBMs)})`, ''],
    )
  }
  if (swRead) {
    const runs = swRead.runs.map((run) => run.mbPerSecond.toFixed(0)).join(', ')
    figures.push([
      'service worker read',
      `${(swRead.bytes / MiB).toFixed(0)} MiB from A's OPFS (${swRead.source}), median of ${swRead.runs.length} (${runs} MB/s)`,
      `${swRead.mbPerSecond.toFixed(1)} MB/s`,
      vsRaw({ seconds: 0, mbPerSecond: swRead.mbPerSecond }, raw?.download),
    ])
  }
  if (raw) {
    const size = `${(raw.bytes / MiB).toFixed(0)} MiB`
    const parts = raw.parts.count > 0 ? `${raw.parts.count} parts of ${(raw.parts.bytes / MiB).toFixed(0)} MiB` : 'one PUT'
    figures.push(
      ['raw baseline', `${size} from Node to the Worker, ${parts}`, throughputText(raw.upload), ''],
      ['', `${size} from the Worker to Node`, throughputText(raw.download), ''],
    )
  }
  const sections = [table(figures)]
  if (large) {
    const rows = large.memory.map((row) => [row.process, mb(row.idleBytes), mb(row.peakBytes), mb(row.growthBytes)])
    sections.push(`Memory while the large file synced (resident, per kind of process):\n${table([['process', 'idle', 'peak', 'growth'], ...rows])}`)
  }
  if (raw) {
    const rows = raw.workerMemory.map((row) => [row.process, mb(row.idleBytes), mb(row.peakBytes), mb(row.growthBytes)])
    sections.push(`Memory of the Worker during the raw baseline:\n${table([['process', 'idle', 'peak', 'growth'], ...rows])}`)
  }
  for (const [scenario, result] of Object.entries(results.scenarios)) {
    const counts: Record<string, number> = 'reloads' in result ? result.reloads : {}
    const reloads = Object.entries(counts).filter(([, count]) => count > 0)
    if (reloads.length > 0)
      sections.push(`${scenario}: ${reloads.map(([device, count]) => `${device} reloaded ${count}×`).join(', ')} (the app's stall watchdog)`)
  }
  for (const [scenario, error] of Object.entries(results.errors)) sections.push(`${scenario} FAILED: ${error}`)
  sections.push(`Targets:\n${table(results.targets.map((target) => [target.status, target.target, target.measured]))}`)
  return sections.join('\n\n')
}

export const writeResults = async (path: string, results: BenchResults): Promise<void> => {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`)
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
const mbs = (throughput: Throughput) => `${throughput.mbPerSecond.toFixed(1)} MB/s`
const throughputText = (throughput: Throughput) => `${mbs(throughput)} (${throughput.seconds.toFixed(1)} s)`

/** Left-aligned columns, two spaces apart. */
const table = (rows: string[][]): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
