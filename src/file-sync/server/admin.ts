/**
 * Operator calls, guarded by their own secret (`ADMIN_SECRET`, a Worker secret), never by a store
 * token:
 *
 *   POST /api/admin/stores/:storeId/evict   removes every byte the store has on the server, at most
 *                                           MAINTENANCE_BATCH objects a call: `done: false` says
 *                                           to call again
 *
 * Eviction saves storage cost for a store that devices still hold: its files, marks and upload
 * states go, and nothing else. The store's event history (its Durable Object) is untouched, so
 * every device still lists every file. The first device that misses a file's bytes (a 404) says
 * so to all (v1.FileRemoteLost), and a device that holds the file uploads it again.
 */
import { bearerToken } from './auth.ts'
import { errorResponse, json, methodNotAllowed } from './http.ts'
import { RECORDS_PREFIX, STAGING_PREFIX } from './multipart.ts'
import { MARKS_PREFIX } from './pending-deletion.ts'
import { countContent, type StoreQuota } from './quota.ts'
import type { FileStorage } from './storage/types.ts'
import { isValidStoreId, STORE_ID_RULE } from '../shared/store-id.ts'

/** Where versions before staged uploads kept the running hash of each upload in parts. */
const LEGACY_CHAINS_PREFIX = '.upload-hashes/'

export type AdminEnv = {
  /** Enables the admin API; without it every admin call is 404. */
  ADMIN_SECRET?: string
}

const encoder = new TextEncoder()

/**
 * Compares in time that does not depend on where they differ: both are hashed first (so their
 * lengths do not show either), then every byte is compared.
 */
const sameSecret = async (given: string, secret: string): Promise<boolean> => {
  const [a, b] = await Promise.all([given, secret].map(async (text) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))))
  let difference = 0
  for (let index = 0; index < 32; index += 1) difference |= (a?.[index] ?? 0) ^ (b?.[index] ?? 0)
  return difference === 0
}

interface Removal {
  objects: number
  bytes: number
  /** Objects whose removal failed (logged); the next call tries them again. */
  failed: number
  /** Whether every object under the prefix was looked at. */
  done: boolean
}

/**
 * Removes the objects under `prefix`, a page at a time, at most `budget` of them; a page whose
 * removal fails is counted and logged, and the others go on.
 */
const removeUnder = async (storage: FileStorage, prefix: string, budget: number): Promise<Removal> => {
  const removal: Removal = { objects: 0, bytes: 0, failed: 0, done: false }
  let cursor: string | undefined
  while (removal.objects + removal.failed < budget) {
    const page = await storage.list(prefix, { limit: Math.min(1000, budget - removal.objects - removal.failed), ...(cursor === undefined ? {} : { cursor }) })
    if (page.objects.length > 0) {
      try {
        await storage.delete(page.objects.map((object) => object.key))
        removal.objects += page.objects.length
        removal.bytes += page.objects.reduce((total, object) => total + object.size, 0)
      } catch (error) {
        removal.failed += page.objects.length
        console.error(JSON.stringify({ route: 'admin-evict', prefix, failed: page.objects.length, error: String(error) }))
      }
    }
    if (page.cursor === undefined) return { ...removal, done: true }
    cursor = page.cursor
  }
  return removal
}

export const handleAdminRequest = async (
  request: Request,
  env: AdminEnv,
  storage: FileStorage,
  { batch = 1000, quota }: { batch?: number; quota?: StoreQuota } = {},
): Promise<Response> => {
  if (env.ADMIN_SECRET === undefined || env.ADMIN_SECRET === '') return errorResponse(404, 'the admin API is disabled: set the ADMIN_SECRET secret')
  const given = bearerToken(request)
  if (given === undefined || !(await sameSecret(given, env.ADMIN_SECRET))) {
    return errorResponse(401, 'admin calls need "Authorization: Bearer <ADMIN_SECRET>"', { 'WWW-Authenticate': 'Bearer' })
  }
  const match = /^\/api\/admin\/stores\/([^/]+)\/evict$/.exec(new URL(request.url).pathname)
  if (match === null) return errorResponse(404, 'no such admin call; there is POST /api/admin/stores/<storeId>/evict')
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const storeId = match[1] ?? ''
  if (!isValidStoreId(storeId)) return errorResponse(400, STORE_ID_RULE)

  const started = Date.now()
  // At most `batch` objects per call (files first, then marks, then upload states): `done: false`
  // says to call again, which carries on with what is left.
  let budget = batch
  const removals: Removal[] = []
  const bookkeeping = [MARKS_PREFIX, STAGING_PREFIX, RECORDS_PREFIX, LEGACY_CHAINS_PREFIX].map((prefix) => `${prefix}${storeId}/`)
  for (const prefix of [`${storeId}/`, ...bookkeeping]) {
    const removal = budget > 0 ? await removeUnder(storage, prefix, budget) : { objects: 0, bytes: 0, failed: 0, done: false }
    budget -= removal.objects + removal.failed
    removals.push(removal)
  }
  const [files] = removals as [Removal, ...Removal[]]
  await countContent(quota, storeId, -files.bytes, -files.objects)
  const failed = removals.reduce((total, removal) => total + removal.failed, 0)
  const done = removals.every((removal) => removal.done) && failed === 0
  console.log(
    JSON.stringify({ route: 'admin-evict', store: storeId, status: 200, files: files.objects, bytes: files.bytes, failed, done, ms: Date.now() - started }),
  )
  return json({ storeId, evictedFiles: files.objects, evictedBytes: files.bytes, failed, done })
}
