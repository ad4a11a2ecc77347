/** JSON responses shared by every route: bodies are JSON, errors are `{ error }`. */

export const json = (body: unknown, status = 200, headers: HeadersInit = {}): Response => {
  const allHeaders = new Headers(headers)
  allHeaders.set('Content-Type', 'application/json')
  return new Response(JSON.stringify(body), { status, headers: allHeaders })
}

export const errorResponse = (status: number, error: string, headers: HeadersInit = {}): Response =>
  json({ error }, status, headers)

export const methodNotAllowed = (allowed: readonly string[]): Response =>
  errorResponse(405, `method not allowed; use ${allowed.join(', ')}`, { Allow: allowed.join(', ') })
