import { buildExample, exampleConfig } from '../../scripts/example.ts'
import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, fetchInPage, fileItem, fileUrl, imageIsDisplayed, opfsHashes, pngFile, randomFile, sha256, textFile } from './helpers.ts'

// The second app (examples/plain/, no framework) with its own copy of src/file-sync/, made
// and type-checked here as a person copying the core would, served against the same Worker.
test.use({ appConfig: exampleConfig })

test.beforeAll(async () => {
  test.setTimeout(180_000)
  await buildExample()
})

test('the example app, built on a copy of the core, syncs files between two devices', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const photo = pngFile('photo.png')
  const data = randomFile('data.bin', 300 * 1024)

  await addFiles(a.page, [photo, data])
  for (const file of [photo, data]) await expectFileState(fileItem(a.page, file.name), { local: 'present', remote: 'uploaded' })

  for (const file of [photo, data]) {
    await expectFileState(fileItem(b.page, file.name), { local: 'present', remote: 'uploaded' })
    // Served by B's service worker from B's own disk, byte for byte.
    const onB = await fetchInPage(b.page, fileUrl(storeId, file))
    expect(onB.source).toBe('local')
    expect(sha256(onB.body)).toBe(sha256(file.buffer))
  }
  await expect.poll(() => imageIsDisplayed(fileItem(b.page, photo.name))).toBe(true)
  // Each file's bytes, and the photo's preview (a file of its own, which this page does not show).
  await expect.poll(async () => (await opfsHashes(b.page, storeId)).length).toBe(3)
  expect(await opfsHashes(b.page, storeId)).toEqual(expect.arrayContaining([sha256(photo.buffer), sha256(data.buffer)]))

  const reply = textFile('reply from B.txt', 'B was here ✓')
  await addFiles(b.page, [reply])
  await expectFileState(fileItem(a.page, reply.name), { local: 'present', remote: 'uploaded' })
  expect((await fetchInPage(a.page, fileUrl(storeId, reply))).body.toString()).toBe('B was here ✓')
  await expect(a.page.getByTestId('file-item')).toHaveCount(3)
  await expect(b.page.getByTestId('file-item')).toHaveCount(3)
})
