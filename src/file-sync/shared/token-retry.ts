/**
 * Every request to the file API carries a store token that may have expired since it was
 * fetched: when the server refuses it, the request goes once more with a fresh one, and the
 * second answer stands, whatever it is. One rule for the page's requests, the files worker's
 * downloads and the service worker's reads.
 */
export const withFreshToken = async <T>(
  /** One try; `refresh` asks for a new token rather than the one in hand. */
  attempt: (refresh: boolean) => Promise<T>,
  {
    refused,
    discard,
  }: {
    /** Whether the server refused the token (a 401). */
    refused: (outcome: T) => boolean
    /** Frees a refused outcome that will not be used (a response's body). */
    discard?: (outcome: T) => void
  },
): Promise<T> => {
  const first = await attempt(false)
  if (!refused(first)) return first
  discard?.(first)
  return attempt(true)
}
