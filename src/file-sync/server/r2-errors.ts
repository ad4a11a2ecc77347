/** The R2 errors the file API answers itself; any other is a 500. */

export const R2_ERROR = {
  /** Our own 500: what Miniflare answers for an upload id it never issued for the key (R2 says NoSuchUpload). */
  internalError: 10001,
  /** All parts but the last must be at least 5 MiB. */
  entityTooSmall: 10011,
  noSuchUpload: 10024,
  /** A part's number or etag is not among the uploaded parts. */
  invalidPart: 10025,
  /** The bytes' SHA-256 differs from the one passed to `put`. */
  badDigest: 10037,
  /** The parts do not all have the same size but the last (or the last is larger). */
  badUpload: 10048,
} as const

/** `R2Error.code` where the runtime sets it; else the code R2 ends its message with: "…does not exist. (10024)". */
export const r2ErrorCode = (error: unknown): number | undefined => {
  if (!(error instanceof Error)) return undefined
  const { code } = error as Partial<R2Error>
  if (typeof code === 'number') return code
  const fromMessage = /\((\d{5,6})\)\s*$/.exec(error.message)?.[1]
  return fromMessage === undefined ? undefined : Number(fromMessage)
}
