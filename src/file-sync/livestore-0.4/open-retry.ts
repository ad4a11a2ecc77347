/**
 * LiveStore 0.4's web adapter reads the store's database file from OPFS while it opens the
 * store. When another tab of the store writes that file at the same moment (it took over as
 * leader while this tab reloaded), the browser refuses the read with a NotReadableError, and the
 * store does not open. Read again, the file is fine: the page reloads for that, after a wait that
 * doubles each time (the other tab can be writing for a while: CI saw two refusals 0.8 s apart),
 * at most five times in a minute.
 */
const reloadKey = 'file-sync:open-retry'
const maxReloads = 5

const raced = (error: unknown) => /NotReadableError/.test(String(error instanceof Error ? `${error.message} ${String(error.cause)}` : error))

/** This tab's reloads for that so far: how many, since when. */
const reloadsSoFar = (storage: Storage): { count: number; since: number } => {
  try {
    const parsed = JSON.parse(storage.getItem(reloadKey) ?? '') as { count?: unknown; since?: unknown }
    if (typeof parsed.count === 'number' && typeof parsed.since === 'number' && Date.now() - parsed.since < 60_000) {
      return { count: parsed.count, since: parsed.since }
    }
  } catch {
    // none recorded, or not by this version
  }
  return { count: 0, since: Date.now() }
}

/**
 * Call when the store did not open: when it raced another tab's write, a reload is scheduled
 * and its wait (ms) returned; undefined when the error is another, or the reloads are used up.
 */
export const reloadIfOpenRaced = (
  error: unknown,
  { storage = window.sessionStorage, reload = () => window.location.reload() }: { storage?: Storage; reload?: () => void } = {},
): number | undefined => {
  const { count, since } = reloadsSoFar(storage)
  if (!raced(error) || count >= maxReloads) return undefined
  storage.setItem(reloadKey, JSON.stringify({ count: count + 1, since }))
  const waitMs = 250 * 2 ** count
  console.warn(`The local store was being written by another tab while this one opened it: reloading in ${waitMs} ms.`)
  setTimeout(reload, waitMs)
  return waitMs
}

/** Call once the store opened: the count starts again. */
export const storeOpened = (storage: Storage = window.sessionStorage): void => storage.removeItem(reloadKey)
