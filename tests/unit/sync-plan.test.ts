import { describe, expect, test } from 'vitest'
import { emptyLocalFileState, type FileRow, type LocalFileState } from '../../src/livestore/schema.ts'
import { inGrace, localView, needsBytes, nextGraceEnd, planTransfers, remoteView, transferKey } from '../../src/file-sync/client/sync-plan.ts'

const hashA = 'a'.repeat(64)
const hashB = 'b'.repeat(64)

const file = (patch: Partial<FileRow> = {}): FileRow => ({
  id: 'f1',
  name: 'photo.jpg',
  mimeType: 'image/jpeg',
  size: 3,
  contentHash: hashA,
  remoteKey: '',
  createdAt: 1,
  updatedAt: 1,
  deletedAt: null,
  conflictOf: '',
  previewId: '',
  previewOf: '',
  ...patch,
})

const state = (patch: Partial<LocalFileState> = {}): LocalFileState => ({ ...emptyLocalFileState, ...patch })

const grace = 1_000
const deleted = { deletedAt: 2 }
/** The last millisecond of the grace period of a file deleted at 2, and the first after it. */
const withinGrace = { now: 2 + grace - 1, deleteGraceMs: grace }
const graceOver = { now: 2 + grace, deleteGraceMs: grace }

const plan = (files: FileRow[], states: Record<string, LocalFileState> = {}, time = withinGrace) => planTransfers(files, new Map(Object.entries(states)), time)

const uploaded = { remoteKey: `store/${hashA}` }
const bytesHere = state({ localHash: hashA })
const removeLocal = { kind: 'removeLocal', fileId: 'f1', hash: hashA }
const removeRemote = { kind: 'removeRemote', fileId: 'f1', hash: hashA }

describe('planTransfers', () => {
  test('file live, bytes here, not uploaded → upload', () => {
    expect(plan([file()], { f1: bytesHere })).toEqual([{ kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 }])
  })

  test('file live, bytes here, uploaded → nothing', () => {
    expect(plan([file(uploaded)], { f1: bytesHere })).toEqual([])
  })

  test('file live, bytes missing, uploaded → download', () => {
    expect(plan([file(uploaded)])).toEqual([{ kind: 'download', fileId: 'f1', hash: hashA, size: 3 }])
  })

  test('file live, bytes missing, not uploaded → nothing: waiting for the device that has them', () => {
    expect(plan([file()])).toEqual([])
  })

  test('file live, bytes missing, same content on this device → use them, uploaded or not, never download', () => {
    // A conflict copy of this device's edit: the original's state has moved on to the new version.
    const original = file({ contentHash: hashB, ...uploaded })
    const copy = file({ id: 'f1~copy', conflictOf: 'f1' })
    const onDevice = new Set([hashA, hashB])
    expect(planTransfers([original, copy], new Map([['f1', state({ localHash: hashB })]]), withinGrace, onDevice)).toEqual([
      { kind: 'useLocal', fileId: 'f1~copy', hash: hashA },
    ])
    expect(planTransfers([file(uploaded)], new Map(), withinGrace, onDevice)).toEqual([{ kind: 'useLocal', fileId: 'f1', hash: hashA }])
  })

  test('file deleted, its content on this device → no use of it', () => {
    expect(planTransfers([file(deleted)], new Map(), withinGrace, new Set([hashA]))).toEqual([])
    expect(planTransfers([file(deleted)], new Map(), graceOver, new Set([hashA]))).toEqual([])
  })

  test('a restored file whose content is on this device under another file uses it', () => {
    expect(planTransfers([file({ ...uploaded, deletedAt: null })], new Map(), graceOver, new Set([hashA]))).toEqual([
      { kind: 'useLocal', fileId: 'f1', hash: hashA },
    ])
  })

  test("file live, only an older version's bytes here, new version uploaded → download of the new version", () => {
    expect(plan([file({ ...uploaded, contentHash: hashB })], { f1: bytesHere })).toEqual([{ kind: 'download', fileId: 'f1', hash: hashB, size: 3 }])
  })

  test('file deleted, uploaded, bytes here → remove the local copy at once, and ask the server to delete its copy (it keeps it for the grace period)', () => {
    expect(plan([file({ ...deleted, ...uploaded })], { f1: bytesHere })).toEqual([removeLocal, removeRemote])
  })

  test('file deleted, uploaded, no bytes here → ask the server to delete its copy, within the grace period or after it', () => {
    expect(plan([file({ ...deleted, ...uploaded })])).toEqual([removeRemote])
    expect(plan([file({ ...deleted, ...uploaded })], {}, graceOver)).toEqual([removeRemote])
    expect(plan([file({ ...deleted, ...uploaded })], { f1: bytesHere }, graceOver)).toEqual([removeLocal, removeRemote])
  })

  test('file deleted, uploaded, already asked the server to delete its copy → nothing', () => {
    expect(plan([file({ ...deleted, ...uploaded })], { f1: state({ remoteRemoved: true }) })).toEqual([])
    expect(plan([file({ ...deleted, ...uploaded })], { f1: state({ remoteRemoved: true }) }, graceOver)).toEqual([])
  })

  test('file deleted, uploaded, content used by a live file → the server is never asked to delete it', () => {
    expect(plan([file({ ...deleted, ...uploaded }), file({ id: 'f2', ...uploaded })], { f2: bytesHere })).toEqual([])
    expect(plan([file({ ...deleted, ...uploaded }), file({ id: 'f2', ...uploaded })], { f2: bytesHere }, graceOver)).toEqual([])
  })

  test('two deleted files with the same content → both ask (the server counts the grace from the last request)', () => {
    const deletedLater = file({ id: 'f2', ...uploaded, deletedAt: 500 })
    expect(plan([file({ ...deleted, ...uploaded }), deletedLater])).toEqual([removeRemote, { kind: 'removeRemote', fileId: 'f2', hash: hashA }])
  })

  test('file restored after this device asked the server to delete it, or restored on this device → ask the server to keep it', () => {
    const keepRemote = { kind: 'keepRemote', fileId: 'f1', hash: hashA }
    expect(plan([file(uploaded)], { f1: state({ remoteRemoved: true, localHash: hashA }) })).toEqual([keepRemote])
    expect(plan([file(uploaded)], { f1: state({ keepRemote: true, localHash: hashA }) })).toEqual([keepRemote])
    // Its bytes went with the delete: they come back too.
    expect(plan([file(uploaded)], { f1: state({ keepRemote: true }) })).toEqual([keepRemote, { kind: 'download', fileId: 'f1', hash: hashA, size: 3 }])
    // Not uploaded (the server never had it): nothing to keep.
    expect(plan([file()], { f1: state({ keepRemote: true, localHash: hashA }) })).toEqual([
      { kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 },
    ])
  })

  test('file deleted, uploaded, bytes here, a live file has the same content → remove the local copy but keep its bytes', () => {
    const twin = file({ id: 'f2' })
    expect(plan([file({ ...deleted, ...uploaded }), twin], { f1: bytesHere, f2: bytesHere })).toEqual([
      removeLocal,
      { kind: 'upload', fileId: 'f2', hash: hashA, mimeType: 'image/jpeg', size: 3 },
    ])
  })

  test('file deleted, never uploaded, bytes here, within the grace period → nothing: no upload, and the only copy stays', () => {
    expect(plan([file(deleted)], { f1: bytesHere })).toEqual([])
    // An upload running when the delete arrived is no longer planned, so file-sync cancels it.
    expect(plan([file(deleted)], { f1: state({ localHash: hashA, upload: 'active' }) })).toEqual([])
  })

  test('file deleted, never uploaded, bytes here, grace period over → remove the local copy, and ask the server nothing', () => {
    expect(plan([file(deleted)], { f1: bytesHere }, graceOver)).toEqual([removeLocal])
  })

  test('file deleted, never uploaded, no bytes here → nothing, before and after the grace period', () => {
    expect(plan([file(deleted)])).toEqual([])
    expect(plan([file(deleted)], {}, graceOver)).toEqual([])
  })

  test('a restored file is a live file again: uploaded where the only copy is, downloaded where it is missing', () => {
    const restored = file({ deletedAt: null })
    expect(plan([restored], { f1: bytesHere }, graceOver)).toEqual([{ kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 }])
    expect(plan([file({ ...uploaded, deletedAt: null })], {}, graceOver)).toEqual([{ kind: 'download', fileId: 'f1', hash: hashA, size: 3 }])
  })

  test('a deleted file whose delete was stamped by a clock ahead of this one is within its grace period', () => {
    // Its only copy stays here (a local copy goes once uploaded, or once the grace is over).
    expect(plan([file({ deletedAt: 5_000 })], { f1: bytesHere }, { now: 1_000, deleteGraceMs: grace })).toEqual([])
  })

  test('an upload that failed for good is not planned again until retried', () => {
    expect(plan([file()], { f1: state({ localHash: hashA, upload: 'failed', failedHash: hashA }) })).toEqual([])
  })

  test('a download that failed for good is not planned again until retried', () => {
    expect(plan([file(uploaded)], { f1: state({ download: 'failed', failedHash: hashA }) })).toEqual([])
  })

  test('a failure of an older version does not hold back the current one', () => {
    const failedBefore = { failedHash: hashB }
    expect(plan([file(uploaded)], { f1: state({ download: 'failed', ...failedBefore }) })).toEqual([{ kind: 'download', fileId: 'f1', hash: hashA, size: 3 }])
    expect(plan([file()], { f1: state({ localHash: hashA, upload: 'failed', ...failedBefore }) })).toEqual([
      { kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 },
    ])
  })

  test('a transfer that is running is still planned, so that it is not cancelled', () => {
    expect(plan([file()], { f1: state({ localHash: hashA, upload: 'active' }) })).toHaveLength(1)
    expect(plan([file(uploaded)], { f1: state({ download: 'active' }) })).toHaveLength(1)
  })
})

describe('the grace period', () => {
  test('inGrace: deleted, and deleted for less than the grace period', () => {
    expect(inGrace(file(deleted), withinGrace)).toBe(true)
    expect(inGrace(file(deleted), graceOver)).toBe(false)
    expect(inGrace(file(), withinGrace)).toBe(false)
  })

  test('nextGraceEnd: the earliest end among the open grace periods, none when all are over', () => {
    const files = [file(), file({ deletedAt: 2 }), file({ deletedAt: 500 }), file({ deletedAt: -5_000 })]
    expect(nextGraceEnd(files, { now: 100, deleteGraceMs: grace })).toBe(2 + grace)
    expect(nextGraceEnd(files, { now: 2 + grace, deleteGraceMs: grace })).toBe(500 + grace)
    expect(nextGraceEnd(files, { now: 500 + grace, deleteGraceMs: grace })).toBeUndefined()
  })

  test('needsBytes: a live file, or a deleted file never uploaded within its grace period', () => {
    expect(needsBytes(file(), graceOver)).toBe(true)
    expect(needsBytes(file(deleted), withinGrace)).toBe(true)
    expect(needsBytes(file(deleted), graceOver)).toBe(false)
    expect(needsBytes(file({ ...deleted, ...uploaded }), withinGrace)).toBe(false)
  })
})

describe('transferKey', () => {
  test('tells transfers apart by kind, file and content', () => {
    const keys = [
      transferKey({ kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 }),
      transferKey({ kind: 'upload', fileId: 'f1', hash: hashB, mimeType: 'image/jpeg', size: 3 }),
      transferKey({ kind: 'upload', fileId: 'f2', hash: hashA, mimeType: 'image/jpeg', size: 3 }),
      transferKey({ kind: 'download', fileId: 'f1', hash: hashA, size: 3 }),
      transferKey({ kind: 'useLocal', fileId: 'f1', hash: hashA }),
      transferKey({ kind: 'removeRemote', fileId: 'f1', hash: hashA }),
    ]
    expect(new Set(keys).size).toBe(keys.length)
    expect(transferKey({ kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'text/plain', size: 3 })).toBe(keys[0])
  })
})

describe('localView', () => {
  test('present when this device holds the current content, whatever failed before', () => {
    expect(localView(file(), state({ localHash: hashA, download: 'failed' }))).toBe('present')
  })

  test('failed, downloading or missing when it does not', () => {
    expect(localView(file(), state({ download: 'failed', failedHash: hashA }))).toBe('failed')
    expect(localView(file(), state({ download: 'failed', failedHash: hashB }))).toBe('missing')
    expect(localView(file(), state({ download: 'active' }))).toBe('downloading')
    expect(localView(file(), state())).toBe('missing')
    expect(localView(file({ contentHash: hashB }), state({ localHash: hashA }))).toBe('missing')
  })
})

describe('remoteView', () => {
  test('uploaded once some device has uploaded the current content, whatever failed here', () => {
    expect(remoteView(file(uploaded), state({ upload: 'failed' }))).toBe('uploaded')
  })

  test('failed, uploading or pending before that', () => {
    expect(remoteView(file(), state({ upload: 'failed', failedHash: hashA }))).toBe('failed')
    expect(remoteView(file(), state({ upload: 'failed', failedHash: hashB }))).toBe('pending')
    expect(remoteView(file(), state({ upload: 'active' }))).toBe('uploading')
    expect(remoteView(file(), state())).toBe('pending')
  })
})

describe('uploads in parts', () => {
  const partsOf = (hash: string) => ({ partsUpload: { hash, uploadId: 'u1', partSize: 5 } })
  const abandon = (hash: string) => ({ kind: 'abandonUpload', fileId: 'f1', hash, uploadId: 'u1' })

  test('an upload in parts of the current content goes on', () => {
    expect(plan([file()], { f1: state({ localHash: hashA, ...partsOf(hashA) }) })).toEqual([
      { kind: 'upload', fileId: 'f1', hash: hashA, mimeType: 'image/jpeg', size: 3 },
    ])
  })

  test('is abandoned once the file is deleted, uploaded elsewhere, or has new content; a new upload waits for that', () => {
    expect(plan([file(deleted)], { f1: state(partsOf(hashA)) })).toEqual([abandon(hashA)])
    expect(plan([file(uploaded)], { f1: state({ localHash: hashA, ...partsOf(hashA) }) })).toEqual([abandon(hashA)])
    expect(plan([file({ contentHash: hashB })], { f1: state({ localHash: hashB, ...partsOf(hashA) }) })).toEqual([abandon(hashA)])
  })
})

describe('a row whose content hash is none (written so by another device)', () => {
  const badHashes = ['', 'A'.repeat(64), `../${'a'.repeat(61)}`, `${'a'.repeat(32)}?type=text/html`, 'a'.repeat(63)]

  test('plans nothing, whatever the row and the state say', () => {
    for (const contentHash of badHashes) {
      for (const row of [file({ contentHash }), file({ contentHash, remoteKey: `store/${contentHash}` }), file({ contentHash, ...deleted })]) {
        for (const time of [withinGrace, graceOver]) {
          expect(plan([row], { f1: state({ localHash: contentHash }) }, time), contentHash).toEqual([])
          expect(plan([row], {}, time), contentHash).toEqual([])
          expect(planTransfers([row], new Map(), time, new Set([contentHash])), contentHash).toEqual([])
        }
      }
    }
  })

  test('still drops an upload in parts this device began for the earlier content', () => {
    const parts = { hash: hashA, uploadId: 'u1', partSize: 5 * 1024 * 1024 }
    expect(plan([file({ contentHash: 'not-a-hash' })], { f1: state({ partsUpload: parts }) })).toEqual([
      { kind: 'abandonUpload', fileId: 'f1', hash: hashA, uploadId: 'u1' },
    ])
  })

  test('shows as damaged on this device', () => {
    for (const contentHash of badHashes) {
      expect(localView(file({ contentHash }), state({ localHash: contentHash })), contentHash).toBe('damaged')
    }
    expect(localView(file(), bytesHere)).toBe('present')
  })
})
