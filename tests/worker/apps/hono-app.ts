/**
 * An app of its own that mounts the file API and LiveStore's sync at paths it chooses, as the
 * docs/worker.md's "Mounting the file API" shows: a Hono app on Workers, with its own token route.
 */
import { Hono } from 'hono'

import { type Authorize, handleFileRequest, handleTokenRequest } from '../../../src/file-sync/server/index.ts'
import { handleSyncSocket, type Env } from '../../../src/workers/cloudflare-sync.ts'

export { PresenceDO, SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

// The app's own check: here, a header stands in for its session.
const authorize: Authorize<Env> = (request) => {
  const user = request.headers.get('X-Test-User')
  return user === null ? null : { userId: user }
}

const app = new Hono<{ Bindings: Env }>()

app.get('/api/health', (c) => c.json({ ok: true, app: 'hono' }))
app.get('/', (c) => c.text("the app's own page"))
app.get('/session/store-token/:storeId', (c) => handleTokenRequest(c.req.raw, c.env, c.req.param('storeId'), authorize))
app.all('/storage/files/*', (c) => handleFileRequest(c.req.raw, c.env, { basePath: '/storage/files' }))
app.get(
  '/realtime',
  async (c) => (await handleSyncSocket(c.req.raw, c.env, c.executionCtx as ExecutionContext)) ?? c.json({ error: 'not a sync request' }, 400),
)

export default app
