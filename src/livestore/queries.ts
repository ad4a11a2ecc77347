import { queryDb, Schema } from '@livestore/livestore'
import { tables } from './schema.ts'

/**
 * The gallery as the page shows it: newest first, removed items gone. A conflict copy's item has
 * its original's time and id followed by more (see schema.ts), so it comes right after it.
 * The page keeps this order in memory instead (gallery-order.ts: running this query again on
 * every write to the gallery cost 25 ms with 10,000 items); its tests compare it with this query.
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
