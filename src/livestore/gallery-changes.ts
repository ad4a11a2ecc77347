import { changeFeed } from '../file-sync/schema.ts'

/**
 * Which gallery items changed, by id, told by the schema's materializers as they run: the
 * gallery's order (gallery-order.ts) reads those rows again instead of every item of the store.
 */
export const galleryChanges = changeFeed<string>()
export type GalleryChangeListener = (itemId: string) => void
