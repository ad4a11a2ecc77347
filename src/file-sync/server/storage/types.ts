/**
 * Where the file API keeps bytes: a small interface, so that R2 (./r2.ts, the default) can be
 * swapped for another object store. Anything S3-like fits: keys are flat strings, objects are
 * immutable once written (a write replaces), and large objects go up in parts.
 *
 * Besides the files (`<storeId>/<sha256>`), the API keeps small bookkeeping objects of its own
 * under keys that begin with a dot (`.staging/…`, `.upload-records/…`, `.pending-deletion/…`),
 * which no store id can.
 */

export interface StoredObject {
  key: string
  size: number
  /** When it was written. */
  uploaded: Date
  contentType: string
  customMetadata: Record<string, string>
  /** Changes with every write of the key (even of the same bytes in some stores): what `onlyIfEtag` compares. */
  etag: string
}

export interface StoredObjectBody extends StoredObject {
  /** The object's bytes, or the range asked for. */
  body: ReadableStream<Uint8Array>
}

export interface UploadedPart {
  partNumber: number
  etag: string
}

export type StorageErrorCode =
  /** `put` with `sha256`: the bytes have another SHA-256. Nothing was stored. */
  | 'content-mismatch'
  /** No multipart upload with this id for this key (never started, aborted, completed or expired). */
  | 'no-such-upload'
  /** A part named at the complete was never uploaded, or has another etag. */
  | 'invalid-part'
  /** A part other than the last is smaller than the store's minimum (5 MiB for R2 and S3). */
  | 'part-too-small'
  /** The parts other than the last do not all have the same size, or the last is larger. */
  | 'uneven-parts'

/** A refusal the file API answers with a 4xx; any other error is the storage failing (500). */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'StorageError'
  }
}

export const isStorageError = (error: unknown, code?: StorageErrorCode): error is StorageError =>
  error instanceof StorageError && (code === undefined || error.code === code)

export interface PutOptions {
  /** The bytes' SHA-256 (hex): a store refuses other bytes with StorageError 'content-mismatch'. */
  sha256?: string
  contentType?: string
  customMetadata?: Record<string, string>
  /** Write only if the object still has this etag; `put` answers null when it has not (or is gone). */
  onlyIfEtag?: string
}

export interface FileStorage {
  /**
   * The largest object one `put` takes (R2: 4.995 GiB); none when unset. The file API publishes a
   * larger upload in parts instead (../multipart.ts).
   */
  readonly maxPutBytes?: number
  head(key: string): Promise<StoredObject | null>
  /** The whole object, or `range` of it; null when there is no such object. */
  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<StoredObjectBody | null>
  /**
   * Writes the object whole. A stream body needs its length known to some stores (R2 takes it
   * from the request's Content-Length): the file API passes the request's own body.
   */
  put(key: string, body: ReadableStream<Uint8Array> | Uint8Array | string, options?: PutOptions): Promise<StoredObject | null>
  /** Removes the keys; a key that does not exist is no error. */
  delete(keys: string | string[]): Promise<void>
  /**
   * Objects whose key begins with `prefix`, in key order, a page at a time (`cursor` for the next
   * page, if any); `startAfter` begins after that key.
   */
  list(prefix: string, options?: { cursor?: string; limit?: number; startAfter?: string }): Promise<{ objects: StoredObject[]; cursor?: string }>

  createMultipartUpload(key: string, options: { contentType: string; customMetadata: Record<string, string> }): Promise<{ uploadId: string }>
  uploadPart(key: string, uploadId: string, partNumber: number, body: ReadableStream<Uint8Array> | Uint8Array): Promise<UploadedPart>
  /** Joins the parts into the object `key` (with the upload's type and metadata). */
  completeMultipartUpload(key: string, uploadId: string, parts: UploadedPart[]): Promise<StoredObject>
  /** Drops the upload and its parts; an unknown upload is no error. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>
}
