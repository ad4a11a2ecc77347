/**
 * What a person picked, noted before the first byte is saved, so that a page closed, reloaded or
 * crashed in the middle of a pick of 1,000 photos can say afterwards which ones it did not save.
 * A file's bytes live only in the page (the picked File) until its save is committed: those are
 * the files a reload loses, and the person must be told, since only they can add them again.
 */
export interface PickedFile {
  /** The id the file gets once saved: its row in the store tells that it was. */
  id: string
  name: string
  size: number
}

export interface PickJournal {
  /**
   * Notes a pick before it is saved; `end()` once every file of it is saved or refused. A pick
   * ended unsaved (its commits not yet on disk) stays noted, for the next page to check.
   */
  begin(files: readonly PickedFile[]): Promise<{ end(outcome: { saved: boolean }): void }>
  /**
   * The files of picks that no page is saving any more and that were not done: their pages went
   * away in the middle. Each such pick is forgotten once read.
   */
  takeUnfinished(): Promise<PickedFile[]>
}

/**
 * In the page: each pick in `localStorage` under a key of its own (shared by the tabs of the
 * origin, and no tab rewrites another's), held by a Web Lock while its page saves it. A pick
 * whose lock nobody holds was left by a page that went away; one still held belongs to a tab
 * that is saving it now.
 */
export const createWebPickJournal = ({ storage, locks, prefix }: { storage: Storage; locks: LockManager; prefix: string }): PickJournal => {
  const forget = (key: string) => {
    try {
      storage.removeItem(key)
    } catch {
      // Nothing to do: the entry stays, and is reported once more.
    }
  }
  return {
    async begin(files) {
      const key = `${prefix}${crypto.randomUUID()}`
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      // Held before the pick is written down: another tab never sees it unheld while this one saves.
      await new Promise<void>((granted) => {
        void locks.request(key, () => {
          granted()
          return released
        })
      })
      try {
        storage.setItem(key, JSON.stringify(files))
      } catch {
        // A full localStorage: the pick is saved all the same, it just cannot be reported if cut.
      }
      return {
        end({ saved }) {
          if (saved) forget(key)
          release()
        },
      }
    },

    async takeUnfinished() {
      const held = new Set(((await locks.query()).held ?? []).map((lock) => lock.name))
      const keys = Array.from({ length: storage.length }, (_, index) => storage.key(index)).filter(
        (key): key is string => typeof key === 'string' && key.startsWith(prefix) && !held.has(key),
      )
      return keys.flatMap((key) => {
        const files = parsePick(storage.getItem(key))
        forget(key)
        return files
      })
    },
  }
}

const parsePick = (text: string | null): PickedFile[] => {
  try {
    const files = JSON.parse(text ?? '[]') as unknown
    if (!Array.isArray(files)) return []
    return files.filter(
      (file): file is PickedFile =>
        typeof file === 'object' && file !== null && typeof file.id === 'string' && typeof file.name === 'string' && typeof file.size === 'number',
    )
  } catch {
    return []
  }
}
