import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { type AppStore, deviceSyncStateId, events, tables } from '../../src/livestore/schema.ts'
import { FileError, type FileErrorKind } from '../../src/file-sync/client/errors.ts'
import { createFileStorage } from '../../src/file-sync/client/file-storage.ts'
import { createFileSync, type FileSync } from '../../src/file-sync/client/file-sync.ts'
import { recordStartAboveBytes } from '../../src/file-sync/client/file-transfers.ts'
import { createSyncExecutor } from '../../src/file-sync/client/sync-executor.ts'
import { createTransferProgress } from '../../src/file-sync/client/transfer-progress.ts'
import { localView, planFile, remoteView } from '../../src/file-sync/client/sync-plan.ts'
import {
  type Bytes,
  bytesOf,
  createFakeConnectivity,
  createManualClock,
  createMemoryFileStorage,
  createMemoryRemote,
  type MemoryFileStorage,
  type MemoryRemote,
  sha256Of,
  textOn,
} from '../support/fakes.ts'
import { previewIdOf } from '../../src/file-sync/schema.ts'
import { createTestStore, fileRow, localState } from '../support/store.ts'
import { deferred, settle, waitFor } from '../support/wait.ts'

let store: AppStore
let sync: FileSync | undefined

beforeEach(async () => {
  store = await createTestStore()
})

afterEach(async () => {
  sync?.stop()
  sync = undefined
  await store.shutdownPromise()
})

/** How long a deleted file stays restorable in these tests, on the device's manual clock. */
const grace = 60_000

/**
 * One device: its disk, the server, the network, a clock for the grace period of deleted
 * files, and the services built from them.
 */
const device = ({
  online = true,
  maxAttempts = 3,
  partBytes = undefined as number | undefined,
  local = createMemoryFileStorage(),
  remote = createMemoryRemote(),
} = {}) => {
  const clock = createManualClock()
  const connectivity = createFakeConnectivity(online)
  // Retries in a few milliseconds, so that giving up after maxAttempts happens within a test.
  const executor = createSyncExecutor({ backoff: { initialMs: 1, maxMs: 4 }, maxAttempts })
  const errors: Array<{ kind: FileErrorKind; transfer: string }> = []
  sync = createFileSync({
    store,
    local,
    remote,
    executor,
    connectivity,
    onError: (error, transfer) => errors.push({ kind: error.kind, transfer: transfer.kind }),
    deleteGraceMs: grace,
    now: clock.now,
    setTimer: clock.setTimer,
    ...(partBytes === undefined ? {} : { partBytes }),
  })
  const storage = createFileStorage({ store, local, deleteGraceMs: grace, now: clock.now })
  return { local, remote, connectivity, executor, errors, storage, sync, clock }
}

/** Starts a device's sync, with whatever the test put on its disk and in the store before. */
const started = async (options?: Parameters<typeof device>[0]) => {
  const it = device(options)
  await it.sync.start()
  return it
}

/** Records a file the way another device would: its row arrives, its bytes are on the server once uploaded. */
const fromAnotherDevice = async (remote: MemoryRemote, { id, text, uploaded = true }: { id: string; text: string; uploaded?: boolean }) => {
  const bytes = bytesOf(text)
  const hash = await sha256Of(bytes)
  store.commit(events.fileCreated({ id, name: `${id}.txt`, mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, createdAt: 1 }))
  if (uploaded) await uploadedElsewhere(remote, id, bytes)
  return hash
}

const uploadedElsewhere = async (remote: MemoryRemote, id: string, bytes: Bytes) => {
  const hash = await remote.seed(bytes, 'text/plain')
  store.commit(events.fileUploaded({ id, contentHash: hash, remoteKey: remote.keyOf(hash) }))
}

const views = (fileId: string) => {
  const file = fileRow(store, fileId)
  if (!file) throw new Error(`No file ${fileId}`)
  const state = localState(store, fileId)
  return { local: localView(file, state), remote: remoteView(file, state) }
}

const isUploaded = (fileId: string) => (fileRow(store, fileId)?.remoteKey ?? '') !== ''

describe('upload', () => {
  test('uploads a saved file exactly once and records its remote key', async () => {
    const { remote, storage } = await started()
    const id = await storage.saveFile(new File(['hello'], 'hello.txt', { type: 'text/plain' }))
    const hash = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    expect(fileRow(store, id)?.remoteKey).toBe(remote.keyOf(hash))
    expect(new TextDecoder().decode(remote.objects.get(hash)?.bytes)).toBe('hello')
    expect(remote.objects.get(hash)?.mimeType).toBe('text/plain')
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
    expect(localState(store, id)).toMatchObject({ upload: 'idle', uploadAttempts: 0, lastError: '' })
    await settle()
    expect(remote.calls.upload).toBe(1)
  })

  test('uploads nothing while offline, and by itself once back online', async () => {
    const { remote, storage, connectivity, executor } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['offline work']))
    await waitFor(() => executor.size === 1)
    await settle()
    expect(remote.calls.upload).toBe(0)
    expect(views(id)).toEqual({ local: 'present', remote: 'pending' })
    connectivity.setOnline(true)
    await waitFor(() => isUploaded(id))
    expect(remote.calls.upload).toBe(1)
  })

  test('retries a failure the server may get over, and asks connectivity to check on a network failure', async () => {
    const { remote, storage, connectivity } = await started()
    remote.fail('upload', new FileError('network', 'The server could not be reached.'))
    remote.fail('upload', new FileError('server', 'Busy.', { status: 503 }))
    const id = await storage.saveFile(new Blob(['persistent']))
    await waitFor(() => isUploaded(id))
    expect(remote.calls.upload).toBe(3)
    expect(connectivity.checks).toBe(1)
    expect(localState(store, id)).toMatchObject({ upload: 'idle', uploadAttempts: 0, lastError: '' })
  })

  test('shows a permanent failure with its message, once, and retry(fileId) makes it go again', async () => {
    const { remote, storage, errors } = await started()
    remote.fail('upload', new FileError('too-large', 'Files up to 100 MB can be uploaded.', { status: 413 }))
    const id = await storage.saveFile(new Blob(['big']))
    await waitFor(() => localState(store, id).upload === 'failed')
    expect(views(id)).toEqual({ local: 'present', remote: 'failed' })
    expect(localState(store, id)).toMatchObject({ uploadAttempts: 1, lastError: 'Files up to 100 MB can be uploaded.' })
    expect(errors).toEqual([{ kind: 'too-large', transfer: 'upload' }])
    await settle()
    expect(remote.calls.upload).toBe(1)

    sync?.retry(id)
    await waitFor(() => isUploaded(id))
    expect(remote.calls.upload).toBe(2)
    expect(localState(store, id)).toMatchObject({ upload: 'idle', lastError: '' })
  })

  test('gives up after maxAttempts failures the server may get over, and shows them as failed', async () => {
    const { remote, storage, errors } = await started({ maxAttempts: 2 })
    remote.fail('upload', new FileError('server', 'Still busy.', { status: 503 }), 2)
    const id = await storage.saveFile(new Blob(['unlucky']))
    await waitFor(() => localState(store, id).upload === 'failed')
    expect(localState(store, id)).toMatchObject({ uploadAttempts: 2, lastError: 'Still busy.' })
    expect(errors).toEqual([{ kind: 'server', transfer: 'upload' }])
    expect(remote.calls.upload).toBe(2)
  })

  test('uploads the new version of a file updated while its old version was uploading', async () => {
    const { remote, storage } = await started()
    const release = remote.hold('upload')
    const id = await storage.saveFile(new Blob(['version 1']))
    await waitFor(() => remote.calls.upload === 1)
    await storage.updateFile(id, new Blob(['version 2']))
    await waitFor(() => remote.aborted.upload === 1)
    release()
    await waitFor(() => isUploaded(id))
    const newHash = await sha256Of(bytesOf('version 2'))
    expect(fileRow(store, id)).toMatchObject({ contentHash: newHash, remoteKey: remote.keyOf(newHash) })
    expect([...remote.objects.keys()]).toEqual([newHash])
  })

  test('does not upload a file whose bytes vanished from the disk, and stops claiming to have them', async () => {
    const { remote, storage, local, connectivity } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['gone']))
    local.lose(fileRow(store, id)?.contentHash ?? '')
    connectivity.setOnline(true)
    await waitFor(() => localState(store, id).localHash === '')
    await settle()
    expect(remote.calls.upload).toBe(0)
    expect(views(id)).toEqual({ local: 'missing', remote: 'pending' })
  })
})

describe('download', () => {
  test('downloads a file uploaded by another device and marks it present', async () => {
    const { local, remote } = await started()
    const hash = await fromAnotherDevice(remote, { id: 'photo', text: 'from afar' })
    await waitFor(() => views('photo').local === 'present')
    expect(localState(store, 'photo')).toMatchObject({ localHash: hash, download: 'idle', downloadAttempts: 0, lastError: '' })
    expect(await textOn(local, hash)).toBe('from afar')
    await settle()
    expect(remote.calls.download).toBe(1)
    expect(remote.calls.upload).toBe(0)
  })

  test('waits for a file not uploaded yet, and downloads it as soon as it is', async () => {
    const { remote, executor } = await started()
    await fromAnotherDevice(remote, { id: 'photo', text: 'soon', uploaded: false })
    await settle()
    expect(remote.calls.download).toBe(0)
    expect(executor.size).toBe(0)
    expect(views('photo')).toEqual({ local: 'missing', remote: 'pending' })

    await uploadedElsewhere(remote, 'photo', bytesOf('soon'))
    await waitFor(() => views('photo').local === 'present')
  })

  test('never makes bytes that do not match the hash present, and ends failed after its tries', async () => {
    const { local, remote, errors } = await started({ maxAttempts: 3 })
    const claimed: string[] = []
    const unsubscribe = store.subscribe(tables.localFilesState.get('photo'), (state) => claimed.push(state.localHash))
    const hash = await sha256Of(bytesOf('original'))
    remote.objects.set(hash, { bytes: bytesOf('corrupted'), mimeType: 'text/plain' })
    store.commit(
      events.fileCreated({ id: 'photo', name: 'photo.txt', mimeType: 'text/plain', size: 8, contentHash: hash, createdAt: 1 }),
      events.fileUploaded({ id: 'photo', contentHash: hash, remoteKey: remote.keyOf(hash) }),
    )
    await waitFor(() => localState(store, 'photo').download === 'failed')
    unsubscribe()
    expect(claimed.filter((localHash) => localHash !== '')).toEqual([])
    expect(views('photo').local).toBe('failed')
    expect(localState(store, 'photo')).toMatchObject({ localHash: '', downloadAttempts: 3 })
    expect(localState(store, 'photo').lastError).toMatch(/do not match/)
    expect(errors).toEqual([{ kind: 'integrity', transfer: 'download' }])
    expect(remote.calls.download).toBe(3)
    expect(await local.list()).toEqual([])

    remote.objects.set(hash, { bytes: bytesOf('original'), mimeType: 'text/plain' })
    sync?.retry('photo')
    await waitFor(() => views('photo').local === 'present')
    expect(await textOn(local, hash)).toBe('original')
  })

  test('takes the bytes from the disk, without downloading, when another file has the same content', async () => {
    const { remote, storage } = await started()
    const id = await storage.saveFile(new Blob(['shared']))
    await waitFor(() => isUploaded(id))
    await fromAnotherDevice(remote, { id: 'twin', text: 'shared' })
    await waitFor(() => views('twin').local === 'present')
    expect(remote.calls.download).toBe(0)
  })

  // Regression test, for a bug where a transfer cancelled because the plan no longer wants it leaves its 'active' flag behind
  // (onFailure is not called for cancellations), so the file shows as downloading, with nothing
  // running, until the next start() resets it.
  test('does not show a file as downloading once its download was cancelled by a change of content', async () => {
    const { remote, executor } = await started()
    remote.hold('download')
    const previousHash = await fromAnotherDevice(remote, { id: 'photo', text: 'version 1' })
    await waitFor(() => remote.calls.download === 1)
    const bytes = bytesOf('version 2')
    // The other device edits the file; its new bytes are not uploaded yet.
    store.commit(
      events.fileUpdated({
        id: 'photo',
        name: 'photo.txt',
        mimeType: 'text/plain',
        size: bytes.byteLength,
        contentHash: await sha256Of(bytes),
        updatedAt: 2,
        previousHash,
      }),
    )
    await waitFor(() => remote.aborted.download === 1 && executor.size === 0)
    expect(views('photo')).toEqual({ local: 'missing', remote: 'pending' })
  })

  // Regression test, for a bug where `download: 'failed'` is kept per file, not per version, so once a version failed for
  // good the plan never downloads any later version of the file until someone presses retry.
  test('says to every device when the server lost the bytes of an uploaded file, and downloads a new version', async () => {
    const { remote, errors } = await started()
    const previousHash = await fromAnotherDevice(remote, { id: 'photo', text: 'version 1', uploaded: false })
    // Uploaded, but the server lost the bytes (evicted): the download finds none, and the row
    // is not uploaded any more, so that a device that has them uploads them again.
    store.commit(events.fileUploaded({ id: 'photo', contentHash: previousHash, remoteKey: 'lost' }))
    await waitFor(() => remote.calls.download === 1 && fileRow(store, 'photo')?.remoteKey === '')
    expect(views('photo')).toEqual({ local: 'missing', remote: 'pending' })
    expect(errors).toEqual([])
    const bytes = bytesOf('version 2')
    const hash = await sha256Of(bytes)
    store.commit(
      events.fileUpdated({ id: 'photo', name: 'photo.txt', mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, updatedAt: 2, previousHash }),
    )
    await uploadedElsewhere(remote, 'photo', bytes)
    await waitFor(() => views('photo').local === 'present', 500)
  })
})

describe('edits and conflict copies', () => {
  /** Another device's edit of the version `previousHash`, and its upload: the events, for the test to commit. */
  const editElsewhere = async (remote: MemoryRemote, id: string, text: string, previousHash: string) => {
    const bytes = bytesOf(text)
    const hash = await remote.seed(bytes, 'text/plain')
    const edit = [
      events.fileUpdated({ id, name: `${id}.txt`, mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, previousHash, updatedAt: 2 }),
      events.fileUploaded({ id, contentHash: hash, remoteKey: remote.keyOf(hash) }),
    ]
    return { hash, edit }
  }
  const copyOf = (fileId: string, hash: string) => `${fileId}~${hash.slice(0, 16)}`

  test('never replaces a local edit that is not uploaded yet by a download', async () => {
    const { remote, storage, connectivity } = await started()
    const id = await storage.saveFile(new Blob(['version 1']))
    const v1 = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    connectivity.setOnline(false)
    await storage.updateFile(id, new Blob(['version 2']))
    const v2 = fileRow(store, id)?.contentHash ?? ''
    // A late report of the first version's upload (from another device) changes nothing here.
    store.commit(events.fileUploaded({ id, contentHash: v1, remoteKey: remote.keyOf(v1) }))
    await settle()
    expect(views(id)).toEqual({ local: 'present', remote: 'pending' })
    connectivity.setOnline(true)
    await waitFor(() => isUploaded(id))
    expect(localState(store, id).localHash).toBe(v2)
    expect(remote.calls.download).toBe(0)
  })

  test('the device whose edit lost keeps it as a conflict copy, with the bytes it has, and uploads them', async () => {
    const { local, remote, storage, connectivity } = await started()
    const id = await storage.saveFile(new Blob(['original']))
    const original = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    connectivity.setOnline(false)
    await storage.updateFile(id, new Blob(['mine']))
    const mine = fileRow(store, id)?.contentHash ?? ''
    // The other device's edit of the same version comes after this one in LiveStore's order.
    const { hash: theirs, edit } = await editElsewhere(remote, id, 'theirs', original)
    store.commit(...edit)
    const copy = copyOf(id, mine)
    // While still offline: the copy is on this device already, without a transfer.
    await waitFor(() => views(copy).local === 'present')
    expect(remote.calls).toMatchObject({ download: 0, upload: 1 })
    connectivity.setOnline(true)
    await waitFor(() => isUploaded(copy) && views(id).local === 'present')
    expect(fileRow(store, copy)).toMatchObject({ contentHash: mine, remoteKey: remote.keyOf(mine), conflictOf: id })
    expect(new TextDecoder().decode(remote.objects.get(mine)?.bytes)).toBe('mine')
    expect(await textOn(local, theirs)).toBe('theirs')
    expect(localState(store, id).localHash).toBe(theirs)
    await settle()
    expect(remote.calls).toMatchObject({ download: 1, upload: 2 })
  })

  test('the device whose edit won downloads the other version as a copy, and uploads its own', async () => {
    const { local, remote, storage } = await started()
    const id = await storage.saveFile(new Blob(['original']))
    const original = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    const claims: string[] = []
    const unsubscribe = store.subscribe(tables.localFilesState.get(id), (state) => claims.push(state.localHash))
    // This device's edit, rebased after the other device's edit of the same version: LiveStore
    // applies both in one go, the other one first, as one commit does here.
    const { hash: theirs, edit } = await editElsewhere(remote, id, 'theirs', original)
    const bytes = bytesOf('mine')
    const { hash: mine } = await local.put(new Blob([bytes]).stream())
    store.commit(
      ...edit,
      events.fileUpdated({ id, name: 'mine.txt', mimeType: 'text/plain', size: bytes.byteLength, contentHash: mine, previousHash: original, updatedAt: 3 }),
      tables.localFilesState.set({ localHash: mine }, id),
    )
    const copy = copyOf(id, theirs)
    await waitFor(() => isUploaded(id) && views(copy).local === 'present')
    unsubscribe()
    expect(fileRow(store, copy)).toMatchObject({ contentHash: theirs, conflictOf: id })
    expect(await textOn(local, theirs)).toBe('theirs')
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
    // This file never held the other version, not even for a moment.
    expect(claims).not.toContain(theirs)
    expect(remote.calls).toMatchObject({ download: 1, upload: 2 })
  })

  test('a device that edited nothing downloads both versions', async () => {
    const { local, remote } = await started()
    const original = await fromAnotherDevice(remote, { id: 'photo', text: 'original' })
    await waitFor(() => views('photo').local === 'present')
    const { hash: fromA, edit: editA } = await editElsewhere(remote, 'photo', 'from A', original)
    const { hash: fromB, edit: editB } = await editElsewhere(remote, 'photo', 'from B', original)
    store.commit(...editA, ...editB)
    const copy = copyOf('photo', fromA)
    await waitFor(() => views('photo').local === 'present' && views(copy).local === 'present')
    expect(await textOn(local, fromA)).toBe('from A')
    expect(await textOn(local, fromB)).toBe('from B')
    expect(views(copy).remote).toBe('uploaded')
    expect(remote.calls.download).toBe(3)
  })

  test('looks at the disk once for content it only believed was here, and stops claiming it', async () => {
    const { local, remote, storage, executor } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['lost']))
    const hash = fileRow(store, id)?.contentHash ?? ''
    local.lose(hash)
    // A second file with the same content appears: this device seems to have its bytes.
    await fromAnotherDevice(remote, { id: 'twin', text: 'lost', uploaded: false })
    await waitFor(() => localState(store, id).localHash === '')
    await waitFor(() => executor.size === 0)
    await settle()
    expect(views('twin')).toEqual({ local: 'missing', remote: 'pending' })
    expect(views(id)).toEqual({ local: 'missing', remote: 'pending' })
  })
})

describe('priority', () => {
  /** A file sync that downloads one file at a time, and the hashes in the order their downloads began. */
  const syncDownloadingOneAtATime = () => {
    const remote = createMemoryRemote()
    const order: string[] = []
    const download = remote.download.bind(remote)
    remote.download = (hash, options) => {
      order.push(hash)
      return download(hash, options)
    }
    const executor = createSyncExecutor({ concurrency: { download: 1 } })
    const it = createFileSync({ store, local: createMemoryFileStorage(), remote, executor, connectivity: createFakeConnectivity(true) })
    sync = it // stopped after the test
    return { sync: it, remote, order }
  }

  test('downloads the files on screen first', async () => {
    const { sync, remote, order } = syncDownloadingOneAtATime()
    const release = remote.hold('download')
    const first = await fromAnotherDevice(remote, { id: 'first', text: 'one' })
    const second = await fromAnotherDevice(remote, { id: 'second', text: 'two' })
    const third = await fromAnotherDevice(remote, { id: 'third', text: 'three' })
    await sync.start()
    await waitFor(() => remote.calls.download === 1)
    sync.setVisible(['third']) // scrolled down: the third is on screen, the second is not
    release()
    await waitFor(() => ['first', 'second', 'third'].every((id) => views(id).local === 'present'))
    expect(order).toEqual([first, third, second])
  })

  test('downloads previews before any file, on screen or not, without waiting for those that run', async () => {
    const { sync, remote, order } = syncDownloadingOneAtATime()
    const release = remote.hold('download')
    const first = await fromAnotherDevice(remote, { id: 'first', text: 'one' })
    const big = await fromAnotherDevice(remote, { id: 'big', text: 'a large photo' })
    const preview = bytesOf('its preview')
    const previewHash = await remote.seed(preview, 'image/webp')
    const previewId = previewIdOf('big', previewHash)
    store.commit(
      events.filePreviewAdded({
        id: 'big',
        sourceHash: big,
        previewId,
        mimeType: 'image/webp',
        size: preview.byteLength,
        contentHash: previewHash,
        createdAt: 2,
      }),
      events.fileUploaded({ id: previewId, contentHash: previewHash, remoteKey: remote.keyOf(previewHash) }),
    )
    await sync.start()
    // One download at a time, and the first file's holds the one place: the preview starts beside it.
    await waitFor(() => remote.calls.download === 2)
    sync.setVisible(['big'])
    release()
    await waitFor(() => ['first', 'big', previewId].every((id) => views(id).local === 'present'))
    expect(order).toEqual([first, previewHash, big])
  })
})

describe('download progress', () => {
  test('tells the bytes received so far as they arrive, writes none of them to the store, and clears them at the end', async () => {
    const remote = createMemoryRemote()
    const chunks = [bytesOf('aaaa'), bytesOf('bbbb'), bytesOf('cc'), bytesOf('dd')]
    const hash = await remote.seed(new Uint8Array(Buffer.concat(chunks)), 'text/plain')
    const gates = chunks.map(() => deferred())
    const slowRemote: MemoryRemote = {
      ...remote,
      download: async () => {
        let index = 0
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (index === chunks.length) return controller.close()
            await gates[index]!.promise
            controller.enqueue(chunks[index]!)
            index += 1
          },
        })
        return { body, size: 12, from: 0 }
      },
    }
    const progress = createTransferProgress({ everyMs: 0 })
    const told: number[] = []
    progress.subscribe((figures) => told.push(figures.get('movie') ?? 0))
    sync = createFileSync({
      store,
      local: createMemoryFileStorage(),
      remote: slowRemote,
      executor: createSyncExecutor(),
      connectivity: createFakeConnectivity(true),
      progress,
    })
    await sync.start()
    store.commit(
      events.fileCreated({ id: 'movie', name: 'movie.txt', mimeType: 'text/plain', size: 12, contentHash: hash, createdAt: 1 }),
      events.fileUploaded({ id: 'movie', contentHash: hash, remoteKey: remote.keyOf(hash) }),
    )
    // Running, as every tab sees it: a figure in the progress, nothing in the store.
    await waitFor(() => progress.all().has('movie'))
    expect(views('movie').local).toBe('missing')
    const commits = vi.spyOn(store, 'commit')
    gates[0]!.resolve()
    await waitFor(() => progress.get('movie') === 4)
    gates[1]!.resolve()
    await waitFor(() => progress.get('movie') === 8)
    gates[2]!.resolve()
    await waitFor(() => progress.get('movie') === 10)
    // Every write to the store while a transfer runs costs the tab memory until it ends.
    expect(commits).not.toHaveBeenCalled()
    commits.mockRestore()
    gates[3]!.resolve()
    await waitFor(() => views('movie').local === 'present')
    await waitFor(() => told.at(-1) === 0)
    expect(progress.get('movie')).toBe(0)
    expect(told).toEqual(expect.arrayContaining([4, 8, 10]))
  })
})

describe('a full disk', () => {
  /** A device whose disk refuses every write while `full` is set, as OPFS does past the quota. */
  const deviceWithDisk = async () => {
    const memory = createMemoryFileStorage()
    const disk = { full: true }
    const quotaExceeded = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'))
    const local: typeof memory = {
      ...memory,
      put: (body, options) => (disk.full ? quotaExceeded() : memory.put(body, options)),
      receive: (hash, body, options) => (disk.full ? quotaExceeded() : memory.receive(hash, body, options)),
    }
    const remote = createMemoryRemote()
    const clock = createManualClock()
    const executor = createSyncExecutor({ backoff: { initialMs: 1, maxMs: 4 }, maxAttempts: 3 })
    const errors: FileErrorKind[] = []
    sync = createFileSync({
      store,
      local,
      remote,
      executor,
      connectivity: createFakeConnectivity(true),
      heldRetryMs: 60_000,
      setTimer: clock.setTimer,
      onError: (error) => errors.push(error.kind),
    })
    await sync.start()
    return { disk, local, remote, clock, executor, errors, sync }
  }
  const heldReason = () => store.query(tables.deviceSyncState.where({ id: deviceSyncStateId }))[0]?.value.downloadsHeld ?? ''

  test('holds every download and says why on the device, without failing any file', async () => {
    const { remote, executor, errors } = await deviceWithDisk()
    await fromAnotherDevice(remote, { id: 'first', text: 'one' })
    await fromAnotherDevice(remote, { id: 'second', text: 'two' })
    await waitFor(() => heldReason() !== '')
    expect(heldReason()).toMatch(/out of storage space/)
    await settle()
    expect(executor.held.has('download')).toBe(true)
    expect(executor.size).toBe(2) // both wait in the queue, neither gave up
    for (const id of ['first', 'second']) {
      expect(views(id)).toEqual({ local: 'missing', remote: 'uploaded' })
      expect(localState(store, id)).toMatchObject({ download: 'idle', downloadAttempts: 0 })
    }
    expect(errors).toEqual([])
  })

  test('tries again after a while, and again holds while the disk stays full', async () => {
    const { disk, remote, clock, executor } = await deviceWithDisk()
    await fromAnotherDevice(remote, { id: 'photo', text: 'big' })
    await waitFor(() => heldReason() !== '')
    await settle()
    const tries = remote.calls.download
    clock.advance(60_000)
    await waitFor(() => remote.calls.download > tries && executor.held.has('download'))
    expect(heldReason()).not.toBe('')

    disk.full = false
    clock.advance(60_000)
    await waitFor(() => views('photo').local === 'present')
    expect(heldReason()).toBe('')
    expect(executor.held.size).toBe(0)
  })

  test('goes on at once when this device frees space, or when the person asks', async () => {
    const { disk, remote, local } = await deviceWithDisk()
    disk.full = false
    const storage = createFileStorage({ store, local })
    const old = await storage.saveFile(new Blob(['old photo']))
    await waitFor(() => isUploaded(old))
    disk.full = true
    await fromAnotherDevice(remote, { id: 'photo', text: 'new photo' })
    await waitFor(() => heldReason() !== '')
    disk.full = false
    storage.deleteFile(old)
    await waitFor(() => views('photo').local === 'present')
    expect(heldReason()).toBe('')

    disk.full = true
    await fromAnotherDevice(remote, { id: 'other', text: 'other photo' })
    await waitFor(() => heldReason() !== '')
    disk.full = false
    sync?.resumeDownloads()
    await waitFor(() => views('other').local === 'present')
    expect(heldReason()).toBe('')
  })

  test('a hold recorded by an earlier leader is cleared when a new one starts', async () => {
    store.commit(tables.deviceSyncState.set({ downloadsHeld: 'full' }, deviceSyncStateId))
    await deviceWithDisk()
    expect(heldReason()).toBe('')
  })
})

describe('delete', () => {
  test('removes the local copy of an uploaded file at once, and asks the server once to delete its copy, which it keeps for the grace period', async () => {
    const { local, remote, storage, clock } = await started()
    const id = await storage.saveFile(new Blob(['short-lived']))
    const hash = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    storage.deleteFile(id)
    await waitFor(() => localState(store, id).localHash === '' && localState(store, id).remoteRemoved)
    expect(await local.exists(hash)).toBe(false)
    expect(remote.pendingDeletion.has(hash)).toBe(true)
    expect(remote.objects.has(hash)).toBe(true)

    clock.advance(grace)
    await settle()
    expect(remote.calls.remove).toBe(1)
    expect(clock.pending).toBe(0)
  })

  /** A file saved and uploaded, then deleted: once this device dropped its copy and asked the server to delete its own. */
  const uploadedThenDeleted = async (storage: Awaited<ReturnType<typeof started>>['storage'], text: string) => {
    const id = await storage.saveFile(new Blob([text]))
    const hash = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => isUploaded(id))
    storage.deleteFile(id)
    await waitFor(() => localState(store, id).remoteRemoved && localState(store, id).localHash === '')
    return { id, hash }
  }

  test('a file restored in the grace period has the server keep the bytes it was asked to delete, and comes back', async () => {
    const { local, remote, storage } = await started()
    const { id, hash } = await uploadedThenDeleted(storage, 'undo me')
    storage.restoreFile(id)
    await waitFor(() => remote.calls.keep === 1 && views(id).local === 'present')
    await settle()
    expect(remote.pendingDeletion.has(hash)).toBe(false)
    expect(localState(store, id)).toMatchObject({ remoteRemoved: false, keepRemote: false })
    // The sweep after the grace period leaves them.
    remote.sweep()
    expect(remote.objects.has(hash)).toBe(true)
    expect(await textOn(local, hash)).toBe('undo me')
  })

  test('a file restored after the server lost its bytes is uploaded again by a device that still holds them', async () => {
    const { local, remote, storage } = await started()
    const { id, hash } = await uploadedThenDeleted(storage, 'evicted meanwhile')
    // The server's copy is gone (evicted) while the file is restorable; a device that was
    // closed during the delete still has its copy: here, the bytes put back on this disk.
    remote.objects.delete(hash)
    remote.pendingDeletion.clear()
    await local.put(new Blob(['evicted meanwhile']), { expectedHash: hash })
    storage.restoreFile(id)
    await waitFor(() => remote.calls.keep === 1)
    await waitFor(() => remote.objects.has(hash) && isUploaded(id))
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
  })

  test('a file restored after the server lost its bytes waits for a device that holds them, without an error', async () => {
    const { remote, storage, errors } = await started()
    const { id, hash } = await uploadedThenDeleted(storage, 'nobody has me')
    remote.objects.delete(hash)
    storage.restoreFile(id)
    await waitFor(() => remote.calls.keep === 1 && fileRow(store, id)?.remoteKey === '')
    await settle()
    expect(views(id)).toEqual({ local: 'missing', remote: 'pending' })
    expect(errors).toEqual([])
  })

  test('keeps the bytes, here and on the server, that another live file has too', async () => {
    const { local, remote, storage, clock } = await started()
    const first = await storage.saveFile(new Blob(['twins']))
    const second = await storage.saveFile(new Blob(['twins']))
    const hash = fileRow(store, first)?.contentHash ?? ''
    await waitFor(() => isUploaded(first) && isUploaded(second))
    storage.deleteFile(first)
    await waitFor(() => localState(store, first).localHash === '')
    clock.advance(grace)
    await settle()
    expect(await local.exists(hash)).toBe(true)
    expect(views(second)).toEqual({ local: 'present', remote: 'uploaded' })
    expect(remote.calls.remove).toBe(0)
    expect(remote.objects.has(hash)).toBe(true)
  })

  test('aborts the upload of a file deleted while it uploads, keeps the only copy for the grace period, and asks the server for nothing', async () => {
    const { local, remote, storage, executor, clock } = await started()
    const release = remote.hold('upload')
    const id = await storage.saveFile(new Blob(['never mind']))
    const hash = fileRow(store, id)?.contentHash ?? ''
    await waitFor(() => remote.calls.upload === 1)
    storage.deleteFile(id)
    await waitFor(() => remote.aborted.upload === 1)
    release()
    await waitFor(() => executor.size === 0 && localState(store, id).upload === 'idle')
    await settle()
    expect(await local.exists(hash)).toBe(true)
    expect(localState(store, id).localHash).toBe(hash)

    clock.advance(grace)
    await waitFor(() => localState(store, id).localHash === '')
    await settle()
    expect(isUploaded(id)).toBe(false)
    expect(remote.objects.size).toBe(0)
    expect(remote.calls).toMatchObject({ upload: 1, remove: 0 })
    expect(await local.list()).toEqual([])
  })

  // Regression test, for a bug where a removal has no 'failed' state, so when it fails for good the plan still wants it and
  // schedules it again as soon as it settles: a refused DELETE is sent again and again, with no
  // backoff, for as long as the page is open.
  test('does not ask the server again and again to remove a copy it refuses to remove', async () => {
    const { remote, storage, clock } = await started()
    const id = await storage.saveFile(new Blob(['undeletable']))
    await waitFor(() => isUploaded(id))
    remote.fail('remove', new FileError('unauthorized', 'Not allowed.', { status: 403 }), 1_000)
    storage.deleteFile(id)
    clock.advance(grace)
    await waitFor(() => remote.calls.remove >= 1)
    await settle()
    expect(remote.calls.remove).toBe(1)
  })

  test('keeps the bytes of a file saved again, with the same content, while the deleted one is being removed', async () => {
    const { local, storage, clock } = await started({ online: false })
    const first = await storage.saveFile(new Blob(['re-added']))
    const hash = fileRow(store, first)?.contentHash ?? ''
    // The removal of the deleted file's copy is under way (it runs offline too: disk work only)
    // when the same content is saved again.
    const removing = deferred()
    let removeCalled = false
    const remove = local.remove
    local.remove = async (target) => {
      removeCalled = true
      await removing.promise
      await remove(target)
    }
    storage.deleteFile(first)
    clock.advance(grace)
    await waitFor(() => removeCalled)
    const saving = storage.saveFile(new Blob(['re-added']))
    await settle()
    removing.resolve()
    const second = await saving
    await waitFor(() => localState(store, first).localHash === '')
    expect(await local.exists(hash)).toBe(true)
    expect(localState(store, second).localHash).toBe(hash)
  })

  test('keeps the bytes that a deleted file, never uploaded and within its grace period, has too', async () => {
    const { local, remote, storage, clock } = await started({ online: false })
    // The same content twice: once uploaded by another device, then saved again here, so the
    // second file is not uploaded yet (its copy here is the only one this file knows of).
    const other = await storage.saveFile(new Blob(['same bytes']))
    const hash = fileRow(store, other)?.contentHash ?? ''
    store.commit(events.fileUploaded({ id: other, contentHash: hash, remoteKey: remote.keyOf(hash) }))
    const onlyCopy = await storage.saveFile(new Blob(['same bytes']))
    storage.deleteFile(onlyCopy)
    await settle()
    clock.advance(grace / 2)
    // The uploaded one is deleted too: its local copy goes at once, but the bytes stay.
    storage.deleteFile(other)
    await waitFor(() => localState(store, other).localHash === '')
    expect(await local.exists(hash)).toBe(true)
    clock.advance(grace / 2)
    await waitFor(() => localState(store, onlyCopy).localHash === '')
    expect(await local.exists(hash)).toBe(false)
  })

  test('removes the only copy of a deleted file when its grace period ends, offline too, since that needs no server', async () => {
    const { local, storage, clock } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['gone offline']))
    const hash = fileRow(store, id)?.contentHash ?? ''
    storage.deleteFile(id)
    await settle()
    expect(await local.exists(hash)).toBe(true)
    clock.advance(grace)
    await waitFor(() => localState(store, id).localHash === '')
    expect(await local.exists(hash)).toBe(false)
  })
})

describe('the grace period of deleted files', () => {
  test('one timer, for the grace period that ends first, planning again when it does', async () => {
    const { local, storage, clock } = await started({ online: false })
    const first = await storage.saveFile(new Blob(['first']))
    const second = await storage.saveFile(new Blob(['second']))
    storage.deleteFile(first)
    await settle()
    clock.advance(10_000)
    storage.deleteFile(second)
    await settle()
    expect(clock.pending).toBe(1)
    expect(clock.delays.at(-1)).toBe(grace)

    clock.advance(grace - 10_000)
    await waitFor(() => localState(store, first).localHash === '')
    expect(localState(store, second).localHash).not.toBe('')
    expect(clock.pending).toBe(1)
    expect(clock.delays.at(-1)).toBe(10_000)

    clock.advance(10_000)
    await waitFor(() => localState(store, second).localHash === '')
    expect(await local.list()).toEqual([])
    await settle()
    expect(clock.pending).toBe(0)
  })

  test('a restored file keeps no timer, and stop() clears the timer', async () => {
    const { storage, clock, sync: fileSync } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['back']))
    storage.deleteFile(id)
    await settle()
    expect(clock.pending).toBe(1)
    storage.restoreFile(id)
    await settle()
    expect(clock.pending).toBe(0)
    storage.deleteFile(id)
    await settle()
    expect(clock.pending).toBe(1)
    fileSync.stop()
    expect(clock.pending).toBe(0)
  })
})

describe('restore', () => {
  test('never starts the upload of a deleted file, and uploads it once it is restored', async () => {
    const { remote, storage, connectivity } = await started({ online: false })
    const id = await storage.saveFile(new Blob(['kept for an undo']))
    storage.deleteFile(id)
    connectivity.setOnline(true)
    await settle()
    expect(remote.calls.upload).toBe(0)
    storage.restoreFile(id)
    await waitFor(() => isUploaded(id))
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
    expect(remote.calls.upload).toBe(1)
  })

  test('uploads again, from the device that holds the only copy, a file deleted and restored during its upload', async () => {
    const { remote, storage } = await started()
    const release = remote.hold('upload')
    const id = await storage.saveFile(new Blob(['changed my mind']))
    await waitFor(() => remote.calls.upload === 1)
    storage.deleteFile(id)
    await waitFor(() => remote.aborted.upload === 1)
    storage.restoreFile(id)
    await waitFor(() => remote.calls.upload === 2)
    release()
    await waitFor(() => isUploaded(id))
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
  })

  test('downloads again a restored file whose local copy went with the delete, and has the server keep its copy', async () => {
    const { local, remote, storage } = await started()
    const hash = await fromAnotherDevice(remote, { id: 'photo', text: 'back again' })
    await waitFor(() => views('photo').local === 'present')
    storage.deleteFile('photo')
    await waitFor(() => localState(store, 'photo').localHash === '')
    expect(await local.exists(hash)).toBe(false)
    storage.restoreFile('photo')
    await waitFor(() => views('photo').local === 'present')
    expect(await textOn(local, hash)).toBe('back again')
    await settle()
    expect(remote.calls).toMatchObject({ download: 2, remove: 1, keep: 1 })
    expect(remote.pendingDeletion.size).toBe(0)
  })
})

describe('planning', () => {
  test('a change to a few files of a store of thousands plans those files again, and no other', async () => {
    const remote = createMemoryRemote()
    const count = 2_000
    const hashOf = (n: number) => n.toString(16).padStart(64, '0')
    // Files of another device, not uploaded yet: nothing to do for any of them.
    store.commit(
      ...Array.from({ length: count }, (_, n) =>
        events.fileCreated({ id: `f${n}`, name: `f${n}.bin`, mimeType: 'application/octet-stream', size: 10, contentHash: hashOf(n), createdAt: 1 }),
      ),
    )
    const planned: string[] = []
    const { executor } = device({ remote })
    sync?.stop()
    sync = createFileSync({
      store,
      local: createMemoryFileStorage(),
      remote,
      executor,
      connectivity: createFakeConnectivity(true),
      planFile: (file, state, context) => {
        planned.push(file.id)
        return planFile(file, state, context)
      },
    })
    await sync.start()
    await waitFor(() => planned.length === count)
    await waitFor(() => store.syncStatus().pendingCount === 0)
    await settle()
    planned.length = 0
    store.commit(events.fileUploaded({ id: 'f5', contentHash: hashOf(5), remoteKey: remote.keyOf(hashOf(5)) }), events.fileDeleted({ id: 'f6', deletedAt: 2 }))
    await waitFor(() => planned.length >= 2)
    await settle()
    // Two rows changed: two files planned again (the download of f5 then once more, when it ends).
    expect(new Set(planned)).toEqual(new Set(['f5', 'f6']))
    expect(planned.length).toBeLessThanOrEqual(4)
  })
})

describe('start', () => {
  test('forgets a copy the state claims but the disk does not have', async () => {
    const { remote, sync: fileSync } = device()
    const hash = await fromAnotherDevice(remote, { id: 'photo', text: 'claimed', uploaded: false })
    store.commit(tables.localFilesState.set({ localHash: hash }, 'photo'))
    await fileSync.start()
    expect(localState(store, 'photo').localHash).toBe('')
    await settle()
    expect(remote.calls.upload).toBe(0)
  })

  test('resets transfers left active by a previous leader', async () => {
    const { remote, sync: fileSync } = device()
    await fromAnotherDevice(remote, { id: 'photo', text: 'stale', uploaded: false })
    store.commit(tables.localFilesState.set({ upload: 'active', download: 'active' }, 'photo'))
    await fileSync.start()
    expect(localState(store, 'photo')).toMatchObject({ upload: 'idle', download: 'idle' })
  })

  /** Larger than what uploads without recording its start (see recordStartAboveBytes). */
  const recordedUpload = (text: string) => {
    const bytes = new Uint8Array(recordStartAboveBytes + 1).fill(7)
    bytes.set(bytesOf(text))
    return bytes
  }

  test('asks the server before sending again an upload that was interrupted, and sends nothing it already has', async () => {
    const { local, remote, sync: fileSync } = device()
    const bytes = recordedUpload('stored, but the answer was lost')
    const { hash } = await local.put(new Blob([bytes]).stream())
    store.commit(
      events.fileCreated({ id: 'photo', name: 'photo.txt', mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, createdAt: 1 }),
      tables.localFilesState.set({ localHash: hash, upload: 'active' }, 'photo'),
    )
    await remote.seed(bytes, 'text/plain') // the previous leader's upload did arrive
    await fileSync.start()
    await waitFor(() => isUploaded('photo'))
    expect(remote.calls).toMatchObject({ head: 1, upload: 0 })
  })

  test('sends an interrupted upload again when the server does not have it', async () => {
    const { local, remote, sync: fileSync } = device()
    const bytes = recordedUpload('never arrived')
    const { hash } = await local.put(new Blob([bytes]).stream())
    store.commit(
      events.fileCreated({ id: 'photo', name: 'photo.txt', mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, createdAt: 1 }),
      tables.localFilesState.set({ localHash: hash, upload: 'active' }, 'photo'),
    )
    await fileSync.start()
    await waitFor(() => isUploaded('photo'))
    expect(remote.calls).toMatchObject({ head: 1, upload: 1 })
  })

  test('sends a small file again without asking: the server keeps the copy it has, and says so', async () => {
    const { local, remote, sync: fileSync } = device()
    const bytes = bytesOf('small, stored, answer lost')
    const { hash } = await local.put(new Blob([bytes]).stream())
    store.commit(
      events.fileCreated({ id: 'photo', name: 'photo.txt', mimeType: 'text/plain', size: bytes.byteLength, contentHash: hash, createdAt: 1 }),
      tables.localFilesState.set({ localHash: hash }, 'photo'),
    )
    await remote.seed(bytes, 'text/plain')
    const commits = vi.spyOn(store, 'commit')
    await fileSync.start()
    await waitFor(() => isUploaded('photo'))
    expect(remote.calls).toMatchObject({ head: 0, upload: 1 })
    expect(remote.objects.size).toBe(1)
    // One commit for the whole upload: nothing recorded before it, only what it found.
    const names = commits.mock.calls.flatMap((call) => call.map((event) => (event as { name: string }).name))
    expect(names).toEqual([events.fileUploaded.name])
  })

  test('finds the bytes of a file on the disk that the state does not know of, and uploads them', async () => {
    const { local, remote, sync: fileSync } = device()
    const hash = await fromAnotherDevice(remote, { id: 'photo', text: 'on disk', uploaded: false })
    await local.put(new Blob([bytesOf('on disk')]).stream())
    await fileSync.start()
    expect(localState(store, 'photo').localHash).toBe(hash)
    await waitFor(() => isUploaded('photo'))
    expect(remote.calls.download).toBe(0)
  })

  // Regression test, for a bug where `running` is set before reconcile and stays set when it throws, so the rejected start()
  // leaves a sync that follows nothing, and every later start() returns at once doing nothing.
  test('can be started again after a start whose reconcile failed', async () => {
    const { local, remote, storage, sync: fileSync } = device()
    const list = local.list
    local.list = () => Promise.reject(new DOMException('The disk is not readable.', 'NotReadableError'))
    await expect(fileSync.start()).rejects.toThrow('The disk is not readable.')
    local.list = list
    await fileSync.start()
    const id = await storage.saveFile(new Blob(['after a bad start']))
    await waitFor(() => isUploaded(id), 500)
    expect(remote.calls.upload).toBe(1)
  })

  test('does nothing more when started twice', async () => {
    const { remote, storage, sync: fileSync } = await started()
    await fileSync.start()
    const id = await storage.saveFile(new Blob(['once']))
    await waitFor(() => isUploaded(id))
    await settle()
    expect(remote.calls.upload).toBe(1)
  })
})

describe('stop', () => {
  test('aborts what is running and starts nothing new', async () => {
    const { remote, storage, sync: fileSync } = await started()
    const release = remote.hold('upload')
    const id = await storage.saveFile(new Blob(['first']))
    await waitFor(() => remote.calls.upload === 1)
    fileSync.stop()
    await waitFor(() => remote.aborted.upload === 1)
    release()
    await storage.saveFile(new Blob(['second']))
    await settle()
    expect(remote.calls.upload).toBe(1)
    expect(isUploaded(id)).toBe(false)
  })
})

describe('uploads in parts', () => {
  const content = bytesOf('0123456789'.repeat(5)) // 50 bytes: parts of 16, 16, 16 and 2

  /** A server whose part uploads wait, from the `from`-th call on, until cancelled. */
  const stallingPartsFrom = (remote: MemoryRemote, from: number): MemoryRemote => {
    let calls = 0
    return {
      ...remote,
      uploadPart: (hash, uploadId, partNumber, body, options) => {
        calls += 1
        if (calls < from) return remote.uploadPart(hash, uploadId, partNumber, body, options)
        return new Promise((_resolve, reject) =>
          options?.signal?.addEventListener('abort', () => reject(new FileError('aborted', 'The transfer was cancelled.')), { once: true }),
        )
      },
    }
  }

  test('sends a file larger than one part as parts of the file on disk, and records it uploaded', async () => {
    const { local, remote, storage } = await started({ partBytes: 16 })
    const id = await storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => isUploaded(id))
    const hash = fileRow(store, id)?.contentHash ?? ''
    expect(remote.objects.get(hash)?.bytes).toEqual(content)
    expect(remote.calls).toMatchObject({ createUpload: 1, uploadPart: 4, completeUpload: 1, upload: 0 })
    expect(remote.uploads.size).toBe(0)
    expect(localState(store, id)).toMatchObject({ upload: 'idle', partsUpload: null })
    // The record of its parts on disk goes with it.
    expect(local.keptParts.size).toBe(0)
  })

  test('a small file still goes in one request', async () => {
    const { remote, storage } = await started({ partBytes: 16 })
    const id = await storage.saveFile(new File([content.slice(0, 16)], 'small.bin'))
    await waitFor(() => isUploaded(id))
    expect(remote.calls).toMatchObject({ createUpload: 0, upload: 1 })
  })

  /** The parts of `fileId`'s upload that the device recorded on its disk. */
  const keptParts = (local: MemoryFileStorage, fileId: string) => local.keptParts.get(fileRow(store, fileId)?.contentHash ?? '')?.parts ?? []

  test('after a stop in the middle (a reload), sends only the parts the server has confirmed', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    const first = await started({ partBytes: 16, local, remote: stallingPartsFrom(remote, 3) })
    const id = await first.storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => keptParts(local, id).length === 2)
    first.sync.stop()
    const uploadId = localState(store, id).partsUpload?.uploadId ?? ''
    expect(local.keptParts.get(fileRow(store, id)?.contentHash ?? '')?.uploadId).toBe(uploadId)
    expect(keptParts(local, id).map((part) => part.partNumber)).toEqual([1, 2])

    const second = await started({ partBytes: 16, local, remote })
    await waitFor(() => isUploaded(id))
    // Parts 1 and 2 before the stop, 3 and 4 after it: none twice, and the same upload.
    expect(second.remote.calls).toMatchObject({ createUpload: 1, uploadPart: 4, completeUpload: 1 })
    expect(remote.objects.get(fileRow(store, id)?.contentHash ?? '')?.bytes).toEqual(content)
    expect(remote.uploads.has(uploadId)).toBe(false)
  })

  test('records each part on disk once confirmed, and writes nothing to the store while the parts go', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    const { storage } = await started({ partBytes: 16, local, remote: stallingPartsFrom(remote, 4) })
    const id = await storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => localState(store, id).partsUpload !== null)
    const commits = vi.spyOn(store, 'commit')
    await waitFor(() => keptParts(local, id).length === 3)
    // Every write to the store while a transfer runs costs the tab memory until it ends.
    expect(commits).not.toHaveBeenCalled()
    commits.mockRestore()
  })

  test('sends every part again when the record on disk is of another upload', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    const first = await started({ partBytes: 16, local, remote: stallingPartsFrom(remote, 3) })
    const id = await first.storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => keptParts(local, id).length === 2)
    first.sync.stop()
    const hash = fileRow(store, id)?.contentHash ?? ''
    // What a crash between the start of an upload and its first record would leave.
    await local.keepParts(hash, { uploadId: 'an-older-upload', parts: [{ partNumber: 1, etag: 'stale' }] })

    await started({ partBytes: 16, local, remote })
    await waitFor(() => isUploaded(id))
    expect(remote.calls).toMatchObject({ createUpload: 1, uploadPart: 6, completeUpload: 1 })
    expect(remote.objects.get(hash)?.bytes).toEqual(content)
  })

  test('starts anew when the server no longer knows the upload (it expired)', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    const first = await started({ partBytes: 16, local, remote: stallingPartsFrom(remote, 2) })
    const id = await first.storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => keptParts(local, id).length === 1)
    first.sync.stop()
    remote.uploads.clear()

    await started({ partBytes: 16, local, remote })
    await waitFor(() => isUploaded(id))
    expect(remote.calls.createUpload).toBe(2)
    expect(remote.objects.get(fileRow(store, id)?.contentHash ?? '')?.bytes).toEqual(content)
  })

  test('asks the server to drop the parts of a file deleted in the middle of its upload', async () => {
    const remote = createMemoryRemote()
    const { local, storage } = await started({ partBytes: 16, remote: stallingPartsFrom(remote, 2) })
    const id = await storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => keptParts(local, id).length === 1)
    storage.deleteFile(id)
    await waitFor(() => localState(store, id).partsUpload === null)
    await waitFor(() => local.keptParts.size === 0)
    expect(remote.calls.abortUpload).toBe(1)
    expect(remote.uploads.size).toBe(0)
    expect(remote.objects.size).toBe(0)
  })

  test('drops its own parts when another device uploaded the same content first', async () => {
    const remote = createMemoryRemote()
    const { local, storage } = await started({ partBytes: 16, remote: stallingPartsFrom(remote, 2) })
    const id = await storage.saveFile(new File([content], 'big.bin'))
    await waitFor(() => keptParts(local, id).length === 1)
    await uploadedElsewhere(remote, id, content)
    await waitFor(() => localState(store, id).partsUpload === null)
    await waitFor(() => local.keptParts.size === 0)
    expect(remote.uploads.size).toBe(0)
    expect(views(id)).toEqual({ local: 'present', remote: 'uploaded' })
  })
})

describe('resumable downloads', () => {
  test('continues an interrupted download from the bytes on disk, and verifies the whole file', async () => {
    const remote = createMemoryRemote()
    remote.breakNextDownloadAfter(7)
    const { local } = await started({ remote })
    const hash = await fromAnotherDevice(remote, { id: 'doc', text: 'a download that breaks off and goes on' })
    await waitFor(() => views('doc').local === 'present')
    expect(remote.downloadsFrom).toEqual([0, 7])
    expect(await textOn(local, hash)).toBe('a download that breaks off and goes on')
    expect(local.partials.size).toBe(0)
  })

  test('keeps a stopped download for the next start (a reload)', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    remote.breakNextDownloadAfter(4)
    const first = await started({ remote, local, maxAttempts: 1 })
    const hash = await fromAnotherDevice(remote, { id: 'doc', text: 'kept across a reload' })
    await waitFor(() => views('doc').local === 'failed')
    first.sync.stop()
    expect(local.partials.get(hash)?.byteLength).toBe(4)

    first.sync.retry('doc')
    await started({ remote, local })
    await waitFor(() => views('doc').local === 'present')
    expect(remote.downloadsFrom).toEqual([0, 4])
  })

  test('drops the kept part of a download once its file is deleted', async () => {
    const remote = createMemoryRemote()
    const local = createMemoryFileStorage()
    remote.breakNextDownloadAfter(4)
    const first = await started({ remote, local, maxAttempts: 1 })
    const hash = await fromAnotherDevice(remote, { id: 'doc', text: 'deleted before it arrived' })
    await waitFor(() => views('doc').local === 'failed')
    first.sync.stop()
    expect(local.partials.has(hash)).toBe(true)
    store.commit(events.fileDeleted({ id: 'doc', deletedAt: 1 }))
    await started({ remote, local })
    expect(local.partials.has(hash)).toBe(false)
  })
})
