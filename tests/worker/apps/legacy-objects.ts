/**
 * The Worker as it ships, plus one route for tests only: `PUT /test/legacy/<key>` writes its body
 * straight into the bucket with the `X-Stored-Type` it names (URI-encoded, so it may hold CR, LF
 * or NUL), as a version that did not check types could have stored it.
 */
import worker from '../../../src/workers/cloudflare-sync.ts'

export { PresenceDO, SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url)
    if (request.method === 'PUT' && pathname.startsWith('/test/legacy/')) {
      const contentType = decodeURIComponent(request.headers.get('X-Stored-Type') ?? '')
      await env.FILES_BUCKET!.put(pathname.slice('/test/legacy/'.length), await request.arrayBuffer(), { httpMetadata: { contentType } })
      return new Response(null, { status: 204 })
    }
    return worker.fetch(request, env, ctx)
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Parameters<typeof worker.fetch>[1]>
