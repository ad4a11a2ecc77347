/**
 * Every failure of a file operation is a value with a kind, so that callers decide by kind
 * (retry it, show it, pause on it) and never by parsing messages.
 */
export type FileErrorKind =
  | 'network' // the request never got an answer: offline, connection refused or dropped
  | 'timeout'
  | 'server' // 5xx or 429: the server could not do it now
  | 'unauthorized'
  | 'not-found'
  | 'too-large'
  | 'integrity' // bytes whose SHA-256 is not the expected one
  | 'storage-full' // the device's disk or the origin's quota is full
  | 'busy' // another tab holds the same file open for writing: worth another try soon
  | 'bad-request'
  | 'aborted' // cancelled by us: the file was deleted or the tab is closing

const retryableKinds = new Set<FileErrorKind>(['network', 'timeout', 'server', 'integrity', 'busy'])

export class FileError extends Error {
  readonly kind: FileErrorKind
  readonly status: number | undefined
  /** Seconds the server asked us to wait (Retry-After), when it said so. */
  readonly retryAfterSeconds: number | undefined

  constructor(kind: FileErrorKind, message: string, options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'FileError'
    this.kind = kind
    this.status = options.status
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  get retryable(): boolean {
    return retryableKinds.has(this.kind)
  }
}

/** Turns anything thrown into a FileError, keeping FileErrors as they are. */
export const toFileError = (error: unknown): FileError => {
  if (error instanceof FileError) return error
  if (error instanceof DOMException) {
    if (error.name === 'QuotaExceededError') {
      return new FileError('storage-full', 'This device is out of storage space for files.', { cause: error })
    }
    if (error.name === 'AbortError') return new FileError('aborted', 'The transfer was cancelled.', { cause: error })
    if (error.name === 'TimeoutError') return new FileError('timeout', 'The server took too long to answer.', { cause: error })
  }
  if (error instanceof TypeError) {
    // fetch() rejects with a TypeError when there is no answer at all.
    return new FileError('network', 'The server could not be reached.', { cause: error })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new FileError('bad-request', message, { cause: error })
}
