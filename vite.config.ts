import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { fileSync } from './src/file-sync/vite.ts'

export default defineConfig({
  // The service worker (src/sw.ts) is built to /sw.js; /api goes to the Worker under `wrangler dev`.
  plugins: [vue(), fileSync({ serviceWorker: 'src/sw.ts', ...(process.env.WORKER_URL ? { workerUrl: process.env.WORKER_URL } : {}) })],
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
})
