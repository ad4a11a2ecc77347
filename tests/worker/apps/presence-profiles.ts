/**
 * The Worker with a profiles hook of its own (docs/presence.md): every user is shown as
 * "Profile of <user>", with a picture, so a test can tell the hook's answer from the default.
 */
import { createPresenceDurableObject } from '../../../src/file-sync/server/index.ts'
import { createWorker, type Env } from '../../../src/workers/cloudflare-sync.ts'

export { SyncBackendDO } from '../../../src/workers/cloudflare-sync.ts'

export class PresenceDO extends createPresenceDurableObject<Env>({
  profiles: { get: (userId) => ({ name: `Profile of ${userId}`, image: `https://example.test/${userId}.png` }) },
}) {}

export default createWorker()
