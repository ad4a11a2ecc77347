import { defineConfig } from 'vite'
import { fileSync } from './file-sync/vite.ts'

export default defineConfig({
  root: import.meta.dirname,
  plugins: [fileSync({ serviceWorker: 'sw.ts' })],
  server: { port: 5174, strictPort: true },
  preview: { port: 4174, strictPort: true },
  build: { target: 'es2022', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
})
