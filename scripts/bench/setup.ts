/**
 * Everything the benchmark runs against, started here and stopped in reverse order, on failure
 * too: a fresh `wrangler dev` Worker (its own persist folder) that serves the built app besides
 * its API, on one origin, as `wrangler deploy --assets dist` does on Cloudflare; and for each scenario a fresh pair of headless Chromium
 * profiles as devices A and B.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { type Device, launchDevice } from '../../tests/support/chromium.ts'
import { type RunningWorker, startWorker } from '../../tests/support/wrangler.ts'
import { recordTimelines } from './page-timeline.ts'

export interface BenchEnvironment {
  worker: RunningWorker
  /** Where the page is: the Worker's own origin. */
  appUrl: string
  /** A temporary folder for the files the scenarios add. */
  workDir: string
  /**
   * Devices A and B, as new browser profiles: each scenario starts from fresh browsers, so none
   * inherits another's memory, disk or the app's once-per-tab state (its watchdog's reload).
   * The previous pair is closed and its profiles removed.
   */
  freshDevices(): Promise<{ a: Device; b: Device }>
  /** The devices open now. */
  opened(): Device[]
  close(): Promise<void>
}

export const startEnvironment = async (log: (line: string) => void): Promise<BenchEnvironment> => {
  const cleanups: Array<() => Promise<unknown>> = []
  // One cleanup, however many ask for it (a signal, and the run ending because of it): each waits for all of it.
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        await cleanup().catch((error: unknown) => console.error('cleanup failed:', error))
      }
    })())
  try {
    const workDir = await mkdtemp(join(tmpdir(), 'file-sync-bench-'))
    cleanups.push(() => rm(workDir, { recursive: true, force: true }))

    log('building the app (vite build)…')
    await build({ logLevel: 'warn' })

    log('starting the Worker with the built app (wrangler dev --assets dist)…')
    // No page server in between: a proxy on these two cores would take CPU time from the
    // transfers that Cloudflare's edge does not take from them.
    const worker = await startWorker({ assets: 'dist' })
    cleanups.push(() => worker.close())
    const appUrl = worker.url

    const opened: Device[] = []
    const open = async (name: string) => {
      // Stopped by close() on a signal (see bench.ts), with everything else, in order.
      const device = await launchDevice(name, { handleSignals: false })
      cleanups.push(() => device.close())
      opened.push(device)
      await recordTimelines(device.context)
      return device
    }
    const freshDevices = async () => {
      for (const device of opened.splice(0)) await device.close()
      return { a: await open('A'), b: await open('B') }
    }

    return { worker, appUrl, workDir, freshDevices, opened: () => [...opened], close }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * What went wrong in the devices' pages since `since` (each device's log length then): their
 * errors and warnings, LiveStore's included, the last few of each, for a failed scenario's report.
 */
export const problemsSince = (devices: Device[], since: Map<Device, number>): string[] =>
  devices.flatMap((device) =>
    device.logs
      .slice(since.get(device) ?? 0)
      .filter((line) => /^\[(error|warning|pageerror)\]|%c(WARN|ERROR)%c/.test(line))
      .slice(-6)
      .map(
        (line) =>
          `${device.name}: ${line
            .replace(/%c/g, '')
            .replace(/ color:\S+/g, '')
            .slice(0, 300)}`,
      ),
  )

/** Opens the store on a device and waits until the page can take files. */
export const openStore = async (device: Device, appUrl: string, storeId: string): Promise<void> => {
  await device.page.goto(`${appUrl}/?store=${storeId}`)
  await device.page.getByTestId('file-input').waitFor({ state: 'attached' })
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A store of its own for each scenario, so none sees another's files. */
export const newStoreId = (scenario: string): string => `bench-${scenario}-${crypto.randomUUID().slice(0, 8)}`

/** What every scenario is given. */
export interface ScenarioContext {
  env: BenchEnvironment
  log: (line: string) => void
}

/** Bytes per second in MB/s (10^6 bytes). */
export const mbPerSecond = (bytes: number, seconds: number): number => bytes / 1e6 / seconds

export interface Throughput {
  seconds: number
  mbPerSecond: number
}

export const throughput = (bytes: number, seconds: number): Throughput => ({ seconds, mbPerSecond: mbPerSecond(bytes, seconds) })

/** How long to wait for the transfer of `bytes` before calling it stuck: five minutes, plus 1 s per MB. */
export const timeoutFor = (bytes: number): number => 300_000 + bytes / 1000

/** Lets a page that just opened a store finish its start (sync, service worker) before measuring. */
export const settleMs = 2_000
