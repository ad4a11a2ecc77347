/**
 * The Worker as an app deploys it: its own `authorize`. Here a stand-in for a session: the
 * `X-Test-User` header names the user, and a user may open the stores named `<user>-…`.
 */
import { createWorker } from '../../../src/workers/cloudflare-sync.ts'

export { PresenceDO, SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

export default createWorker({
  authorize: (request, storeId) => {
    const user = request.headers.get('X-Test-User')
    if (user === null) return Response.json({ error: 'sign in first' }, { status: 401 })
    return storeId.startsWith(`${user}-`) ? { userId: user } : null
  },
})
