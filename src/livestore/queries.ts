import { queryDb } from '@livestore/livestore'
import { tables } from './schema.ts'

/**
 * The gallery as the page shows it: newest first, removed items gone. A conflict copy's item has
 * its original's time and id followed by more (see schema.ts), so it comes right after it.
 */
export const visibleGalleryItems$ = queryDb(
  tables.galleryItems.where({ removedAt: null }).orderBy([
    { col: 'addedAt', direction: 'desc' },
    { col: 'id', direction: 'asc' },
  ]),
  { label: 'visibleGalleryItems' },
)

export const visibleFiles$ = queryDb(tables.files.where({ deletedAt: null }), { label: 'visibleFiles' })

/** Deleted files, newest delete first; whether each can still be restored depends on the time. */
export const deletedFiles$ = queryDb(
  tables.files.where({ deletedAt: { op: '!=', value: null } }).orderBy('deletedAt', 'desc'),
  { label: 'deletedFiles' },
)

/** This device's state of every file (one client document each), for totals over the store. */
export const localFileStates$ = queryDb(tables.localFilesState.where({}), { label: 'localFileStates' })
