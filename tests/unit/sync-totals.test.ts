import { describe, expect, test } from 'vitest'
import { emptyLocalFileState, type FileRow, type LocalFileState } from '../../src/livestore/schema.ts'
import { syncTotals } from '../../src/file-sync/client/sync-totals.ts'

const hashOf = (letter: string) => letter.repeat(64)
const file = (id: string, patch: Partial<FileRow> = {}): FileRow => ({
  id,
  name: `${id}.bin`,
  mimeType: 'application/octet-stream',
  size: 1_000,
  contentHash: hashOf('a'),
  remoteKey: '',
  createdAt: 1,
  updatedAt: 1,
  deletedAt: null,
  conflictOf: '',
  previewId: '',
  previewOf: '',
  ...patch,
})
const here = (patch: Partial<LocalFileState> = {}): LocalFileState => ({ ...emptyLocalFileState, localHash: hashOf('a'), ...patch })
const uploaded = { remoteKey: `store/${hashOf('a')}` }

describe('syncTotals', () => {
  test('counts files and bytes left in each direction, less what running transfers moved', () => {
    const files = [
      file('waiting-up'),
      file('uploading', { size: 4_000 }),
      file('waiting-down', uploaded),
      file('downloading', { ...uploaded, size: 10_000 }),
      file('synced', uploaded),
    ]
    const states = new Map([
      ['waiting-up', here()],
      ['uploading', here({ upload: 'active' })],
      ['downloading', { ...emptyLocalFileState, download: 'active' as const }],
      ['synced', here()],
    ])
    // The running transfers (those with a figure): what they moved is no longer left to move.
    const moved = new Map([
      ['uploading', 1_500],
      ['downloading', 2_500],
      ['synced', 600],
    ])
    expect(syncTotals(files, states, moved)).toEqual({
      files: 5,
      here: 3,
      onServer: 3,
      upload: { files: 2, bytes: 3_500 },
      download: { files: 2, bytes: 8_500 },
    })
  })

  test('leaves out deleted files, failed transfers, and files waiting for another device', () => {
    const files = [file('deleted', { deletedAt: 5 }), file('failed-up'), file('failed-down', uploaded), file('elsewhere')]
    const states = new Map([
      ['deleted', here()],
      ['failed-up', here({ upload: 'failed', failedHash: hashOf('a') })],
      ['failed-down', { ...emptyLocalFileState, download: 'failed' as const, failedHash: hashOf('a') }],
    ])
    // Counted as files of the store, here or on the server, but left to move in no direction.
    expect(syncTotals(files, states)).toEqual({ files: 3, here: 1, onServer: 1, upload: { files: 0, bytes: 0 }, download: { files: 0, bytes: 0 } })
  })
})
