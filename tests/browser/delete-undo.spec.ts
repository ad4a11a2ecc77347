import type { Page } from '@playwright/test'
import { expect, test } from './fixtures.ts'
import {
  addFiles,
  expectFileState,
  expectSyncedEverywhere,
  fileItem,
  opfsHashes,
  pngFile,
  randomFile,
  serverStatus,
  sha256,
  storedUploads,
  textFile,
  throttle,
} from './helpers.ts'

/** The file's entry in a page's "Recently deleted" list. */
const deletedEntry = (page: Page, fileId: string) => page.locator(`[data-testid=deleted-file][data-file-id="${fileId}"]`)

test('undo of a delete brings the file back on both devices, and so does a restore from the other device', async ({ openDevice, storeId, worker }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const photo = pngFile('photo.png')
  const notes = textFile('notes.txt', 'keep me')
  await addFiles(a.page, [photo, notes])
  await expectSyncedEverywhere([a.page, b.page], storeId, [photo, notes])
  const photoId = (await fileItem(a.page, photo.name).getAttribute('data-file-id')) ?? ''
  const undo = a.page.getByTestId('undo-delete')

  // A deletes the photo: it leaves both galleries, both devices drop their copy, the server keeps its own.
  const deleteOnA = async () => {
    await fileItem(a.page, photo.name).getByTestId('delete-file').click()
    for (const page of [a.page, b.page]) {
      await expect(fileItem(page, photo.name)).toHaveCount(0)
      await expect.poll(() => opfsHashes(page, storeId)).toEqual([sha256(notes.buffer)])
      await expect(deletedEntry(page, photoId)).toContainText(photo.name)
    }
    expect(await serverStatus(worker.url, storeId, photo)).toBe(200)
  }

  await deleteOnA()
  await expect(undo).toBeVisible()
  await undo.click()
  await expect(undo).toHaveCount(0)
  // Back on both, byte for byte: each device downloaded it again, since its copy was gone.
  await expectSyncedEverywhere([a.page, b.page], storeId, [photo, notes])
  for (const page of [a.page, b.page]) await expect(page.getByTestId('deleted-file')).toHaveCount(0)

  await deleteOnA()
  await expect(undo).toBeVisible()
  await deletedEntry(b.page, photoId).getByTestId('restore-file').click()
  // Restored elsewhere: A's bar goes as the file comes back, since there is nothing left to undo.
  await expect(fileItem(a.page, photo.name)).toHaveCount(1)
  expect(await undo.count()).toBe(0)
  await expectSyncedEverywhere([a.page, b.page], storeId, [photo, notes])
  for (const page of [a.page, b.page]) await expect(page.getByTestId('deleted-file')).toHaveCount(0)
  // Each content (the photo, its preview, the notes) was uploaded once, restores included.
  expect([...storedUploads(worker.output()).values()]).toEqual([1, 1, 1])
})

test.describe('with a grace period of 10 seconds', () => {
  test.use({ workerVars: { DELETE_GRACE_SECONDS: '10' } })

  test('a file deleted on one device while the other still uploads it is gone everywhere, can be restored within the grace period, and leaves the server in the first sweep after it', async ({
    openDevice,
    storeId,
    worker,
  }) => {
    // A throttled upload, then the whole grace period: both are waits by design.
    test.setTimeout(120_000)
    const a = await openDevice('A')
    const b = await openDevice('B')
    const big = randomFile('deleted mid-upload.bin', 6 * 1024 * 1024)
    const keep = randomFile('kept.bin', 32 * 1024)
    await throttle(a.page, 1024 * 1024) // about six seconds for the big one
    await addFiles(a.page, [big, keep])
    await expectFileState(fileItem(a.page, big.name), { remote: 'uploading' })
    // B sees the big file waiting for A's upload. Once A's upload of the small one is recorded,
    // B deletes the big one: one push at a time (two devices pushing at the same instant trip
    // LiveStore 0.4's sync-cf stall, upstream issue #1394, which this test is not about).
    await expectFileState(fileItem(b.page, keep.name), { remote: 'uploaded' })
    await expectFileState(fileItem(b.page, big.name), { local: 'missing', remote: 'pending' })
    const bigId = (await fileItem(b.page, big.name).getAttribute('data-file-id')) ?? ''
    const bigKey = `${storeId}/${sha256(big.buffer)}`
    const uploadStopped = a.page.waitForEvent('requestfailed', (request) => request.method() === 'PUT' && request.url().endsWith(bigKey))
    await fileItem(b.page, big.name).getByTestId('delete-file').click()

    // Gone on both devices; A's upload stopped, so the server never got the bytes, and A keeps
    // the only copy for the grace period.
    for (const page of [a.page, b.page]) await expect(fileItem(page, big.name)).toHaveCount(0)
    await uploadStopped
    await expectSyncedEverywhere([a.page, b.page], storeId, [keep])
    expect(await opfsHashes(a.page, storeId)).toEqual([sha256(big.buffer), sha256(keep.buffer)].sort())
    expect(await serverStatus(worker.url, storeId, big)).toBe(404)

    // Within the grace period, A (the device with the bytes) restores it from its list: it
    // uploads it again, and B downloads it.
    await deletedEntry(a.page, bigId).getByTestId('restore-file').click()
    await expectSyncedEverywhere([a.page, b.page], storeId, [big, keep])
    expect(storedUploads(worker.output()).get(bigKey)).toBe(1)

    // Deleted again, now that it is uploaded: both local copies go at once, the server keeps
    // its copy through the grace period, then it goes, and the lists forget the file.
    await fileItem(a.page, big.name).getByTestId('delete-file').click()
    for (const page of [a.page, b.page]) {
      await expect(fileItem(page, big.name)).toHaveCount(0)
      await expect.poll(() => opfsHashes(page, storeId)).toEqual([sha256(keep.buffer)])
      await expect(deletedEntry(page, bigId)).toHaveCount(1)
    }
    // The Worker's sweep (its cron trigger, run here by hand) keeps the bytes inside the grace
    // period and removes them in its first run after it.
    await worker.runScheduled()
    expect(await serverStatus(worker.url, storeId, big)).toBe(200)
    await expect
      .poll(
        async () => {
          await worker.runScheduled()
          return serverStatus(worker.url, storeId, big)
        },
        { timeout: 30_000, intervals: [1_000] },
      )
      .toBe(404)
    for (const page of [a.page, b.page]) await expect(deletedEntry(page, bigId)).toHaveCount(0)
    await expectSyncedEverywhere([a.page, b.page], storeId, [keep])
  })
})
