import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { test as base } from '@playwright/test'
import { preview } from 'vite'
import { type ChaosProxy, type ChaosRules, startChaosProxy } from '../support/chaos-proxy.ts'
import { type Device, launchDevice } from '../support/chromium.ts'
import { type SyncSocketCutter, startSyncSocketCutter } from '../support/sync-socket-cutter.ts'
import { freePort, type RunningWorker, startWorker } from '../support/wrangler.ts'
import { startWorkerApp } from '../worker/helpers.ts'

export type { Device }

interface Fixtures {
  /** Worker vars for a test that needs other limits (`test.use({ workerVars: {...} })`). */
  workerVars: Record<string, string>
  /** File API requests per user and store in 10 s, for a test of the rate limit (`test.use({ workerRateLimit: n })`). */
  workerRateLimit: number | undefined
  worker: RunningWorker
  /** Put a misbehaving proxy between the page and the Worker (`test.use({ chaos: {...} })`). */
  chaos: ChaosRules | undefined
  /** The proxy the page reaches the Worker through, when `chaos` is set. */
  chaosProxy: ChaosProxy | undefined
  /** Put a proxy that can lose a push's answer on the sync socket (`test.use({ cutSync: true })`). */
  cutSync: boolean
  syncCutter: SyncSocketCutter | undefined
  /** Another app to serve than the main one: its Vite config (`test.use({ appConfig })`), built beforehand. */
  appConfig: string | undefined
  appUrl: string
  storeId: string
  openDevice: (name: string) => Promise<Device>
}

export const test = base.extend<Fixtures>({
  // A real Worker (LiveStore sync Durable Object + R2) under wrangler, with state of its own.
  workerVars: [{}, { option: true }],

  workerRateLimit: [undefined, { option: true }],

  worker: async ({ workerVars, workerRateLimit }, use, testInfo) => {
    // Its scheduled handler (the sweep of deleted files) runs when a test asks: worker.runScheduled().
    const options = { vars: workerVars, testScheduled: true }
    const worker =
      workerRateLimit === undefined
        ? await startWorker(options)
        : await startWorkerApp('src/workers/cloudflare-sync.ts', 'livestore-file-sync-rate-limited', {
            ...options,
            // The file API's rate: `workerRateLimit` requests per user and store in 10 s.
            edit: (toml) => toml.replace(/simple = \{ limit = \d+, period = 10 \}/, `simple = { limit = ${workerRateLimit}, period = 10 }`),
          })
    try {
      await use(worker)
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) await writeFile(testInfo.outputPath('worker-output.txt'), worker.output())
      await worker.close()
    }
  },

  chaos: [undefined, { option: true }],

  chaosProxy: async ({ chaos, worker }, use, testInfo) => {
    if (!chaos) return use(undefined)
    const proxy = await startChaosProxy(worker.url, chaos)
    try {
      await use(proxy)
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        await writeFile(testInfo.outputPath('chaos-log.txt'), proxy.log.join('\n'))
      }
      await proxy.stop()
    }
  },

  cutSync: [false, { option: true }],

  syncCutter: async ({ cutSync, worker }, use, testInfo) => {
    if (!cutSync) return use(undefined)
    const cutter = await startSyncSocketCutter(worker.url)
    try {
      await use(cutter)
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        await writeFile(testInfo.outputPath('sync-socket-log.txt'), cutter.log.join('\n'))
      }
      await cutter.stop()
    }
  },

  appConfig: [undefined, { option: true }],

  // The built app, served as `vite preview` serves it, with /api proxied to that Worker.
  appUrl: async ({ appConfig, worker, chaosProxy, syncCutter }, use) => {
    const port = await freePort()
    // With chaos, file requests go through the misbehaving proxy; the sync and presence sockets
    // never do. (The file sync's Vite plugin adds its own `/api` entry only when no proxy is given.)
    const proxy: Record<string, { target: string; ws: boolean }> =
      chaosProxy || syncCutter
        ? {
            '/api/sync': { target: syncCutter?.url ?? worker.url, ws: true },
            '/api/presence': { target: worker.url, ws: true },
            '/api': { target: chaosProxy?.url ?? worker.url, ws: false },
          }
        : { '/api': { target: worker.url, ws: true } }
    const server = await preview({
      ...(appConfig ? { configFile: appConfig } : {}),
      logLevel: 'warn',
      preview: { host: '127.0.0.1', port, strictPort: true, proxy },
    })
    try {
      await use(`http://127.0.0.1:${port}`)
    } finally {
      await server.close()
    }
  },

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern; it has none.
  storeId: async ({}, use) => use(`e2e-${randomUUID().slice(0, 8)}`),

  openDevice: async ({ appUrl, storeId }, use, testInfo) => {
    const opened: Device[] = []
    const open = async (name: string) => {
      const device = await launchDevice(name)
      opened.push(device)
      await device.page.goto(`${appUrl}/?store=${storeId}`)
      await device.page.getByTestId('file-input').waitFor({ state: 'attached' })
      return device
    }
    try {
      await use(open)
    } finally {
      for (const device of opened) {
        if (testInfo.status !== testInfo.expectedStatus) {
          await writeFile(testInfo.outputPath(`${device.name}-console.txt`), device.logs.join('\n'))
        }
        await device.close()
      }
    }
  },
})

export { expect } from '@playwright/test'
