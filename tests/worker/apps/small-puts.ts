/**
 * The Worker as it ships, but its file API stores through R2 with a 6 MiB limit on one put, so
 * that an upload in parts larger than that is published in parts (as one over R2's 4.995 GiB
 * is) without gigabytes of test bytes; and one route for tests only: `GET /test/keys?prefix=`
 * lists the bucket's keys under a prefix, to see what an upload leaves behind.
 */
import worker from '../../../src/workers/cloudflare-sync.ts'
import { handleFileRequest } from '../../../src/workers/files.ts'
import { r2Storage } from '../../../src/workers/storage/r2.ts'

export { SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

// Kept in step with tests/worker/staged-uploads.test.ts (a Worker module exports only handlers and classes).
const SMALL_PUT_BYTES = 6 * 1024 * 1024

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/api/files/')) {
      return handleFileRequest(request, env, { storage: r2Storage(env.FILES_BUCKET!, { maxPutBytes: SMALL_PUT_BYTES }) })
    }
    if (request.method === 'GET' && url.pathname === '/test/keys') {
      const listed = await env.FILES_BUCKET!.list({ prefix: url.searchParams.get('prefix') ?? '' })
      return Response.json(listed.objects.map((object) => object.key))
    }
    return worker.fetch(request, env, ctx)
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Parameters<typeof worker.fetch>[1]>
