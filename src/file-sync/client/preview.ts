/**
 * A file's preview: a small picture (at most `previewMaxPixels` on its longest side, WebP where
 * the browser encodes it, JPEG otherwise) that syncs as a file of its own (previews.ts), so a
 * grid of thousands of photos shows at once on every device, long before their bytes arrive.
 *
 * Made with what every browser has off the page's thread: `createImageBitmap` decodes (turned as
 * the picture's EXIF orientation says, the first frame of an animation) and scales, and an
 * `OffscreenCanvas` encodes. It runs in a worker of its own (previews.worker.ts); a video's first
 * frame is decoded by the page's `<video>` and handed over as an ImageBitmap (video-frame.ts).
 */

/** 320 px on the longest side: sharp on a card 220 px wide at a device pixel ratio of 1.5. */
export const previewMaxPixels = 320
/** Good enough for a thumbnail; tens of KB for a photo. */
export const previewQuality = 0.8

/** The media types a preview is tried for. A picture the browser cannot decode fails, and its file shows its icon. */
export const previewable = (mimeType: string): boolean => mimeType.startsWith('image/') || mimeType.startsWith('video/')

/** A picture that could not be decoded or encoded: the file has no preview, and syncs all the same. */
export class PreviewError extends Error {
  override name = 'PreviewError'
}

export interface PreviewOptions {
  maxPixels?: number
  quality?: number
  /** The encodings to try, in order: the first one the browser writes wins. */
  types?: readonly string[]
}

export interface Preview {
  blob: Blob
  width: number
  height: number
}

/** The size that fits `maxPixels` on the longest side, keeping the shape; never larger than the picture. */
export const fitWithin = (width: number, height: number, maxPixels: number): { width: number; height: number } => {
  const scale = Math.min(1, maxPixels / Math.max(width, height))
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

/**
 * A picture's preview, or a PreviewError when it cannot be made. `source` is the picture's bytes
 * (a disk-backed File reads from disk) or a frame already decoded (which this closes).
 */
export const makePreview = async (
  source: Blob | ImageBitmap,
  { maxPixels = previewMaxPixels, quality = previewQuality, types = ['image/webp', 'image/jpeg'] }: PreviewOptions = {},
): Promise<Preview> => {
  let full: ImageBitmap
  try {
    // 'from-image': turned as the picture's EXIF orientation says, as an <img> shows it.
    full = source instanceof Blob ? await createImageBitmap(source, { imageOrientation: 'from-image' }) : source
  } catch (error) {
    throw new PreviewError(`This picture cannot be decoded here: ${describe(error)}`)
  }
  try {
    if (full.width === 0 || full.height === 0) throw new PreviewError('This picture has no pixels.')
    const { width, height } = fitWithin(full.width, full.height, maxPixels)
    // Scaled by the decoder with its best filter: a canvas's drawImage from 6000 px down to 320
    // takes every 19th pixel, and shows it.
    const small = await createImageBitmap(full, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' })
    try {
      const canvas = new OffscreenCanvas(width, height)
      const context = canvas.getContext('2d')
      if (!context) throw new PreviewError('No canvas to draw the preview on.')
      context.drawImage(small, 0, 0)
      for (const type of types) {
        const blob = await canvas.convertToBlob({ type, quality })
        // A browser that cannot write `type` writes PNG instead: try the next one.
        if (blob.type === type) return { blob, width, height }
      }
      throw new PreviewError(`This browser encodes none of ${types.join(', ')}.`)
    } finally {
      small.close()
    }
  } catch (error) {
    throw error instanceof PreviewError ? error : new PreviewError(`The preview could not be made: ${describe(error)}`)
  } finally {
    full.close()
  }
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))
