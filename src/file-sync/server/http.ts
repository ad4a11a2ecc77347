/** JSON in and out, shared by every route: bodies are JSON, errors are `{ error }`. */

export const json = (body: unknown, status = 200, headers: HeadersInit = {}): Response => {
  const allHeaders = new Headers(headers)
  allHeaders.set('Content-Type', 'application/json')
  // Never read as anything but JSON, whatever a message holds.
  allHeaders.set('X-Content-Type-Options', 'nosniff')
  return new Response(JSON.stringify(body), { status, headers: allHeaders })
}

export const errorResponse = (status: number, error: string, headers: HeadersInit = {}): Response => json({ error }, status, headers)

export const methodNotAllowed = (allowed: readonly string[]): Response =>
  errorResponse(405, `method not allowed; use ${allowed.join(', ')}`, { Allow: allowed.join(', ') })

/**
 * The request's JSON body, or the error to answer with. JSON bodies here are
 * small: a Content-Length is required and bounds what is read into memory
 * (HTTP framing holds the body to it).
 */
export const readJson = async (request: Request, maxBytes: number): Promise<{ value: unknown } | Response> => {
  const declared = request.headers.get('Content-Length')
  if (declared === null || !/^\d+$/.test(declared)) return errorResponse(411, 'Content-Length header required')
  if (Number(declared) > maxBytes) return errorResponse(413, `JSON body of ${declared} bytes is over ${maxBytes} bytes`)
  try {
    return { value: JSON.parse(await request.text()) }
  } catch {
    return errorResponse(400, 'body must be JSON')
  }
}

/**
 * Reads a refused request's body to its end without keeping it (bodies are at most
 * MAX_UPLOAD_BYTES), for a refusal the client must read to stop trying: one still sending gets
 * the answer rather than a broken connection, which `wrangler dev`'s proxy turns into a 500 that
 * a client would retry. Where a retry is what should happen anyway (rate limits), cancelling the
 * body is cheaper.
 */
export const discardBody = (request: Request): Promise<void> => request.body?.pipeTo(new WritableStream()).catch(() => {}) ?? Promise.resolve()

/**
 * The request's body, to stream into storage, and whether it broke off before its
 * `Content-Length` (`cut()`, asked once the write failed): a client that sent fewer bytes than
 * it declared gets a 400, which it does not retry as it would a failure of the server (500).
 *
 * The body is copied into a stream of its declared length by reads and writes of our own, so
 * that a failed read (the body broke off) is told from a failed write (storage gave up): a pipe
 * rejects the same way for both, and workerd errors its source either way. The copy reads 1 MiB
 * at a time (workerd's `readAtLeast`) into one buffer, used again once its write resolves, which
 * workerd's FixedLengthStream does only when its reader has taken the bytes: measured on 1 GiB of
 * parts (scripts/worker-memory.ts), as fast as the pipe it replaces, and workerd +111 MiB against
 * +91 MiB; a new buffer per read was +161 MiB, a read per network chunk 60 % slower. Outside
 * workerd (Node's tests) the body goes as it is.
 */
const COPY_PIECE_BYTES = 1024 * 1024

export const measuredBody = (request: Request, length: number): { body: ReadableStream<Uint8Array> | Uint8Array; cut: () => boolean } => {
  const body = request.body
  // Looked up, not named: this module is also type-checked for the page, which has no such stream.
  const Sized = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream
  if (body === null || Sized === undefined) return { body: body ?? new Uint8Array(), cut: () => false }
  const sized = new Sized(length)
  let broke = false
  const copy = async () => {
    const writer = sized.writable.getWriter()
    const read = pieceReader(body)
    for (;;) {
      let piece: ReadableStreamReadResult<Uint8Array>
      try {
        piece = await read.next()
      } catch (error) {
        broke = true
        await writer.abort(error).catch(() => {})
        return
      }
      if (piece.done) break
      try {
        await writer.write(piece.value)
        read.written(piece.value)
      } catch (error) {
        await read.cancel(error)
        return
      }
    }
    // Fewer bytes than declared, ended cleanly: the stream of that length refuses to close.
    await writer.close().catch(() => (broke = true))
  }
  void copy()
  return { body: sized.readable, cut: () => broke }
}

type AtLeastReader = ReadableStreamBYOBReader & {
  readAtLeast?: (minBytes: number, view: Uint8Array) => Promise<ReadableStreamReadResult<Uint8Array>>
}

/** Reads `body` in whole pieces into one buffer where it is a byte stream (request bodies are), chunk by chunk otherwise. */
const pieceReader = (body: ReadableStream<Uint8Array>) => {
  let byob: AtLeastReader | undefined
  try {
    byob = body.getReader({ mode: 'byob' }) as AtLeastReader
  } catch {
    const reader = body.getReader()
    return { next: () => reader.read(), written: (_piece: Uint8Array) => {}, cancel: (reason: unknown) => reader.cancel(reason).catch(() => {}) }
  }
  const reader = byob
  let buffer = new ArrayBuffer(COPY_PIECE_BYTES)
  return {
    // Whole pieces: a JavaScript turn per MiB, not one per network chunk.
    next: () => {
      // A buffer its write took for good (detached) is replaced, never read into.
      if (buffer.byteLength === 0) buffer = new ArrayBuffer(COPY_PIECE_BYTES)
      const view = new Uint8Array(buffer)
      return reader.readAtLeast ? reader.readAtLeast(COPY_PIECE_BYTES, view) : reader.read(view)
    },
    written: (piece: Uint8Array) => void (buffer = piece.buffer as ArrayBuffer),
    cancel: (reason: unknown) => reader.cancel(reason).catch(() => {}),
  }
}

export const bodyCut = (length: number): Response => errorResponse(400, `the body ended before its Content-Length of ${length} bytes; nothing was stored`)
