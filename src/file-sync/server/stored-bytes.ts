import { readInWindows, type WindowSource } from './r2-windows.ts'

/**
 * The bytes [offset, offset + length) of a stored object, read a window at a time
 * (./r2-windows) into a `FixedLengthStream`, so that a response keeps its Content-Length.
 * Outside workerd (the handler under Node's tests) a plain stream does, without that length.
 */
export const storedBytes = (
  source: WindowSource,
  key: string,
  range: { offset: number; length: number; first?: ReadableStream<Uint8Array> | undefined },
  { turnEveryBytes }: { turnEveryBytes?: number } = {},
): ReadableStream<Uint8Array> =>
  readInWindows(source, key, {
    ...range,
    ...(turnEveryBytes === undefined ? {} : { turnEveryBytes }),
    // A boundary cast: workerd types its writable side as taking any ArrayBuffer or view.
    sink:
      typeof FixedLengthStream === 'function'
        ? (new FixedLengthStream(range.length) as unknown as TransformStream<Uint8Array, Uint8Array>)
        : new TransformStream<Uint8Array, Uint8Array>(),
  })
