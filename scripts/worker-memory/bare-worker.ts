/**
 * The file API's R2 calls (src/file-sync/server/files.ts, multipart.ts) on the same
 * paths, with none of our code around them: no auth, no checks, no
 * verification after completing. For `scripts/worker-memory.ts --bare`, to
 * tell Miniflare's local R2 from our Worker. Extra routes, for what the R2
 * calls alone do not show:
 *
 *   GET  /api/files/:store/:sha?via=js|js-fixed   the object through a JavaScript TransformStream
 *                                                 (and then a FixedLengthStream), as Miniflare joins parts
 *   GET  /api/files/:store/:sha/digest?via=pipe|byob|drain|drain-byob
 *                                                 the object read in full: piped into SHA-256, through one
 *                                                 buffer into SHA-256 (our ./stream-digest), read and
 *                                                 dropped chunk by chunk, or through one buffer
 *   POST /digest-body[?via=js]                    a request body piped into SHA-256, no R2 (?via=js:
 *                                                 through a JavaScript TransformStream first)
 */
import { digestHex } from '../../src/file-sync/server/stream-digest.ts'

type Env = { FILES_BUCKET: R2Bucket }

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const path = url.pathname
    if (path === '/api/health') return Response.json({ ok: true })
    if (path.startsWith('/api/auth/')) return Response.json({ token: 'bare' })
    if (path === '/digest-body') {
      const via = url.searchParams.get('via')
      const body = via === 'js' ? request.body!.pipeThrough(new TransformStream()) : request.body!
      return new Response(await digest(body))
    }

    const [storeId, sha256, ...rest] = path.slice('/api/files/'.length).split('/')
    const key = `${storeId}/${sha256}`
    const bucket = env.FILES_BUCKET
    if (rest.length === 0 && request.method === 'PUT') {
      await bucket.put(key, request.body, { sha256: sha256! })
      return Response.json({ key }, { status: 201 })
    }
    if (rest.length === 0 && request.method === 'GET') {
      const range = /^bytes=(\d+)-$/.exec(request.headers.get('Range') ?? '')
      const object = await bucket.get(key, range === null ? {} : { range: { offset: Number(range[1]) } })
      if (object === null) return new Response(null, { status: 404 })
      const length = range === null ? object.size : object.size - Number(range[1])
      return new Response(passOn(object.body, length, url.searchParams.get('via')), {
        status: range === null ? 200 : 206,
        headers: { 'Content-Length': String(length) },
      })
    }
    if (rest[0] === 'digest') {
      const object = await bucket.get(key)
      if (object === null) return new Response(null, { status: 404 })
      switch (url.searchParams.get('via')) {
        case 'byob':
          return new Response(await digestHex(object.body, new crypto.DigestStream('SHA-256')))
        case 'drain':
          return new Response(String(await drain(object.body)))
        case 'drain-byob':
          return new Response(String(await drainByob(object.body)))
        default:
          return new Response(await digest(object.body))
      }
    }
    if (rest.length === 1 && rest[0] === 'uploads') {
      const upload = await bucket.createMultipartUpload(key)
      return Response.json({ uploadId: upload.uploadId }, { status: 201 })
    }
    const upload = bucket.resumeMultipartUpload(key, decodeURIComponent(rest[1]!))
    if (rest.length === 4) {
      const part = await upload.uploadPart(Number(rest[3]), request.body!)
      return Response.json({ partNumber: part.partNumber, etag: part.etag })
    }
    const { parts } = await request.json<{ parts: R2UploadedPart[] }>()
    const object = await upload.complete(parts)
    return Response.json({ key, size: object.size }, { status: 201 })
  },
}

const digest = async (body: ReadableStream): Promise<string> => {
  const stream = new crypto.DigestStream('SHA-256')
  await body.pipeTo(stream)
  return [...new Uint8Array(await stream.digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

const drain = async (body: ReadableStream): Promise<number> => {
  let bytes = 0
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
  return bytes
}

const drainByob = async (body: ReadableStream): Promise<number> => {
  const reader = body.getReader({ mode: 'byob' })
  let buffer = new ArrayBuffer(1024 * 1024)
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer))
    if (done) return bytes
    bytes += value.byteLength
    buffer = value.buffer
  }
}

/**
 * ?via=js: through a JS TransformStream, as Miniflare's R2 joins the parts of a
 * multipart object; ?via=js-fixed: then into a FixedLengthStream, as it answers
 * the R2 binding.
 */
const passOn = (body: ReadableStream, length: number, via: string | null): ReadableStream => {
  if (via === null) return body
  const js = body.pipeThrough(new TransformStream())
  if (via === 'js') return js
  const fixed = new FixedLengthStream(length)
  void js.pipeTo(fixed.writable)
  return fixed.readable
}
