import { computed, type ComputedRef, onScopeDispose, type Ref, shallowRef, watch } from 'vue'
import { deletedFiles$, localFileStates$, visibleFiles$, visibleGalleryItems$ } from '../livestore/queries.ts'
import { events, type FileRow, type GalleryItemRow, tables } from '../livestore/schema.ts'
import { delayUntil } from '../services/sync-executor.ts'
import { inGrace, nextGraceEnd } from '../services/sync-plan.ts'
import { type SyncTotals, syncTotals } from '../services/sync-totals.ts'
import { useQuery } from './live-query.ts'
import { useServices } from './services.ts'
import { useTransferProgress } from './transfer-progress.ts'

export interface GalleryEntry {
  item: GalleryItemRow
  file: FileRow
}

/** The app's use of the file services: a gallery whose items are files. */
export const useGallery = (): {
  entries: ComputedRef<GalleryEntry[]>
  add(files: Iterable<File>): Promise<Error[]>
  remove(entry: GalleryEntry): void
  /** Undoes a delete, the file's gallery item with it; throws a FileError when it cannot. */
  restore(fileId: string): void
} => {
  const { fileStorage, store } = useServices()
  const items = useQuery(visibleGalleryItems$)
  const files = useQuery(visibleFiles$)

  const entries = computed(() => {
    const byId = new Map(files.value.map((file) => [file.id, file]))
    return items.value.flatMap((item) => {
      const file = byId.get(item.fileId)
      return file ? [{ item, file }] : []
    })
  })

  /** Saves each file on its own, so one that fails (too large, disk full) does not stop the rest. */
  const add = async (toAdd: Iterable<File>) => {
    const results = await Promise.allSettled(
      [...toAdd].map((file) =>
        fileStorage.saveFile(file, {
          alsoCommit: (fileId) => [events.galleryItemAdded({ id: crypto.randomUUID(), fileId, addedAt: Date.now() })],
        }),
      ),
    )
    return results.flatMap((result) => (result.status === 'rejected' ? [toError(result.reason)] : []))
  }

  const remove = ({ item, file }: GalleryEntry) =>
    fileStorage.deleteFile(file.id, { alsoCommit: [events.galleryItemRemoved({ id: item.id, removedAt: Date.now() })] })

  const restore = (fileId: string) => {
    const removedItems = store.query(tables.galleryItems.where({ fileId, removedAt: { op: '!=', value: null } }))
    fileStorage.restoreFile(fileId, {
      alsoCommit: removedItems.map((item) => events.galleryItemRestored({ id: item.id, restoredAt: Date.now() })),
    })
  }

  return { entries, add, remove, restore }
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

/** What is left to upload and to download on this device, for the whole store. */
export const useSyncTotals = (): ComputedRef<SyncTotals> => {
  const files = useQuery(visibleFiles$)
  const states = useQuery(localFileStates$)
  const progress = useTransferProgress()
  return computed(() => syncTotals(files.value, new Map(states.value.map((row) => [row.id, row.value])), progress.value))
}

const toError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)))
