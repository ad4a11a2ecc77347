import { describe, expect, it } from 'vitest'
import { MiB, parseOptions } from '../../scripts/bench/options.ts'
import { checkTargets } from '../../scripts/bench/report.ts'
import type { BigStoreResult } from '../../scripts/bench/scenarios/big-store.ts'
import type { LargeFileResult } from '../../scripts/bench/scenarios/large-file.ts'
import type { ManyFilesResult } from '../../scripts/bench/scenarios/many-files.ts'
import type { LatencyResult } from '../../scripts/bench/scenarios/latency.ts'
import type { PreviewResult } from '../../scripts/bench/scenarios/preview.ts'
import { pagePartBytes, type RawResult } from '../../scripts/bench/scenarios/raw.ts'
import { median, percentile } from '../../scripts/bench/stats.ts'
import { defaultPartBytes, minPartBytes } from '../../src/file-sync/client/file-sync.ts'

describe('pnpm bench', () => {
  it('reads its options from flags, then the environment, then the defaults', () => {
    const defaults = parseOptions([], {})
    expect(defaults).toMatchObject({ largeBytes: 1024 * MiB, swReadBytes: 200 * MiB, check: false, out: 'bench-results/results.json' })
    expect(defaults !== 'help' && [...defaults.scenarios]).toEqual(['many-files', 'big-store', 'large-file', 'latency', 'preview', 'sw-read', 'raw'])
    expect(defaults).toMatchObject({ manyFiles: { count: 1000, bytes: 100_000, perPick: 1000 }, bigStoreFiles: 10_000, bigStoreBatch: 1 })
    expect(parseOptions(['--big-store-batch', '100'], {})).toMatchObject({ bigStoreBatch: 100 })
    expect(() => parseOptions(['--big-store-batch', '101'], {})).toThrow('--big-store-batch must be at most 100')
    expect(parseOptions(['--many-files', '300', '--many-per-pick', '50'], {})).toMatchObject({ manyFiles: { count: 300, perPick: 50 } })

    const fromEnv = parseOptions(['--large-mib', '256'], { BENCH_LARGE_MIB: '64', BENCH_SCENARIOS: 'raw, large-file', BENCH_CHECK: '1' })
    expect(fromEnv).toMatchObject({ largeBytes: 256 * MiB, check: true })
    expect(fromEnv !== 'help' && [...fromEnv.scenarios]).toEqual(['raw', 'large-file'])

    expect(() => parseOptions(['--scenarios', 'many-files,fast'], {})).toThrow('unknown scenario fast')
    expect(() => parseOptions(['--large-mib', 'lots'], {})).toThrow('--large-mib must be a positive number')
    expect(() => parseOptions(['--many-per-pick', '0'], {})).toThrow('--many-per-pick must be a whole number')
    expect(parseOptions(['--help'], {})).toBe('help')
  })

  it("sends the raw baseline in the page's part size", () => {
    // The page: min(16 MiB, the server's request limit), at least R2's 5 MiB (src/boot.ts).
    const page = (maxRequestBytes: number) => Math.max(minPartBytes, Math.min(defaultPartBytes, maxRequestBytes))
    for (const maxRequestBytes of [100 * MiB, 8 * MiB, 1 * MiB]) {
      expect(pagePartBytes(maxRequestBytes, 1024 * MiB)).toBe(page(maxRequestBytes))
    }
    // And never more than R2's 10,000 parts (src/file-sync/client/file-transfers.ts).
    expect(pagePartBytes(100 * MiB, 500 * 1024 * MiB)).toBe(Math.ceil((500 * 1024 * MiB) / 10_000))
  })

  it('takes the median and the nearest-rank percentile', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    const twenty = Array.from({ length: 20 }, (_, index) => index + 1)
    expect(percentile(twenty, 95)).toBe(19)
    expect(percentile(twenty, 100)).toBe(20)
  })

  it('checks each target against what was measured, and skips those whose scenario did not run', () => {
    const throughput = (mbPerSecond: number) => ({ seconds: 1, mbPerSecond })
    const memory = (process: string, growthBytes: number) => ({ process, idleBytes: 0, peakBytes: growthBytes, growthBytes })
    const large = {
      // From the file input, the save into OPFS included; the target is on the upload phase.
      upload: throughput(60),
      uploadPhase: throughput(85),
      download: throughput(70),
      memory: [memory('A renderer', 150e6), memory('Worker workerd', 250e6), memory('B renderer', 90e6)],
      // The raw stack's upload and download took 1 s each: 1.6 × their sum.
      endToEndSeconds: 3.2,
    } as LargeFileResult
    const raw = { upload: throughput(100), download: throughput(100) } as RawResult
    const latency = { medianMs: 120 } as LatencyResult

    const many = { filesPerSecond: 60, raw: { filesPerSecond: 150 } } as ManyFilesResult
    const big = {
      storeOpenSeconds: 1.2,
      firstCardSeconds: 2.0,
      rendererPeakBytes: 300e6,
      rendererAtRestBytes: 280e6,
      oneMoreFileMainThreadMs: 70,
    } as BigStoreResult

    // A 20 MB picture's preview on B after 6.2 s: more than "within seconds" allows.
    const preview = { medianShownOnBMs: 6_200 } as PreviewResult
    const targets = checkTargets({ 'large-file': large, raw, latency, preview, 'many-files': many, 'big-store': big })
    // 60 files/s, but 0.4 × raw; the first card 0.8 s after the store opened, 300 MB, 70 ms.
    expect(targets.map((target) => target.status)).toEqual(['PASS', 'FAIL', 'PASS', 'PASS', 'FAIL', 'PASS', 'FAIL', 'FAIL', 'FAIL', 'PASS', 'FAIL'])
    expect(targets[10]?.measured).toBe('6.2 s')
    expect(checkTargets({ preview: { medianShownOnBMs: 1_900 } as PreviewResult }).at(-1)).toMatchObject({ status: 'PASS', measured: '1.9 s' })
    expect(targets[7]?.measured).toBe('1.60 × (3.2 s vs 2.0 s)')
    expect(targets[8]?.measured).toBe('over: Worker workerd 250.0 MB')
    expect(targets[3]?.measured).toBe('300.0 MB (at rest 280.0 MB)')
    const quick = checkTargets({ 'large-file': { ...large, endToEndSeconds: 2.9 }, raw })
    expect(quick[7]).toMatchObject({ status: 'PASS', measured: '1.45 × (2.9 s vs 2.0 s)' })

    expect(checkTargets({ latency }).map((target) => target.status)).toEqual([
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'SKIP',
      'PASS',
      'SKIP',
    ])
  })
})
