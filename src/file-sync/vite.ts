/**
 * What file sync needs of Vite, as one plugin:
 * - the app's service worker, written in TypeScript, built into one classic script at `/sw.js`:
 *   served fresh by the dev server on every request, and emitted into the build. A service
 *   worker's scope is at most its script's folder, so it is served from the root, and as one
 *   file: a classic worker cannot import modules, and Vite's chunks would not be at the root;
 * - `/api` (LiveStore's sync socket, the presence socket, the file API, tokens) proxied to the
 *   Worker, WebSockets included, so the page, its service worker and its sockets stay on one origin;
 * - LiveStore's workers as modules, its SQLite build left as it ships, and ES2022 (top-level await).
 *
 *   plugins: [fileSync({ serviceWorker: 'src/sw.ts' })]
 */
import { resolve } from 'node:path'
import { build, type Plugin } from 'vite'

export interface FileSyncViteOptions {
  /** The service worker's entry module, relative to the project root (it calls ./sw/, `serveFiles`). */
  serviceWorker: string
  /** Where it is served; the page registers this URL (./client/file-service-worker.ts). */
  fileName?: string
  /** The Worker that answers `/api`: `wrangler dev` by default. */
  workerUrl?: string
}

export const fileSync = ({ serviceWorker: entry, fileName = 'sw.js', workerUrl = 'http://127.0.0.1:8787' }: FileSyncViteOptions): Plugin => {
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

  const proxy = { '/api': { target: workerUrl, ws: true, changeOrigin: false } }
  return {
    name: 'file-sync',
    // A proxy the app's config already has (a test's, say) is left as it is.
    config: (user) => ({
      server: user.server?.proxy ? {} : { proxy },
      preview: user.preview?.proxy ? {} : { proxy },
      // LiveStore's modules use top-level await.
      build: {
        ...(user.build?.target ? {} : { target: 'es2022' }),
        // LiveStore and its SQLite build are large by nature; the warning would only be noise.
        ...(user.build?.chunkSizeWarningLimit ? {} : { chunkSizeWarningLimit: 1500 }),
      },
      worker: { format: 'es' },
      optimizeDeps: {
        // wa-sqlite ships its own wasm loading; pre-bundling breaks it.
        exclude: ['@livestore/wa-sqlite'],
        // Without these, a cold dev server discovers them mid-boot (hash-wasm: when the files worker
        // hashes the first file) and reloads the page.
        include: ['@livestore/adapter-web/worker', '@livestore/sync-cf/client', 'hash-wasm'],
      },
    }),
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
