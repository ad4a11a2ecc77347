/** Peak resident memory over idle, per kind of process, while something runs (tests/support/process-memory.ts). */
import type { Device } from '../../tests/support/chromium.ts'
import { chromiumProcesses, groupProcesses, type MemoryWatch, watchMemory } from '../../tests/support/process-memory.ts'

export interface MemoryGrowth {
  /** e.g. `A renderer`, `B network`, `Worker workerd`. */
  process: string
  idleBytes: number
  peakBytes: number
  growthBytes: number
}

export type MemoryWatches = Record<string, MemoryWatch>

/** Every process of the Worker: wrangler, the workerd runtime it starts, and their helpers. */
export const workerWatch = (workerGroup: number | undefined): MemoryWatches => {
  if (workerGroup === undefined) throw new Error('the Worker is not running')
  return { Worker: watchMemory(() => groupProcesses(workerGroup)) }
}

/** Every kind of Chromium process of each device. */
export const deviceWatches = (devices: Device[]): MemoryWatches =>
  Object.fromEntries(devices.map((device) => [device.name, watchMemory(() => chromiumProcesses(device.profile))]))

export const stopWatches = (watches: MemoryWatches): MemoryGrowth[] =>
  Object.entries(watches).flatMap(([where, watch]) => {
    const { peak, growth } = watch.stop()
    return [...peak].map(([kind, peakBytes]) => ({
      process: `${where} ${kind}`,
      idleBytes: watch.idle.get(kind) ?? 0,
      peakBytes,
      growthBytes: growth.get(kind) ?? peakBytes,
    }))
  })
