/** What a store may hold on the server: the file API asks before it stores new content. */

/**
 * What a store may hold, counted where the app keeps it (the built-in Worker: the store's Durable
 * Object). New content is admitted or refused (413) before a byte of it is stored, and counted
 * once stored; removed content is counted out by the sweep and eviction. Two new files of one
 * store admitted at the same moment may pass a limit by one: it is a quota, not a lock.
 */
export interface StoreQuota {
  /** Undefined when a new file of `bytes` fits the store now; else why not, in words. */
  admits(storeId: string, bytes: number): Promise<string | undefined>
  /** Content stored (positive) or removed (negative): its bytes and one file. */
  count(storeId: string, bytes: number, files: number): Promise<void>
}

/** Counts content stored or removed; a count that fails is logged, never the request's failure. */
export const countContent = async (quota: StoreQuota | undefined, storeId: string, bytes: number, files: number): Promise<void> => {
  await quota?.count(storeId, bytes, files).catch((error: unknown) => console.error(JSON.stringify({ route: 'quota', store: storeId, error: String(error) })))
}
