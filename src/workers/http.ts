/** JSON in and out, shared by every route: bodies are JSON, errors are `{ error }`. */

export const json = (body: unknown, status = 200, headers: HeadersInit = {}): Response => {
  const allHeaders = new Headers(headers)
  allHeaders.set('Content-Type', 'application/json')
  // Never read as anything but JSON, whatever a message holds.
  allHeaders.set('X-Content-Type-Options', 'nosniff')
  return new Response(JSON.stringify(body), { status, headers: allHeaders })
}

export const errorResponse = (status: number, error: string, headers: HeadersInit = {}): Response =>
  json({ error }, status, headers)

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
export const discardBody = (request: Request): Promise<void> =>
  request.body?.pipeTo(new WritableStream()).catch(() => {}) ?? Promise.resolve()

/**
 * The request's body, to stream into storage, and whether it ended before its `Content-Length`
 * (`cut()`, once the write failed): a client that sent fewer bytes than it declared gets a 400,
 * which it does not retry as it would a failure of the server. Outside workerd (Node's tests)
 * the body itself.
 */
export const measuredBody = (request: Request, length: number): { body: ReadableStream<Uint8Array>; cut: () => boolean } => {
  const body = request.body ?? new Blob([]).stream()
  // Looked up, not named: this module is also type-checked for the page, which has no such stream.
  const Sized = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream
  if (Sized === undefined) return { body, cut: () => false }
  let cut = false
  const sized = new Sized(length)
  body.pipeTo(sized.writable).catch(() => (cut = true))
  return { body: sized.readable, cut: () => cut }
}

export const bodyCut = (length: number): Response =>
  errorResponse(400, `the body ended before its Content-Length of ${length} bytes; nothing was stored`)
