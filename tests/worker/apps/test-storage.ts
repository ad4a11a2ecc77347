/**
 * The Worker as it ships, but its file API stores through R2 with a 6 MiB limit on one put, so
 * that an upload in parts larger than that is published in parts (as one over R2's 4.995 GiB
 * is) without gigabytes of test bytes; a request with `X-Test-Fail-Put` gets a storage whose
 * writes of files fail after reading a little of what they write (its bookkeeping still works);
 * and one route for tests only: `GET /test/keys?prefix=` lists the bucket's keys under a prefix,
 * to see what an upload leaves behind.
 */
import worker from '../../../src/workers/cloudflare-sync.ts'
import { handleFileRequest } from '../../../src/file-sync/server/files.ts'
import { r2Storage } from '../../../src/file-sync/server/storage/r2.ts'
import type { FileStorage } from '../../../src/file-sync/server/storage/types.ts'

export { PresenceDO, SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

// Kept in step with tests/worker/staged-uploads.test.ts (a Worker module exports only handlers and classes).
const SMALL_PUT_BYTES = 6 * 1024 * 1024

const failingPuts = (storage: FileStorage): FileStorage => ({
  ...storage,
  async put(key, body, options) {
    if (key.startsWith('.')) return storage.put(key, body, options)
    if (body instanceof ReadableStream) {
      const reader = body.getReader()
      await reader.read()
      await reader.cancel('the storage failed')
    }
    throw new Error('the storage failed on purpose (X-Test-Fail-Put)')
  },
})

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/api/files/')) {
      const storage = r2Storage(env.FILES_BUCKET!, { maxPutBytes: SMALL_PUT_BYTES })
      return handleFileRequest(request, env, { storage: request.headers.has('X-Test-Fail-Put') ? failingPuts(storage) : storage })
    }
    if (request.method === 'GET' && url.pathname === '/test/keys') {
      const listed = await env.FILES_BUCKET!.list({ prefix: url.searchParams.get('prefix') ?? '' })
      return Response.json(listed.objects.map((object) => object.key))
    }
    return worker.fetch(request, env, ctx)
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Parameters<typeof worker.fetch>[1]>
