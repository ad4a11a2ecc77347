import { defineConfig } from 'vite'
import { fileSync } from './file-sync/vite.ts'

export default defineConfig({ root: import.meta.dirname, plugins: [fileSync({ serviceWorker: 'sw.ts' })] })
