/**
 * Which gallery items changed, told by the schema's materializers as they run: the gallery's
 * order (gallery-order.ts) reads those rows again instead of every item of the store. The same
 * design as the file index's feed (services/file-changes.ts), for the app's own table.
 */
export type GalleryChangeListener = (itemId: string) => void

const listeners = new Set<GalleryChangeListener>()

export const galleryChanges = {
  /** Told to every listener; a materializer calls it for each item it writes. */
  report(itemId: string): void {
    for (const listener of listeners) listener(itemId)
  },
  /** Hears every change from now on, of any store of this JavaScript realm. */
  subscribe(listener: GalleryChangeListener): () => void {
    listeners.add(listener)
    return () => listeners.delete(listener)
  },
}
