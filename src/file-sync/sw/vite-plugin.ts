/**
 * Builds the app's service worker, written in TypeScript, into one classic script at `/sw.js`:
 * served fresh by the dev server on every request, and emitted into the build. A service
 * worker's scope is at most its script's folder, so it has to be served from the root, and
 * as one file: a classic worker cannot import modules, and Vite's chunks would not be at the root.
 *
 *   plugins: [fileSyncServiceWorker({ entry: 'src/sw.ts' })]
 */
import { resolve } from 'node:path'
import { build, type Plugin } from 'vite'

export interface ServiceWorkerBuildOptions {
  /** The service worker's entry module, relative to the project root. */
  entry: string
  /** Where it is served; the page registers this URL (../client/file-service-worker.ts). */
  fileName?: string
}

export const fileSyncServiceWorker = ({ entry, fileName = 'sw.js' }: ServiceWorkerBuildOptions): Plugin => {
  let root = process.cwd()
  const bundle = async (mode: 'development' | 'production'): Promise<string> => {
    const output = await build({
      configFile: false,
      root,
      mode,
      logLevel: 'warn',
      publicDir: false,
      build: {
        write: false,
        target: 'es2022',
        minify: mode === 'production',
        sourcemap: false,
        lib: { entry: resolve(root, entry), formats: ['iife'], name: 'fileSyncServiceWorker', fileName: () => fileName },
      },
    })
    const outputs = Array.isArray(output) ? output : [output]
    for (const result of outputs) {
      if (!('output' in result)) continue
      const chunk = result.output.find((item) => item.type === 'chunk' && item.isEntry)
      if (chunk?.type === 'chunk') return chunk.code
    }
    throw new Error(`the service worker (${entry}) built to no script`)
  }

  return {
    name: 'file-sync-service-worker',
    configResolved(config) {
      root = config.root
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        if (request.url?.split('?')[0] !== `/${fileName}`) return next()
        bundle('development').then(
          (code) => {
            response.setHeader('Content-Type', 'text/javascript')
            response.setHeader('Cache-Control', 'no-cache')
            response.end(code)
          },
          (error: unknown) => next(error),
        )
      })
    },
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: await bundle('production') })
    },
  }
}
