import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, test as base, type Page } from '@playwright/test'
import { preview } from 'vite'
import { freePort, type RunningWorker, startWorker } from '../support/wrangler.ts'

/** Debian's Chromium; browsers cannot be downloaded on these machines. */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
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
}

interface Fixtures {
  /** Worker vars for a test that needs other limits (`test.use({ workerVars: {...} })`). */
  workerVars: Record<string, string>
  worker: RunningWorker
  appUrl: string
  storeId: string
  openDevice: (name: string) => Promise<Device>
}

export const test = base.extend<Fixtures>({
  // A real Worker (LiveStore sync Durable Object + R2) under wrangler, with state of its own.
  workerVars: [{}, { option: true }],

  worker: async ({ workerVars }, use) => {
    const worker = await startWorker({ vars: workerVars })
    try {
      await use(worker)
    } finally {
      await worker.close()
    }
  },

  // The built app, served as `vite preview` serves it, with /api proxied to that Worker.
  appUrl: async ({ worker }, use) => {
    const port = await freePort()
    const server = await preview({
      logLevel: 'warn',
      preview: { host: '127.0.0.1', port, strictPort: true, proxy: { '/api': { target: worker.url, ws: true } } },
    })
    try {
      await use(`http://127.0.0.1:${port}`)
    } finally {
      await server.close()
    }
  },

  storeId: async ({}, use) => use(`e2e-${randomUUID().slice(0, 8)}`),

  openDevice: async ({ appUrl, storeId }, use, testInfo) => {
    const opened: Array<{ device: Device; profile: string }> = []
    const open = async (name: string) => {
      const profile = await mkdtemp(join(tmpdir(), `file-sync-${name}-`))
      const context = await chromium.launchPersistentContext(profile, { executablePath, args, headless: true })
      const page = context.pages()[0] ?? (await context.newPage())
      const device: Device = { name, page, context, logs: [] }
      page.on('console', (message) => device.logs.push(`[${message.type()}] ${message.text()}`))
      page.on('pageerror', (error) => device.logs.push(`[pageerror] ${error.message}`))
      opened.push({ device, profile })
      await page.goto(`${appUrl}/?store=${storeId}`)
      await page.getByTestId('file-input').waitFor({ state: 'attached' })
      return device
    }
    try {
      await use(open)
    } finally {
      for (const { device, profile } of opened) {
        if (testInfo.status !== testInfo.expectedStatus) {
          await testInfo.attach(`${device.name}-console.txt`, { body: device.logs.join('\n') })
        }
        await device.context.close().catch(() => {})
        await rm(profile, { recursive: true, force: true })
      }
    }
  },
})

export { expect } from '@playwright/test'
