/**
 * Operator calls, guarded by their own secret (`ADMIN_SECRET`, a Worker secret), never by a store
 * token:
 *
 *   POST /api/admin/stores/:storeId/evict   removes every byte the store has on the server
 *
 * Eviction saves storage cost for a store that devices still hold: its files, marks and upload
 * states go, and nothing else. The store's event history (its Durable Object) is untouched, so
 * every device still lists every file. The first device that misses a file's bytes (a 404) says
 * so to all (v1.FileRemoteLost), and a device that holds the file uploads it again.
 */
import { bearerToken, isValidStoreId } from './auth.ts'
import { errorResponse, json, methodNotAllowed } from './http.ts'
import { MARKS_PREFIX } from './pending-deletion.ts'
import type { FileStorage } from './storage/types.ts'
import { CHAINS_PREFIX } from './upload-hash.ts'

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

/** Removes every object under `prefix`, a page at a time; how many and how many bytes. */
const removeAll = async (storage: FileStorage, prefix: string): Promise<{ objects: number; bytes: number }> => {
  const removed = { objects: 0, bytes: 0 }
  for (;;) {
    // Always the first page: the previous one is gone.
    const page = await storage.list(prefix)
    if (page.objects.length === 0) return removed
    await storage.delete(page.objects.map((object) => object.key))
    removed.objects += page.objects.length
    removed.bytes += page.objects.reduce((total, object) => total + object.size, 0)
    if (page.cursor === undefined) return removed
  }
}

export const handleAdminRequest = async (request: Request, env: AdminEnv, storage: FileStorage): Promise<Response> => {
  if (env.ADMIN_SECRET === undefined || env.ADMIN_SECRET === '') return errorResponse(404, 'the admin API is disabled: set the ADMIN_SECRET secret')
  const given = bearerToken(request)
  if (given === undefined || !(await sameSecret(given, env.ADMIN_SECRET))) {
    return errorResponse(401, 'admin calls need "Authorization: Bearer <ADMIN_SECRET>"', { 'WWW-Authenticate': 'Bearer' })
  }
  const match = /^\/api\/admin\/stores\/([^/]+)\/evict$/.exec(new URL(request.url).pathname)
  if (match === null) return errorResponse(404, 'no such admin call; there is POST /api/admin/stores/<storeId>/evict')
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const storeId = match[1] ?? ''
  if (!isValidStoreId(storeId)) return errorResponse(400, 'storeId must be 1-64 characters of [a-zA-Z0-9_-]')

  const started = Date.now()
  const files = await removeAll(storage, `${storeId}/`)
  await removeAll(storage, `${MARKS_PREFIX}${storeId}/`)
  await removeAll(storage, `${CHAINS_PREFIX}${storeId}/`)
  console.log(JSON.stringify({ route: 'admin-evict', store: storeId, status: 200, files: files.objects, bytes: files.bytes, ms: Date.now() - started }))
  return json({ storeId, evictedFiles: files.objects, evictedBytes: files.bytes })
}
