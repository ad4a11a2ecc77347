import { queryDb } from '@livestore/livestore'
import { tables } from './schema.ts'

/** Deleted files (not their previews, which come back with them), newest delete first; whether each can still be restored depends on the time. */
export const deletedFiles$ = queryDb(tables.files.where({ deletedAt: { op: '!=', value: null }, previewOf: '' }).orderBy('deletedAt', 'desc'), {
  label: 'deletedFiles',
})
