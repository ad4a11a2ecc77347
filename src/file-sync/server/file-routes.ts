/**
 * The paths of the file API, and the answer that names a stored file.
 *
 *   /api/files/:storeId/:sha256                                   the file
 *   /api/files/:storeId/:sha256/restore                           keep a file pending deletion
 *   /api/files/:storeId/:sha256/uploads                           start a multipart upload
 *   /api/files/:storeId/:sha256/uploads/:uploadId                 complete or abort it
 *   /api/files/:storeId/:sha256/uploads/:uploadId/parts/:number   one part of it
 */
import { isValidStoreId } from '../shared/store-id.ts'
import { json } from './http.ts'

/** A file of a store: R2 key `<storeId>/<sha256>`. */
export type FileKey = { storeId: string; sha256: string; key: string }

export type FileRoute =
  | { kind: 'file'; file: FileKey }
  | { kind: 'restore'; file: FileKey }
  | { kind: 'uploads'; file: FileKey }
  | { kind: 'upload'; file: FileKey; uploadId: string }
  | { kind: 'part'; file: FileKey; uploadId: string; partNumber: number }

export const MAX_PART_NUMBER = 10_000
// R2's upload ids are a few hundred characters; this only bounds what we pass on.
const MAX_UPLOAD_ID_LENGTH = 1024

/**
 * `path` is what follows the API's base path (`/api/files/` in the built-in Worker).
 * Reads the path as the URL parser left it: dot segments (`..`, `%2E%2E`) are
 * already resolved, and an encoded slash (`%2F`) stays encoded, so it never
 * splits a segment. The upload id is the one segment that is decoded (after
 * the split): R2's ids may hold characters a client must encode.
 *
 * Returns the route, or why the path is not one.
 */
export const parseFileRoute = (path: string): FileRoute | string => {
  const [storeId, sha256, ...rest] = path.split('/')
  if (storeId === undefined || sha256 === undefined || !isValidStoreId(storeId) || !/^[0-9a-f]{64}$/.test(sha256)) {
    return 'file path must be <base>/<storeId>/<sha256>: storeId of 1-64 characters [a-zA-Z0-9_-], sha256 as 64 lowercase hex digits'
  }
  const file = { storeId, sha256, key: `${storeId}/${sha256}` }
  if (rest.length === 0) return { kind: 'file', file }
  if (rest.length === 1 && rest[0] === 'restore') return { kind: 'restore', file }
  if (rest[0] !== 'uploads' || (rest.length !== 1 && rest.length !== 2 && !(rest.length === 4 && rest[2] === 'parts'))) {
    return 'path must be <base>/<storeId>/<sha256>, followed by nothing, /restore, /uploads, /uploads/<uploadId> or /uploads/<uploadId>/parts/<partNumber>'
  }
  if (rest.length === 1) return { kind: 'uploads', file }

  const uploadId = decodeSegment(rest[1] ?? '')
  if (uploadId === undefined || uploadId === '' || uploadId.length > MAX_UPLOAD_ID_LENGTH) {
    return `uploadId must be 1-${MAX_UPLOAD_ID_LENGTH} characters, URL-encoded into one path segment`
  }
  if (rest.length === 2) return { kind: 'upload', file, uploadId }

  const partNumber = /^\d{1,5}$/.test(rest[3] ?? '') ? Number(rest[3]) : 0
  if (partNumber < 1 || partNumber > MAX_PART_NUMBER) return `partNumber must be a whole number from 1 to ${MAX_PART_NUMBER}`
  return { kind: 'part', file, uploadId, partNumber }
}

const decodeSegment = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The answer for content that is stored: `{ key, size, created }`. */
export const storedFile = (file: FileKey, size: number, created: boolean, extra: Record<string, unknown> = {}): Response =>
  json({ key: file.key, size, created, ...extra }, created ? 201 : 200)
