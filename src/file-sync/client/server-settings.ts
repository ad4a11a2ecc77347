import { defaultMaxFileBytes } from './file-storage.ts'
import { defaultDeleteGraceMs } from './sync-plan.ts'

/** What the server allows, from `GET /api/health` (the defaults match the shipped Worker). */
export interface FileSyncSettings {
  /** How long a deleted file can be restored. */
  deleteGraceMs: number
  /** The largest file the server takes. */
  maxFileBytes: number
  /** The largest body of one request (Cloudflare's cap): a file in one request, or one part of a larger one. */
  maxRequestBytes: number
}

export const defaultSettings: FileSyncSettings = {
  deleteGraceMs: defaultDeleteGraceMs,
  maxFileBytes: defaultMaxFileBytes,
  maxRequestBytes: 100 * 1024 * 1024,
}

const cacheKey = 'file-sync:serverSettings'

/**
 * The server decides how long deleted files stay restorable and how large files may be
 * (`GET /api/health`). Its last answer is kept, so that a start while it is unreachable keeps
 * the same promises; before any answer, the defaults.
 */
export const settingsFromServer = async (baseUrl: string, cache: Storage, { timeoutMs = 3_000 } = {}): Promise<FileSyncSettings> => {
  const valid = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
  const read = (source: Record<string, unknown>, fallback: FileSyncSettings): FileSyncSettings => ({
    deleteGraceMs: valid(source.deleteGraceMs) ? source.deleteGraceMs : fallback.deleteGraceMs,
    maxFileBytes: valid(source.maxFileBytes) ? source.maxFileBytes : fallback.maxFileBytes,
    maxRequestBytes: valid(source.maxRequestBytes) && source.maxRequestBytes > 0 ? source.maxRequestBytes : fallback.maxRequestBytes,
  })
  let cached = defaultSettings
  try {
    cached = read(JSON.parse(cache.getItem(cacheKey) ?? '{}') as Record<string, unknown>, defaultSettings)
  } catch {
    // Not JSON: start from the defaults.
  }
  try {
    const response = await fetch(new URL('/api/health', baseUrl), { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) })
    const settings = read((await response.json()) as Record<string, unknown>, cached)
    cache.setItem(cacheKey, JSON.stringify(settings))
    return settings
  } catch {
    return cached // unreachable, or not JSON
  }
}
