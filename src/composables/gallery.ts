import { computed, type ComputedRef, onScopeDispose, type Ref, shallowRef, watch } from 'vue'
import { createGalleryOrder } from '../livestore/gallery-order.ts'
import { deletedFiles$ } from '../livestore/queries.ts'
import { events, type FileRow, tables } from '../livestore/schema.ts'
import { delayUntil, inGrace, nextGraceEnd, type SyncTotals } from '../file-sync/client/index.ts'
import { useQuery } from './live-query.ts'
import { useServices } from './services.ts'
import { useTransferProgress } from './transfer-progress.ts'

/** A gallery item whose file is live: what a card shows. */
export interface GalleryEntry {
  itemId: string
  fileId: string
}

/**
 * The gallery, newest first: ids only, the rows are read from the index for the cards on screen.
 * Built again only when the items change or a file is deleted or comes back: not on each upload
 * or state change of a file (several per file), which with 10,000 items would walk them all.
 */
export const useGalleryEntries = (): ComputedRef<GalleryEntry[]> => {
  const { index, store } = useServices()
  const order = createGalleryOrder({ store })
  const items = shallowRef(order.items())
  order.subscribe(() => (items.value = order.items()))
  onScopeDispose(() => order.close())
  const liveness = useFileLiveness()
  return computed(() => {
    void liveness.value
    return items.value.flatMap((item) => (index.file(item.fileId)?.deletedAt === null ? [{ itemId: item.id, fileId: item.fileId }] : []))
  })
}

/** A number that changes when a file appears, is deleted, comes back or goes: not on other changes. */
const useFileLiveness = (): Readonly<Ref<number>> => {
  const { index } = useServices()
  const version = shallowRef(0)
  /** Whether each file the index told of was live when it last did. */
  const live = new Map<string, boolean>()
  onScopeDispose(
    index.subscribe((changed) => {
      let moved = false
      for (const fileId of changed) {
        const now = index.file(fileId)?.deletedAt === null
        if (live.get(fileId) !== now) {
          live.set(fileId, now)
          moved = true
        }
      }
      if (moved) version.value += 1
    }),
  )
  return version
}

/** The app's use of the file services: a gallery whose items are files. */
export const useGalleryActions = (): {
  /** Saves the files (a pick), each on its own: one that fails does not stop the rest. */
  add(files: Iterable<File>): Promise<Error[]>
  remove(entry: GalleryEntry): void
  /** Undoes a delete, the file's gallery item with it; throws a FileError when it cannot. */
  restore(fileId: string): void
} => {
  const { fileStorage, store } = useServices()

  const add = async (toAdd: Iterable<File>) => {
    const results = await fileStorage.saveFiles([...toAdd], {
      alsoCommit: (fileId) => [events.galleryItemAdded({ id: crypto.randomUUID(), fileId, addedAt: Date.now() })],
    })
    return results.flatMap((result) => (result.status === 'rejected' ? [toError(result.reason)] : []))
  }

  const remove = ({ itemId, fileId }: GalleryEntry) =>
    fileStorage.deleteFile(fileId, { alsoCommit: [events.galleryItemRemoved({ id: itemId, removedAt: Date.now() })] })

  const restore = (fileId: string) => {
    const removedItems = store.query(tables.galleryItems.where({ fileId, removedAt: { op: '!=', value: null } }))
    fileStorage.restoreFile(fileId, {
      alsoCommit: removedItems.map((item) => events.galleryItemRestored({ id: item.id, restoredAt: Date.now() })),
    })
  }

  return { add, remove, restore }
}

/** Deleted files that can still be restored, newest delete first; each leaves the list when its grace period ends. */
export const useRecentlyDeleted = (): Readonly<Ref<readonly FileRow[]>> => {
  const { deleteGraceMs } = useServices()
  const deleted = useQuery(deletedFiles$)
  const restorable = shallowRef<readonly FileRow[]>([])
  // One timer, for the next grace period that ends; no polling.
  let timer: ReturnType<typeof setTimeout> | undefined
  const refresh = () => {
    clearTimeout(timer)
    const time = { now: Date.now(), deleteGraceMs }
    restorable.value = deleted.value.filter((file) => inGrace(file, time))
    const end = nextGraceEnd(deleted.value, time)
    if (end !== undefined) timer = setTimeout(refresh, delayUntil(end, time.now))
  }
  watch(deleted, refresh, { immediate: true })
  onScopeDispose(() => clearTimeout(timer))
  return restorable
}

/** Where the store's files are on this device, and what is left to move (kept by the index, file by file). */
export const useSyncTotals = (): ComputedRef<SyncTotals> => {
  const { totals } = useServices()
  const changes = shallowRef(0)
  onScopeDispose(totals.subscribe(() => (changes.value += 1)))
  const progress = useTransferProgress()
  return computed(() => {
    void changes.value
    return totals.current(progress.value)
  })
}

const toError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)))
