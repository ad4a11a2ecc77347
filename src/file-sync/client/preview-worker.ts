import { PreviewError } from './preview.ts'
import type { MakePreview } from './previews.ts'

/** What the page asks of the previews worker (previews.worker.ts), and what it answers. */
export type PreviewRequest = { id: number; source: Blob | ImageBitmap }
export type PreviewReply = { id: number; blob: Blob } | { id: number; error: string; undecodable: boolean }

/** The page's side of the previews worker: a file's preview, made there. */
export const connectPreviewWorker = (worker: Worker): MakePreview => {
  let nextId = 0
  const pending = new Map<number, { resolve: (blob: Blob) => void; reject: (error: Error) => void }>()
  worker.addEventListener('message', ({ data }: MessageEvent<PreviewReply>) => {
    const call = pending.get(data.id)
    if (!call) return
    pending.delete(data.id)
    if ('blob' in data) call.resolve(data.blob)
    else call.reject(data.undecodable ? new PreviewError(data.error) : new Error(data.error))
  })
  worker.addEventListener('error', (event) => {
    event.preventDefault()
    for (const call of pending.values()) call.reject(new Error('The previews worker stopped.'))
    pending.clear()
  })
  return async (file, mimeType) => {
    // A video's first frame is decoded by the page's media stack (a worker has no <video>); the
    // worker scales and encodes it.
    const source = mimeType.startsWith('video/') ? await firstFrame(file) : file
    const id = (nextId += 1)
    return new Promise<Blob>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      worker.postMessage({ id, source } satisfies PreviewRequest, source instanceof ImageBitmap ? [source] : [])
    })
  }
}

/** How long a video may take to show its first frame before it counts as one this browser cannot play. */
const firstFrameTimeoutMs = 15_000

/** The first frame of a video, as the browser decodes it; a PreviewError when it cannot. */
export const firstFrame = async (file: Blob): Promise<ImageBitmap> => {
  const url = URL.createObjectURL(file)
  const video = document.createElement('video')
  video.muted = true
  video.preload = 'auto'
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PreviewError('This video shows no picture here in time.')), firstFrameTimeoutMs)
      video.addEventListener(
        'loadeddata',
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
      video.addEventListener(
        'error',
        () => {
          clearTimeout(timer)
          reject(new PreviewError('This video cannot be decoded here.'))
        },
        { once: true },
      )
      video.src = url
    })
    if (video.videoWidth === 0) throw new PreviewError('This file has sound and no picture.')
    return await createImageBitmap(video)
  } finally {
    video.removeAttribute('src')
    video.load()
    URL.revokeObjectURL(url)
  }
}
