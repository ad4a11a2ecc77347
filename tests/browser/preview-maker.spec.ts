import { test as base, expect } from '@playwright/test'
import { createServer, type ViteDevServer } from 'vite'
import { type Device, launchDevice } from '../support/chromium.ts'
import { freePort } from '../support/wrangler.ts'

/**
 * Unit tests of the preview maker (src/file-sync/client/preview.ts). It needs what only a browser
 * has (createImageBitmap's decoders, OffscreenCanvas's encoders), so it runs in Chromium: the
 * module is served as source by a Vite dev server, and each test makes a preview of a fixture
 * (tests/fixtures/previews/, see its README) in the page and in the previews worker, then reads
 * the preview's pixels back.
 */

type Made =
  | { ok: true; type: string; size: number; width: number; height: number; pixels: Record<string, number[]> }
  | { ok: false; error: string; undecodable: boolean }

const test = base.extend<{ device: Device; origin: string }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern; it has none.
  origin: async ({}, use) => {
    const port = await freePort()
    const server: ViteDevServer = await createServer({
      configFile: false,
      logLevel: 'warn',
      server: { host: '127.0.0.1', port, strictPort: true },
      // A blank page of this origin, for the module to be imported into.
      plugins: [
        {
          name: 'blank-page',
          configureServer: (vite) =>
            void vite.middlewares.use('/blank.html', (_request, response) => {
              response.setHeader('Content-Type', 'text/html')
              response.end('<!doctype html><title>preview maker</title>')
            }),
        },
      ],
    })
    await server.listen()
    try {
      await use(`http://127.0.0.1:${port}`)
    } finally {
      await server.close()
    }
  },
  device: async ({ origin }, use) => {
    const device = await launchDevice('previews')
    try {
      await device.page.goto(`${origin}/blank.html`)
      await use(device)
    } finally {
      await device.close()
    }
  },
})

/** Makes the preview of a fixture in the page (or through the previews worker) and reads the pixels at `points` (x, y as shares of the preview's size). */
const preview = (device: Device, fixture: string, points: Record<string, [number, number]>, where: 'page' | 'worker'): Promise<Made> =>
  device.page.evaluate(
    async ({ fixture, points, where }) => {
      const { makePreview } = await import('/src/file-sync/client/preview.ts' as string)
      const { connectPreviewWorker, firstFrame } = await import('/src/file-sync/client/preview-worker.ts' as string)
      const response = await fetch(`/tests/fixtures/${fixture}`)
      const blob = await response.blob()
      const types: Record<string, string> = { png: 'image/png', gif: 'image/gif', jpg: 'image/jpeg', webm: 'video/webm' }
      const mimeType = types[fixture.slice(fixture.lastIndexOf('.') + 1)]!
      const source = new File([blob], fixture, { type: mimeType })
      let made: Blob
      try {
        if (where === 'page') {
          made = (await makePreview(mimeType.startsWith('video/') ? await firstFrame(source) : source)).blob
        } else {
          const worker = new Worker('/src/file-sync/client/previews.worker.ts', { type: 'module' })
          try {
            made = await connectPreviewWorker(worker)(source, mimeType)
          } finally {
            worker.terminate()
          }
        }
      } catch (error) {
        return { ok: false as const, error: String(error), undecodable: (error as Error).name === 'PreviewError' }
      }
      const bitmap = await createImageBitmap(made)
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height)
      const context = canvas.getContext('2d')!
      context.drawImage(bitmap, 0, 0)
      const pixels: Record<string, number[]> = {}
      for (const [name, [x, y]] of Object.entries(points)) {
        pixels[name] = [...context.getImageData(Math.floor(x * bitmap.width), Math.floor(y * bitmap.height), 1, 1).data]
      }
      return { ok: true as const, type: made.type, size: made.size, width: bitmap.width, height: bitmap.height, pixels }
    },
    { fixture, points, where },
  )

/** Whether a pixel is about this colour (lossy encodings move a few values). */
const near = (actual: number[] | undefined, expected: number[]) =>
  expect(actual?.map((value, i) => Math.abs(value - expected[i]!) <= 40)).toEqual([true, true, true, true])

for (const where of ['page', 'worker'] as const) {
  test.describe(`the preview maker (in the ${where})`, () => {
    test('turns a JPEG as its EXIF orientation says, and fits it in 320 px', async ({ device }) => {
      // Stored 800×400, red left and blue right, orientation 6: shown 400×800, red on top.
      const made = await preview(device, 'previews/rotated-exif-6.jpg', { top: [0.5, 0.2], bottom: [0.5, 0.8] }, where)
      expect(made).toMatchObject({ ok: true, type: 'image/webp', width: 160, height: 320 })
      if (!made.ok) return
      near(made.pixels.top, [255, 0, 0, 255])
      near(made.pixels.bottom, [0, 0, 255, 255])
    })

    test('keeps a PNG transparent where it is', async ({ device }) => {
      const made = await preview(device, 'previews/transparent.png', { clear: [0.2, 0.5], green: [0.8, 0.5] }, where)
      expect(made).toMatchObject({ ok: true, type: 'image/webp', width: 320, height: 320 })
      if (!made.ok) return
      expect(made.pixels.clear?.[3]).toBe(0)
      near(made.pixels.green, [0, 255, 0, 255])
    })

    test('shows an animated GIF by its first frame, never larger than it is', async ({ device }) => {
      // Two frames, red then blue, 200×100: smaller than a preview already.
      const made = await preview(device, 'previews/animated.gif', { middle: [0.5, 0.5] }, where)
      expect(made).toMatchObject({ ok: true, type: 'image/webp', width: 200, height: 100 })
      if (!made.ok) return
      near(made.pixels.middle, [255, 0, 0, 255])
    })

    test('shows a video by its first frame', async ({ device }) => {
      // 320×240; a video's frame is decoded by the page's <video>, in both cases.
      const made = await preview(device, 'six-seconds.webm', {}, where)
      expect(made).toMatchObject({ ok: true, type: 'image/webp', width: 320, height: 240 })
    })

    test('makes no preview of a picture it cannot decode, and says why', async ({ device }) => {
      const made = await preview(device, 'previews/broken.jpg', {}, where)
      expect(made).toMatchObject({ ok: false, undecodable: true })
      if (made.ok) return
      expect(made.error).toContain('cannot be decoded')
    })
  })
}
