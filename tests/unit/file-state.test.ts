import { describe, expect, test } from 'vitest'
import { emptyLocalFileState, type LocalFileState } from '../../src/livestore/schema.ts'
import { type FileStatePatch, localView, remoteView, transitions } from '../../src/file-sync/client/file-state.ts'

const hash = 'a'.repeat(64)
const newer = 'b'.repeat(64)
const notUploaded = { contentHash: hash, remoteKey: '' }
const uploaded = { contentHash: hash, remoteKey: `store/${hash}` }

const apply = (state: LocalFileState, ...patches: FileStatePatch[]): LocalFileState => Object.assign({ ...state }, ...patches)

/** A state in which the file shows as `views` (built by the transitions themselves). */
const states = {
  missing: emptyLocalFileState,
  /** A download that failed once and runs again: recorded as 'active' with its error. */
  downloading: apply(emptyLocalFileState, transitions.downloadRetrying('Timed out.', 1)),
  localFailed: apply(emptyLocalFileState, transitions.downloadRetrying('Timed out.', 7), transitions.downloadFailed('No.', 8, hash)),
  present: apply(emptyLocalFileState, transitions.saved(hash)),
  uploading: apply(emptyLocalFileState, transitions.saved(hash), transitions.uploadStarted()),
  remoteFailed: apply(emptyLocalFileState, transitions.saved(hash), transitions.uploadStarted(), transitions.uploadFailed('No.', 1, hash)),
}

describe('the local side', () => {
  test.each<[string, LocalFileState, FileStatePatch, ReturnType<typeof localView>]>([
    ['downloading → downloading, retrying', states.downloading, transitions.downloadRetrying('Timed out.', 2), 'downloading'],
    ['downloading → present', states.downloading, transitions.downloaded(hash), 'present'],
    ['downloading → failed', states.downloading, transitions.downloadFailed('The bytes do not match.', 8, hash), 'failed'],
    ['downloading → missing, cancelled', states.downloading, transitions.downloadCancelled(), 'missing'],
    ['downloading → missing, held by a full disk', states.downloading, transitions.downloadHeld(), 'missing'],
    ['failed → missing, retried', states.localFailed, transitions.retried(states.localFailed), 'missing'],
    ['missing → present, found on disk', states.missing, transitions.downloaded(hash), 'present'],
    ['present → missing, removed', states.present, transitions.localRemoved(), 'missing'],
    ['present → missing, vanished', states.present, transitions.bytesVanished(), 'missing'],
    ['missing → present, saved here', states.missing, transitions.saved(hash), 'present'],
  ])('%s', (_name, from, patch, to) => {
    expect(localView(uploaded, apply(from, patch))).toBe(to)
  })

  test('a failure is about one content: a new version is missing, not failed', () => {
    expect(localView({ contentHash: newer }, states.localFailed)).toBe('missing')
  })

  test('downloading while a download of it runs, with nothing recorded; missing again once it stops', () => {
    expect(localView(uploaded, states.missing, true)).toBe('downloading')
    expect(localView(uploaded, states.missing, false)).toBe('missing')
    // Running or not, what is recorded wins: bytes that are here, a failure for good.
    expect(localView(uploaded, states.present, true)).toBe('present')
    expect(localView(uploaded, states.localFailed, true)).toBe('failed')
  })
})

const parts = { hash, uploadId: 'upload-1', partSize: 5 * 1024 * 1024 }

describe('the remote side', () => {
  test.each<[string, LocalFileState, FileStatePatch, { remoteKey: string }, ReturnType<typeof remoteView>]>([
    ['pending → uploading', states.present, transitions.uploadStarted(), notUploaded, 'uploading'],
    ['uploading → uploading, retrying', states.uploading, transitions.uploadRetrying('Server busy.', 2), notUploaded, 'uploading'],
    ['uploading → uploaded (with v1.FileUploaded)', states.uploading, transitions.uploaded(), uploaded, 'uploaded'],
    ['uploading → failed', states.uploading, transitions.uploadFailed('Too large.', 1, hash), notUploaded, 'failed'],
    ['uploading → pending, cancelled', states.uploading, transitions.uploadCancelled(), notUploaded, 'pending'],
    ['uploading → pending, bytes vanished', states.uploading, transitions.bytesVanished(), notUploaded, 'pending'],
    ['failed → pending, retried', states.remoteFailed, transitions.retried(states.remoteFailed), notUploaded, 'pending'],
    ['pending → uploaded by another device', states.present, {}, uploaded, 'uploaded'],
    ['pending → uploading, in parts', states.present, transitions.partsStarted(parts), notUploaded, 'uploading'],
    ['uploading → uploaded, in parts', apply(states.uploading, transitions.partsStarted(parts)), transitions.uploaded(), uploaded, 'uploaded'],
    ['uploaded → uploaded, parts abandoned', apply(states.present, transitions.partsStarted(parts)), transitions.partsAbandoned(), uploaded, 'uploaded'],
  ])('%s', (_name, from, patch, row, to) => {
    expect(remoteView({ contentHash: hash, ...row }, apply(from, patch))).toBe(to)
  })

  test('uploading while an upload of it runs, with nothing recorded (a file up to 1 MiB)', () => {
    expect(remoteView(notUploaded, states.present, true)).toBe('uploading')
    expect(remoteView(notUploaded, states.present, false)).toBe('pending')
    // What runs for a file whose bytes are not here is a download, not an upload.
    expect(remoteView(notUploaded, states.missing, true)).toBe('pending')
    expect(remoteView(uploaded, states.present, true)).toBe('uploaded')
  })

  test('an upload in parts is remembered until done or abandoned, and through a failure (a retry resumes it)', () => {
    const state = apply(states.present, transitions.partsStarted(parts))
    expect(state.partsUpload).toEqual(parts)
    expect(apply(state, transitions.uploaded()).partsUpload).toBeNull()
    expect(apply(state, transitions.partsAbandoned()).partsUpload).toBeNull()
    expect(apply(state, transitions.uploadFailed('x', 3, hash)).partsUpload).toEqual(state.partsUpload)
  })

  test('uploaded → pending when the file gets new content (v1.FileUpdated)', () => {
    const edited = apply(states.present, transitions.uploaded(), transitions.saved(newer))
    expect(remoteView({ contentHash: newer, remoteKey: '' }, edited)).toBe('pending')
    expect(localView({ contentHash: newer }, edited)).toBe('present')
  })

  test('retried clears only what failed', () => {
    const both = apply(states.remoteFailed, { download: 'failed', downloadAttempts: 8 })
    expect(transitions.retried(both)).toEqual({ upload: 'idle', uploadAttempts: 0, download: 'idle', downloadAttempts: 0, lastError: '', failedHash: '' })
    expect(transitions.retried(states.remoteFailed)).toEqual({ upload: 'idle', uploadAttempts: 0, lastError: '', failedHash: '' })
  })
})
