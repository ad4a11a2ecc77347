/**
 * The worker that makes previews (preview.ts), off the page's thread. The page starts it with
 * `new Worker(new URL('./previews.worker.ts', import.meta.url), { type: 'module' })` and talks to
 * it through `connectPreviewWorker` (preview-worker.ts).
 */
import { makePreview, PreviewError } from './preview.ts'
import type { PreviewReply, PreviewRequest } from './preview-worker.ts'

// TypeScript sees the page's `self` here (the DOM lib); in a dedicated worker it is the worker's
// global scope.
const scope = self as unknown as {
  postMessage(message: PreviewReply): void
  addEventListener(type: 'message', listener: (event: MessageEvent<PreviewRequest>) => void): void
}

scope.addEventListener('message', ({ data: { id, source } }) => {
  makePreview(source).then(
    ({ blob }) => scope.postMessage({ id, blob }),
    (error: unknown) => scope.postMessage({ id, error: error instanceof Error ? error.message : String(error), undecodable: error instanceof PreviewError }),
  )
})
