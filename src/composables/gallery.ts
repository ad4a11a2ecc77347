import { computed, type ComputedRef } from 'vue'
import { visibleFiles$, visibleGalleryItems$ } from '../livestore/queries.ts'
import { events, type FileRow, type GalleryItemRow } from '../livestore/schema.ts'
import { useQuery } from './live-query.ts'
import { useServices } from './services.ts'

export interface GalleryEntry {
  item: GalleryItemRow
  file: FileRow
}

/** The app's use of the file services: a gallery whose items are files. */
export const useGallery = (): {
  entries: ComputedRef<GalleryEntry[]>
  add(files: Iterable<File>): Promise<Error[]>
  remove(entry: GalleryEntry): void
} => {
  const { fileStorage } = useServices()
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

  return { entries, add, remove }
}

const toError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)))
