import { queryDb, Schema } from '@livestore/livestore'
import { tables } from './schema.ts'

/**
 * The gallery as the page shows it: newest first, removed items gone. A conflict copy's item has
 * its original's time and id followed by more (see schema.ts), so it comes right after it.
 * Two columns only: the page holds the order of every item, and reads a file's row only when
 * its card is on screen (file-index.ts has them); 10,000 items decode in a few milliseconds.
 */
export const visibleGalleryItems$ = queryDb(
  {
    query: `SELECT id, fileId FROM galleryItems WHERE removedAt IS NULL ORDER BY addedAt DESC, id ASC`,
    schema: Schema.Array(Schema.Struct({ id: Schema.String, fileId: Schema.String })),
  },
  { label: 'visibleGalleryItems' },
)

/** Deleted files, newest delete first; whether each can still be restored depends on the time. */
export const deletedFiles$ = queryDb(
  tables.files.where({ deletedAt: { op: '!=', value: null } }).orderBy('deletedAt', 'desc'),
  { label: 'deletedFiles' },
)
