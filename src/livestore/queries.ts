import { queryDb } from '@livestore/livestore'
import { tables } from './schema.ts'

/** Deleted files, newest delete first; whether each can still be restored depends on the time. */
export const deletedFiles$ = queryDb(tables.files.where({ deletedAt: { op: '!=', value: null } }).orderBy('deletedAt', 'desc'), { label: 'deletedFiles' })
