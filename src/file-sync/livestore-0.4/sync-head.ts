/**
 * The Worker's side of the pull watchdog (./pull-stall.ts, upstream #1365): the number of the
 * store's last event, read from the private table where LiveStore 0.4's sync Durable Object keeps
 * it (its context table, one row per store, written on every accepted push); null before the
 * first push. Only reads: asking writes nothing into the Durable Object's storage.
 *
 * LiveStore has no API for it; a version that fixes #1365 makes this and the route that answers
 * it (`GET /api/sync-head/:storeId`) unneeded.
 */
import { type CfTypes, PERSISTENCE_FORMAT_VERSION } from '@livestore/sync-cf/cf-worker'

export const readSyncHead = (sql: CfTypes.SqlStorage, storeId: string): number | null => {
  try {
    const row = sql.exec<{ currentHead: number }>(`SELECT currentHead FROM "context_${PERSISTENCE_FORMAT_VERSION}" WHERE storeId = ?`, storeId).toArray()[0]
    return row?.currentHead ?? null
  } catch (error) {
    // No table yet: nothing was ever synced in this Durable Object.
    if (String(error).includes('no such table')) return null
    throw error
  }
}
