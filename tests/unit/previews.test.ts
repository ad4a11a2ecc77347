import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { createFileIndex, type FileIndex } from '../../src/file-sync/client/file-index.ts'
import { PreviewError } from '../../src/file-sync/client/preview.ts'
import { createPreviews, type MakePreview, type Previews } from '../../src/file-sync/client/previews.ts'
import { trackSyncTotals } from '../../src/file-sync/client/sync-totals.ts'
import { previewIdOf } from '../../src/file-sync/schema.ts'
import { type AppStore, emptyLocalFileState, events, tables } from '../../src/livestore/schema.ts'
import { bytesOf, createManualClock, createMemoryFileStorage, type ManualClock, type MemoryFileStorage, sha256Of, textOn } from '../support/fakes.ts'
import { createTestStore, fileRow, localState } from '../support/store.ts'

/**
 * The previews of a store's files (src/file-sync/client/previews.ts), with the picture making
 * faked (the real one runs in Chromium: tests/browser/preview-maker.spec.ts): which files get
 * one, when, and what is committed.
 */
describe('createPreviews', () => {
  let store: AppStore
  let local: MemoryFileStorage
  let index: FileIndex
  let clock: ManualClock
  let previews: Previews | undefined
  /** The files the fake maker was asked for, by name. */
  let asked: string[]

  beforeEach(async () => {
    store = await createTestStore()
    local = createMemoryFileStorage()
    index = createFileIndex({ store })
    clock = createManualClock()
    asked = []
  })
  afterEach(async () => {
    previews?.stop()
    index.close()
    await store.shutdownPromise()
  })

  /** A preview that says what it is of; a file whose content says "broken" cannot have one. */
  const fakeMaker: MakePreview = async (file) => {
    const text = await file.text()
    asked.push(text)
    if (text.includes('broken')) throw new PreviewError('cannot be decoded')
    return new Blob([`preview of ${text}`], { type: 'image/webp' })
  }

  const start = (make: MakePreview = fakeMaker) => {
    previews = createPreviews({ store, index, local, make, backfillDelayMs: 30_000, now: () => 7, setTimer: clock.setTimer })
    previews.start()
    return previews
  }

  /** A file saved on this device: its bytes here, not uploaded. */
  const saved = async (id: string, text: string, mimeType = 'image/png') => {
    const { hash, size } = await local.put(new Blob([bytesOf(text)]))
    store.commit(
      events.fileCreated({ id, name: `${id}.png`, mimeType, size, contentHash: hash, createdAt: 1 }),
      tables.localFilesState.set({ ...emptyLocalFileState, localHash: hash }, id),
    )
    return hash
  }
  const settle = async () => {
    await new Promise((resolve) => setTimeout(resolve, 0))
    await previews?.whenIdle()
    await new Promise((resolve) => setTimeout(resolve, 0))
  }

  test('makes the preview of a picture saved here at once, stores its bytes, and links it', async () => {
    start()
    const hash = await saved('photo', 'a photo')
    await settle()
    const previewHash = await sha256Of(bytesOf('preview of a photo'))
    const previewId = previewIdOf('photo', previewHash)
    expect(fileRow(store, 'photo')).toMatchObject({ contentHash: hash, previewId })
    expect(fileRow(store, previewId)).toMatchObject({ previewOf: 'photo', contentHash: previewHash, mimeType: 'image/webp', deletedAt: null })
    // On this device already, like any file saved here: the sync uploads it.
    expect(localState(store, previewId).localHash).toBe(previewHash)
    expect(await textOn(local, previewHash)).toBe('preview of a photo')
  })

  test('makes none of what is no picture, of a preview, or of a file whose bytes are not here', async () => {
    start()
    await saved('notes', 'some text', 'text/plain')
    store.commit(events.fileCreated({ id: 'elsewhere', name: 'far.png', mimeType: 'image/png', size: 3, contentHash: 'f'.repeat(64), createdAt: 1 }))
    await saved('photo', 'a photo')
    await settle()
    // One preview made, of the photo; its own row got none.
    expect(asked).toEqual(['a photo'])
    expect(fileRow(store, 'notes')?.previewId).toBe('')
    expect(fileRow(store, 'elsewhere')?.previewId).toBe('')
  })

  test('a picture it cannot read is noted on this device and not tried again; the file is untouched', async () => {
    start()
    const hash = await saved('broken', 'broken picture')
    await settle()
    expect(localState(store, 'broken')).toMatchObject({ previewFailedHash: hash, localHash: hash })
    expect(fileRow(store, 'broken')).toMatchObject({ previewId: '', deletedAt: null })
    previews?.stop()
    start()
    await settle()
    expect(asked).toEqual(['broken picture'])
  })

  test('an error that is not the picture’s (a disk that fails) is tried again at the next start', async () => {
    let fail = true
    start(async (file, mimeType) => {
      if (fail) throw new Error('the disk went away')
      return fakeMaker(file, mimeType)
    })
    await saved('photo', 'a photo')
    await settle()
    expect(fileRow(store, 'photo')?.previewId).toBe('')
    expect(localState(store, 'photo').previewFailedHash).toBeUndefined()
    previews?.stop()
    fail = false
    start()
    await settle()
    expect(fileRow(store, 'photo')?.previewId).not.toBe('')
  })

  test('an uploaded file without a preview (from before previews, or another device’s) gets one after the backfill delay', async () => {
    const hash = await saved('old', 'an old photo')
    store.commit(events.fileUploaded({ id: 'old', contentHash: hash, remoteKey: `store/${hash}` }))
    await settle()
    start()
    await settle()
    expect(asked).toEqual([])
    clock.advance(29_000)
    await settle()
    expect(asked).toEqual([])
    clock.advance(1_000)
    await settle()
    expect(asked).toEqual(['an old photo'])
    expect(fileRow(store, 'old')?.previewId).not.toBe('')
  })

  test('an uploaded file whose preview arrives from another device meanwhile is left alone', async () => {
    const hash = await saved('shared', 'a shared photo')
    store.commit(events.fileUploaded({ id: 'shared', contentHash: hash, remoteKey: `store/${hash}` }))
    await settle()
    start()
    const theirs = 'a'.repeat(64)
    store.commit(
      events.filePreviewAdded({
        id: 'shared',
        sourceHash: hash,
        previewId: previewIdOf('shared', theirs),
        mimeType: 'image/webp',
        size: 9,
        contentHash: theirs,
        createdAt: 2,
      }),
    )
    await settle()
    clock.advance(30_000)
    await settle()
    expect(asked).toEqual([])
    expect(fileRow(store, 'shared')?.previewId).toBe(previewIdOf('shared', theirs))
  })

  test('a new version gets a new preview', async () => {
    start()
    await saved('photo', 'first')
    await settle()
    const { hash } = await local.put(new Blob([bytesOf('second')]))
    store.commit(
      events.fileUpdated({
        id: 'photo',
        name: 'photo.png',
        mimeType: 'image/png',
        size: 6,
        contentHash: hash,
        updatedAt: 3,
        previousHash: fileRow(store, 'photo')!.contentHash,
      }),
      tables.localFilesState.set({ localHash: hash }, 'photo'),
    )
    await settle()
    expect(asked).toEqual(['first', 'second'])
    expect(fileRow(store, 'photo')?.previewId).toBe(previewIdOf('photo', await sha256Of(bytesOf('preview of second'))))
  })

  test('records the previews of many files in a few commits, not one each', async () => {
    for (let n = 0; n < 30; n += 1) await saved(`photo-${n}`, `photo number ${n}`)
    await settle()
    const commit = store.commit.bind(store)
    let commitsWithPreviews = 0
    store.commit = ((...args: Parameters<typeof store.commit>) => {
      if (JSON.stringify(args).includes('v1.FilePreviewAdded')) commitsWithPreviews += 1
      return commit(...args)
    }) as typeof store.commit
    start()
    await settle()
    expect(asked).toHaveLength(30)
    expect([...index.files()].filter((file) => file.previewOf === '' && file.previewId !== '')).toHaveLength(30)
    expect(commitsWithPreviews).toBeGreaterThan(0)
    expect(commitsWithPreviews).toBeLessThanOrEqual(3)
  })

  test('previews count in no total: the person has one file', async () => {
    const totals = trackSyncTotals(index)
    start()
    await saved('photo', 'a photo')
    await settle()
    expect(totals.current()).toMatchObject({ files: 1, here: 1, upload: { files: 1 } })
    totals.close()
  })

  test('a change of a preview is told as a change of its file too', async () => {
    start()
    await saved('photo', 'a photo')
    await settle()
    const previewId = fileRow(store, 'photo')!.previewId
    const told: string[][] = []
    index.subscribe((changed) => told.push([...changed]))
    const previewHash = fileRow(store, previewId)!.contentHash
    store.commit(events.fileUploaded({ id: previewId, contentHash: previewHash, remoteKey: `store/${previewHash}` }))
    await settle()
    expect(told.flat()).toEqual(expect.arrayContaining([previewId, 'photo']))
  })
})
