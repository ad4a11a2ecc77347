import { readInWindows } from './r2-windows.ts'

/**
 * The bytes [offset, offset + length) of a stored object, read from R2 a window at a time
 * (./r2-windows) into a `FixedLengthStream`, so that a response keeps its Content-Length.
 */
export const storedBytes = (
  bucket: R2Bucket,
  key: string,
  range: { offset: number; length: number; first?: ReadableStream<Uint8Array> | undefined },
): ReadableStream<Uint8Array> =>
  readInWindows(bucket, key, {
    ...range,
    // A boundary cast: workerd types its writable side as taking any ArrayBuffer or view.
    sink: new FixedLengthStream(range.length) as unknown as TransformStream<Uint8Array, Uint8Array>,
  })
