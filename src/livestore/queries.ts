import { queryDb, Schema } from '@livestore/livestore'
import { tables } from './schema.ts'

/**
 * The gallery as the page shows it: newest first, removed items gone. A conflict copy's item has
 * its original's time and id followed by more (see schema.ts), so it comes right after it.
 * Two columns only: the page holds the order of every item, and reads a file's row only when
 * its card is on screen (file-index.ts has them).
 *
 * As one JSON text that SQLite builds: this query runs again on every write to the gallery, and
 * 10,000 rows read one by one out of SQLite's WebAssembly and decoded by a schema took 35 ms of
 * the page's main thread each time; one text and `JSON.parse` take a few.
 */
export const visibleGalleryItems$ = queryDb(
  {
    query: `SELECT json_group_array(json_array(id, fileId) ORDER BY addedAt DESC, id ASC) AS items FROM galleryItems WHERE removedAt IS NULL`,
    schema: Schema.Array(Schema.Struct({ items: Schema.String })),
  },
  { label: 'visibleGalleryItems', map: (rows) => parseItems(rows[0]?.items ?? '[]') },
)

/** `[[id, fileId], …]` as SQLite wrote it; anything else is skipped (the ids come from other devices). */
export const parseItems = (json: string): Array<{ id: string; fileId: string }> => {
  const parsed: unknown = JSON.parse(json)
  if (!Array.isArray(parsed)) return []
  const items: Array<{ id: string; fileId: string }> = []
  for (const pair of parsed) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') items.push({ id: pair[0], fileId: pair[1] })
  }
  return items
}

/** Deleted files, newest delete first; whether each can still be restored depends on the time. */
export const deletedFiles$ = queryDb(
  tables.files.where({ deletedAt: { op: '!=', value: null } }).orderBy('deletedAt', 'desc'),
  { label: 'deletedFiles' },
)
