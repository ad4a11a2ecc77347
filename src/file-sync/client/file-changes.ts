/**
 * Which files changed, told by the schema's materializers as they run, so that whoever keeps a
 * view of the files (file-index.ts) reads those rows again instead of every row of the store.
 *
 * Why not a LiveStore query: LiveStore 0.4's reactivity is per table. Any write to `files` re-runs
 * every query of that table, and a query of all rows decodes them all: 45 ms for 10,000 files
 * here, and 65 ms for their local states, on every commit. A materializer runs for every event
 * that changes the state of this tab's store (its own commits, other tabs' and devices' events,
 * and, after a rebase rolled events back, the events applied again), so what it reports is
 * every row that can differ.
 *
 * Reporting is a side effect that changes nothing the materializer returns, and costs a set
 * insertion when nobody listens (LiveStore's own worker runs the same materializers). The
 * listeners are told synchronously, inside LiveStore's commit: they note the ids and read the
 * rows later (file-index.ts reads them in a microtask, once the commit is over).
 */
export interface FileChange {
  /** A row of `files` or of the local state, by file id. */
  fileId?: string
  /** Every row with this content (an upload, or a server that lost it). */
  contentHash?: string
}

export type FileChangeListener = (change: FileChange) => void

/**
 * A feed that materializers tell synchronously and views listen to, one per kind of row: the
 * files here; an app can make one for its own rows.
 */
export const changeFeed = <T>() => {
  const listeners = new Set<(change: T) => void>()
  return {
    /** Told to every listener; a materializer calls it for each row it writes. */
    report(change: T): void {
      for (const listener of listeners) listener(change)
    },
    /** Hears every change from now on, of any store of this JavaScript realm. */
    subscribe(listener: (change: T) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export const fileChanges = changeFeed<FileChange>()
