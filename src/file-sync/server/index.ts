/**
 * The Worker's side of file sync, for an app's own Worker entry: the file API (`handleFileRequest`),
 * tokens, other origins, the operator's API, delayed deletion, limits, the store's quota, and presence (who
 * has the store open: docs/presence.md). See docs/worker.md ("Mounting the file API").
 */
export { type AdminEnv, handleAdminRequest } from './admin.ts'
export * from './auth.ts'
export { type CorsEnv, withCors } from './cors.ts'
export { type FileRequestOptions, type FilesEnv, handleFileRequest, storageOf } from './files.ts'
export { errorResponse, json, methodNotAllowed } from './http.ts'
export { maintenanceBatch, maxFileBytes, maxRequestBytes, rateLimited, storeLimits } from './limits.ts'
export {
  createPresenceDurableObject,
  defaultProfiles,
  handlePresenceRequest,
  heartbeatTimeoutMs,
  type Peer,
  type PresenceEnv,
  type Profile,
  type Profiles,
} from './presence.ts'
export { deleteGraceMs, sweepFromLastPosition, sweepPendingDeletions } from './pending-deletion.ts'
export { countContent, type StoreQuota } from './quota.ts'
export { memoryStorage } from './storage/memory.ts'
export { r2Storage } from './storage/r2.ts'
export { readSyncHead } from '../livestore-0.4/sync-head.ts'
export type { FileStorage } from './storage/types.ts'
