/**
 * The dedicated worker that writes this device's files (see local-file-worker.ts). The page
 * starts it with `new Worker(new URL('./local-files.worker.ts', import.meta.url), { type: 'module' })`.
 */
import { createOpfsFileStorage } from './local-file-storage.ts'
import { type MessageEndpoint, serveLocalFileStorage } from './local-file-worker.ts'

// TypeScript sees the page's `self` here (the DOM lib); in a dedicated worker it is the worker's
// global scope, whose postMessage takes a transfer list: cast once, at this boundary.
serveLocalFileStorage(self as unknown as MessageEndpoint, (folder) => createOpfsFileStorage({ root: () => navigator.storage.getDirectory(), folder }))
