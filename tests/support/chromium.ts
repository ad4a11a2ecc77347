/**
 * Simulated devices: headless Chromium, one persistent profile each (so its own OPFS and
 * service worker). Used by the browser tests and the benchmark (no test-runner imports here).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from '@playwright/test'

/** Debian's Chromium; browsers cannot be downloaded on these machines. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Quiet on a closed network: no background fetches, no QUIC, no sync.
const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** One simulated device: a browser profile of its own, so its own OPFS and service worker. */
export interface Device {
  name: string
  page: Page
  context: BrowserContext
  /** Everything the page logged, for failure messages. */
  logs: string[]
  /** The browser profile's folder: it names this device's Chromium processes (support/process-memory.ts). */
  profile: string
  /** Closes the browser and removes its profile. */
  close(): Promise<void>
}

export interface LaunchOptions {
  /**
   * Let Playwright close the browser (and on Ctrl-C, end this process) on SIGINT, SIGTERM and
   * SIGHUP: the default. A script that cleans up after itself on a signal turns it off.
   */
  handleSignals?: boolean
}

export const launchDevice = async (name: string, { handleSignals = true }: LaunchOptions = {}): Promise<Device> => {
  const profile = await mkdtemp(join(tmpdir(), `file-sync-${name}-`))
  try {
    const signals = { handleSIGINT: handleSignals, handleSIGTERM: handleSignals, handleSIGHUP: handleSignals }
    const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args, headless: true, ...signals })
    const page = context.pages()[0] ?? (await context.newPage())
    const logs: string[] = []
    page.on('console', (message) => logs.push(`[${message.type()}] ${message.text()}`))
    page.on('pageerror', (error) => logs.push(`[pageerror] ${error.message}`))
    const close = async () => {
      await context.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    }
    return { name, page, context, logs, profile, close }
  } catch (error) {
    await rm(profile, { recursive: true, force: true })
    throw error
  }
}
