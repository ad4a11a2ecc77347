import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, fetchInPage, fileItem, fileUrl, imageIsDisplayed, pngFile, removeFromOpfs, sha256 } from './helpers.ts'

test('the service worker serves files from OPFS and falls back to the server', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const photo = pngFile('photo.png', { width: 16, height: 12 })
  await addFiles(a.page, [photo])
  const item = fileItem(a.page, photo.name)
  await expectFileState(item, { local: 'present', remote: 'uploaded' })
  await expect.poll(() => imageIsDisplayed(item)).toBe(true)

  const url = fileUrl(storeId, photo)
  const local = await fetchInPage(a.page, url)
  expect(local).toMatchObject({ status: 200, source: 'local', contentType: 'image/png' })
  expect(local.body.equals(photo.buffer)).toBe(true)

  // The local copy disappears (the browser evicted it, a user cleared it): the same URL
  // still answers, from the server this time.
  await removeFromOpfs(a.page, storeId, sha256(photo.buffer))
  const remote = await fetchInPage(a.page, url)
  expect(remote).toMatchObject({ status: 200, source: 'remote', contentType: 'image/png' })
  expect(remote.body.equals(photo.buffer)).toBe(true)

  // Neither has it: a plain 404.
  const unknown = await fetchInPage(a.page, `/files/${storeId}/${'0'.repeat(64)}?type=image%2Fpng`)
  expect(unknown.status).toBe(404)
  // What does not look like a file URL is not guessed at.
  expect((await fetchInPage(a.page, `/files/${storeId}/not-a-hash`)).status).toBe(404)
})

test('a reload keeps every file, its state and its picture', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const photo = pngFile('kept.png')
  await addFiles(a.page, [photo])
  await expectFileState(fileItem(a.page, photo.name), { local: 'present', remote: 'uploaded' })

  await a.page.reload()
  const item = fileItem(a.page, photo.name)
  await expectFileState(item, { local: 'present', remote: 'uploaded' })
  await expect(a.page.getByTestId('file-item')).toHaveCount(1)
  await expect.poll(() => imageIsDisplayed(item)).toBe(true)
  const served = await fetchInPage(a.page, fileUrl(storeId, photo))
  expect(served.source).toBe('local')
  expect(served.body.equals(photo.buffer)).toBe(true)
})
