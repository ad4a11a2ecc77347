import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, fetchInPage, fileItem, fileUrl, imageIsDisplayed, pngFile, textFile } from './helpers.ts'

test('a file added offline is kept and shown, and uploads by itself once back online', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const status = a.page.getByTestId('sync-status')
  await expect(status).toHaveAttribute('data-online', 'true')

  await a.context.setOffline(true)
  await expect(status).toHaveAttribute('data-online', 'false')
  const photo = pngFile('offline.png')
  await addFiles(a.page, [photo])
  const item = fileItem(a.page, photo.name)
  await expectFileState(item, { local: 'present', remote: 'pending' })
  await expect(item).toContainText('uploads when back online')
  await expect.poll(() => imageIsDisplayed(item)).toBe(true)
  await expect(fileItem(b.page, photo.name)).toHaveCount(0)

  await a.context.setOffline(false)
  await expect(status).toHaveAttribute('data-online', 'true')
  await expectFileState(item, { remote: 'uploaded' })
  await expectFileState(fileItem(b.page, photo.name), { local: 'present', remote: 'uploaded' })
  expect((await fetchInPage(b.page, fileUrl(storeId, photo))).body.equals(photo.buffer)).toBe(true)
})

test('with the server down the page keeps working, says so, and syncs when it is back', async ({ openDevice, worker, storeId }) => {
  const a = await openDevice('A')
  const status = a.page.getByTestId('sync-status')
  await expect(status).toHaveAttribute('data-online', 'true')

  await worker.stop()
  await expect(status).toHaveAttribute('data-online', 'false')
  const note = textFile('written while the server was down.txt', 'still here')
  await addFiles(a.page, [note])
  const item = fileItem(a.page, note.name)
  await expectFileState(item, { local: 'present', remote: 'pending' })
  expect((await fetchInPage(a.page, fileUrl(storeId, note))).body.toString()).toBe('still here')

  await worker.restart()
  await expect(status).toHaveAttribute('data-online', 'true')
  await expectFileState(item, { remote: 'uploaded' })

  // A device that opens the store now gets it from the server.
  const b = await openDevice('B')
  await expectFileState(fileItem(b.page, note.name), { local: 'present', remote: 'uploaded' })
})
