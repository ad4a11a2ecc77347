/// <reference lib="webworker" />
/**
 * The app's service worker, built to `/sw.js` (file-sync/vite.ts). Today it only serves files;
 * an app adds its own handlers (precaching, push) here, next to file sync's.
 */
import { serveFiles } from './file-sync/sw/index.ts'

serveFiles(self as unknown as ServiceWorkerGlobalScope)
