/** What the file API's routes work with: its environment, its storage and its quota (./files.ts builds it for each request). */
import type { AuthEnv } from './auth.ts'
import type { LimitsEnv } from './limits.ts'
import type { GraceEnv } from './pending-deletion.ts'
import type { StoreQuota } from './quota.ts'
import type { FileStorage } from './storage/types.ts'

export type FilesEnv = AuthEnv &
  LimitsEnv &
  GraceEnv & {
    /** The default storage's bucket; not needed when the options pass a storage. */
    FILES_BUCKET?: R2Bucket
  }

/** What every route of the API works with. */
export interface FileApi {
  env: FilesEnv
  storage: FileStorage
  quota?: StoreQuota
}
