/**
 * Reading a large R2 object as one stream, one window at a time.
 *
 * Local R2 (Miniflare, in the same workerd as the Worker) reads a multipart
 * object ahead into memory, about 1.5 times the range asked for, whatever the
 * reader takes: a GET of a 500 MiB file grew workerd by 740 MiB, and the
 * verification after a complete as much (scripts/worker-memory.ts). Asked for
 * windows of 16 MiB one after the other, it holds about one window. On
 * Cloudflare each window is one more read operation (Class B), a few per
 * hundred megabytes, and nothing else changes: the bytes pass from R2 to the
 * response without JavaScript touching them.
 */

export const R2_WINDOW_BYTES = 16 * 1024 * 1024

/** What is read of the bucket (structural, so Node tests can pass their own). */
export type WindowSource = {
  get(key: string, options: { range: { offset: number; length: number } }): Promise<{ body: ReadableStream<Uint8Array> } | null>
}

/**
 * The bytes [offset, offset + length) of `key`, read window after window into
 * `sink` (workerd's `FixedLengthStream(length)`, so that the response keeps
 * its Content-Length). `first`, when given, is the body of the first window,
 * already asked for (a read that also brought the object's size). A window
 * that cannot be read (the object deleted meanwhile) aborts the stream: the
 * reader sees an error, never a short file.
 */
export const readInWindows = (
  bucket: WindowSource,
  key: string,
  {
    offset,
    length,
    sink,
    first,
    windowBytes = R2_WINDOW_BYTES,
    turnEveryBytes,
  }: {
    offset: number
    length: number
    sink: TransformStream<Uint8Array, Uint8Array>
    first?: ReadableStream<Uint8Array> | undefined
    windowBytes?: number
    /**
     * Copies in JavaScript, giving the event loop a turn every so many bytes, instead of piping.
     * For a reader that never waits (a write into local R2): local R2's reads resolve at once, and
     * a pipe between the two held every other request of the Worker until the end.
     */
    turnEveryBytes?: number
  },
): ReadableStream<Uint8Array> => {
  let sinceTurn = 0
  const copy = async (body: ReadableStream<Uint8Array>) => {
    if (turnEveryBytes === undefined) return body.pipeTo(sink.writable, { preventClose: true })
    const reader = body.getReader()
    const writer = sink.writable.getWriter()
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        await writer.write(read.value)
        sinceTurn += read.value.byteLength
        if (sinceTurn >= turnEveryBytes) {
          sinceTurn = 0
          await new Promise((resolve) => setTimeout(resolve, 0))
        }
      }
    } catch (error) {
      await reader.cancel(error).catch(() => {})
      throw error
    } finally {
      writer.releaseLock()
    }
  }
  const pump = async () => {
    let at = offset
    if (first !== undefined) {
      await copy(first)
      at += Math.min(windowBytes, length)
    }
    for (; at < offset + length; at += windowBytes) {
      const window = await bucket.get(key, { range: { offset: at, length: Math.min(windowBytes, offset + length - at) } })
      if (window === null) throw new Error(`${key} is gone: it was deleted while it was read`)
      await copy(window.body)
    }
    await sink.writable.close()
  }
  pump().catch(async (error: unknown) => {
    await first?.cancel(error).catch(() => {})
    await sink.writable.abort(error).catch(() => {})
  })
  return sink.readable
}
