import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { fileSyncServiceWorker } from './src/file-sync/sw/vite-plugin.ts'

// The Worker (LiveStore sync + file API) runs under `wrangler dev`; the page reaches it on the
// same origin through this proxy, so cookies, the service worker and WebSockets need no CORS.
const workerUrl = process.env.WORKER_URL ?? 'http://127.0.0.1:8787'
const proxy = { '/api': { target: workerUrl, ws: true, changeOrigin: false } }

export default defineConfig({
  // The service worker (src/sw.ts, TypeScript) is served and built as one script at /sw.js.
  plugins: [vue(), fileSyncServiceWorker({ entry: 'src/sw.ts' })],
  server: { port: 5173, strictPort: true, proxy },
  preview: { port: 4173, strictPort: true, proxy },
  worker: { format: 'es' },
  optimizeDeps: {
    // wa-sqlite ships its own wasm loading; pre-bundling breaks it.
    exclude: ['@livestore/wa-sqlite'],
    // Without these, a cold dev server discovers them mid-boot and reloads the page.
    include: ['@livestore/adapter-web/worker', '@livestore/sync-cf/client'],
  },
  // LiveStore and its SQLite build are large by nature; the warning would only be noise.
  build: { target: 'es2022', chunkSizeWarningLimit: 1500 },
})
