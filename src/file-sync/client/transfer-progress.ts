/**
 * How many bytes each running transfer has moved, by file: kept in memory and shared with the
 * store's other tabs, never written to the store. Every LiveStore write made while a large
 * transfer runs costs the tab memory until the transfer ends (measured in a 2 GiB upload: a
 * progress write every 3 s grew the uploading tab by about 260 MB, no write by 20 MB), and a
 * figure that changes several times a second is worth nothing after a reload anyway: the
 * transfer then starts again, or resumes, and says so.
 *
 * The tab that transfers (the file sync's) sets the figures; every tab of the store reads them.
 * A tab that opens asks the others for theirs.
 */
export interface TransferProgress {
  /** Bytes moved so far by the file's running transfer; 0 when none runs. */
  get(fileId: string): number
  all(): ReadonlyMap<string, number>
  /** The files whose transfer runs in this tab (the others' figures come from their tabs). */
  own(): ReadonlySet<string>
  /** From the transferring tab: the transfer of `fileId` has moved `bytes` so far. */
  set(fileId: string, bytes: number): void
  /** From the transferring tab: the transfer of `fileId` ended (done, failed or cancelled). */
  clear(fileId: string): void
  /** Called with all figures when they change, a few times a second at most. */
  subscribe(listener: (progress: ReadonlyMap<string, number>) => void): () => void
  close(): void
}

/** The members of a BroadcastChannel used here. */
export interface ProgressChannel {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  close(): void
}

type ProgressMessage = { ask: true } | { fileId: string; bytes: number | null }

export interface TransferProgressOptions {
  /** Shared by the store's tabs, e.g. `new BroadcastChannel('transfer-progress:<storeId>')`. */
  channel?: ProgressChannel
  /** How often listeners and other tabs hear of a change, at most. */
  everyMs?: number
  setTimer?: (callback: () => void, ms: number) => void
}

export const createTransferProgress = ({
  channel,
  everyMs = 250,
  setTimer = (callback, ms) => void setTimeout(callback, ms),
}: TransferProgressOptions = {}): TransferProgress => {
  const figures = new Map<string, number>()
  /** The figures this tab set itself: the only ones it tells others about. */
  const own = new Set<string>()
  /** Set but not told yet (to listeners, and to other tabs when own). */
  const untold = new Set<string>()
  const listeners = new Set<(progress: ReadonlyMap<string, number>) => void>()
  let timerSet = false

  const tell = () => {
    timerSet = false
    for (const fileId of untold) {
      if (own.has(fileId)) channel?.postMessage({ fileId, bytes: figures.get(fileId) ?? null } satisfies ProgressMessage)
    }
    untold.clear()
    for (const listener of listeners) listener(figures)
  }
  const tellSoon = (fileId: string) => {
    untold.add(fileId)
    if (timerSet) return
    timerSet = true
    setTimer(tell, everyMs)
  }

  const onMessage = (event: MessageEvent<ProgressMessage>) => {
    const message = event.data
    if ('ask' in message) {
      for (const fileId of own) channel?.postMessage({ fileId, bytes: figures.get(fileId) ?? 0 } satisfies ProgressMessage)
      return
    }
    if (message.bytes === null) {
      if (!figures.delete(message.fileId)) return
      for (const listener of listeners) listener(figures)
    } else {
      figures.set(message.fileId, message.bytes)
      tellSoon(message.fileId)
    }
  }
  channel?.addEventListener('message', onMessage)
  channel?.postMessage({ ask: true } satisfies ProgressMessage)

  return {
    get: (fileId) => figures.get(fileId) ?? 0,
    all: () => figures,
    own: () => own,
    set(fileId, bytes) {
      own.add(fileId)
      if (figures.get(fileId) === bytes) return
      figures.set(fileId, bytes)
      tellSoon(fileId)
    },
    clear(fileId) {
      const had = figures.delete(fileId)
      if (!own.delete(fileId)) return
      // At once: a bar that lingers after its transfer ended says something false.
      untold.delete(fileId)
      channel?.postMessage({ fileId, bytes: null } satisfies ProgressMessage)
      if (had) for (const listener of listeners) listener(figures)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      channel?.removeEventListener('message', onMessage)
      channel?.close()
      listeners.clear()
    },
  }
}
