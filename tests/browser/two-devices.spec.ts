import { expect, test } from './fixtures.ts'
import {
  addFiles,
  expectFileState,
  fetchInPage,
  fileItem,
  fileUrl,
  imageIsDisplayed,
  opfsHashes,
  pngFile,
  previewHash,
  randomFile,
  serverStatus,
  sha256,
  textFile,
} from './helpers.ts'

test('files added on one device arrive byte for byte on the other, both ways', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const photo = pngFile('photo.png')
  const data = randomFile('data.bin', 300 * 1024)

  await addFiles(a.page, [photo, data])
  // Saved and shown on A at once, then uploaded.
  for (const file of [photo, data]) await expectFileState(fileItem(a.page, file.name), { local: 'present', remote: 'uploaded' })

  for (const file of [photo, data]) {
    await expectFileState(fileItem(b.page, file.name), { local: 'present', remote: 'uploaded' })
    const onB = await fetchInPage(b.page, fileUrl(storeId, file))
    expect(onB.source).toBe('local')
    expect(sha256(onB.body)).toBe(sha256(file.buffer))
  }
  // B's first visit shows the picture, served by its service worker.
  await expect.poll(() => imageIsDisplayed(fileItem(b.page, photo.name))).toBe(true)
  // Each file's bytes, and the photo's preview (a file of its own: docs/previews.md).
  await expect.poll(() => previewHash(fileItem(b.page, photo.name))).toMatch(/^[0-9a-f]{64}$/)
  const preview = (await previewHash(fileItem(b.page, photo.name))) ?? ''
  await expect.poll(() => opfsHashes(b.page, storeId)).toEqual([sha256(photo.buffer), sha256(data.buffer), preview].sort())

  const reply = textFile('reply from B.txt', 'B was here ✓')
  await addFiles(b.page, [reply])
  await expectFileState(fileItem(a.page, reply.name), { local: 'present', remote: 'uploaded' })
  const onA = await fetchInPage(a.page, fileUrl(storeId, reply))
  expect(onA.body.toString()).toBe('B was here ✓')
  expect(onA.contentType).toBe('text/plain')

  // Each device shows each file once.
  await expect(a.page.getByTestId('file-item')).toHaveCount(3)
  await expect(b.page.getByTestId('file-item')).toHaveCount(3)
})

// A device hears of a new file before it hears that its upload ended, and the upload of a
// picture often ends first: it is shown as soon as the server has it.
test('a picture shows on the other device once the server has it, before the upload is recorded', async ({ openDevice, storeId, worker }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const photo = pngFile('early.png', { width: 64, height: 64, noise: true })
  // The server has the bytes, but A cannot reach the file API: A never records an upload, so
  // the file stays "waiting for a device that has it" on B.
  const { token } = (await (await fetch(`${worker.url}/api/auth/${storeId}`)).json()) as { token: string }
  const stored = await fetch(`${worker.url}/api/files/${storeId}/${sha256(photo.buffer)}`, {
    method: 'PUT',
    body: new Uint8Array(photo.buffer),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' },
  })
  expect(stored.status).toBe(201)
  await a.page.route('**/api/files/**', (route) => route.abort())

  await addFiles(a.page, [photo])
  const onB = fileItem(b.page, photo.name)
  await expectFileState(onB, { local: 'missing', remote: 'pending' })
  await expect.poll(() => imageIsDisplayed(onB)).toBe(true)
  await expectFileState(onB, { local: 'missing', remote: 'pending' })

  // A picture the server does not have shows nothing (no broken image) until it has it.
  const later = pngFile('later.png', { width: 32, height: 32, noise: true })
  await addFiles(a.page, [later])
  const laterOnB = fileItem(b.page, later.name)
  await expectFileState(laterOnB, { local: 'missing', remote: 'pending' })
  await expect(laterOnB.locator('img')).toHaveCount(0)
  await a.page.unroute('**/api/files/**')
  await expectFileState(laterOnB, { local: 'present', remote: 'uploaded' }, 60_000)
  await expect.poll(() => imageIsDisplayed(laterOnB)).toBe(true)
})

test.describe('with a grace period of 3 seconds for deleted files', () => {
  test.use({ workerVars: { DELETE_GRACE_SECONDS: '3' } })

  test('a delete on one device removes the file and its copies everywhere, the server copy in the first sweep after the grace period', async ({
    openDevice,
    storeId,
    worker,
  }) => {
    const a = await openDevice('A')
    const b = await openDevice('B')
    const keep = textFile('keep.txt', 'keep me')
    const gone = randomFile('gone.bin', 64 * 1024)
    await addFiles(a.page, [keep, gone])
    for (const file of [keep, gone]) await expectFileState(fileItem(b.page, file.name), { local: 'present', remote: 'uploaded' })

    await fileItem(b.page, gone.name).getByTestId('delete-file').click()

    for (const device of [a, b]) {
      await expect(fileItem(device.page, gone.name)).toHaveCount(0)
      await expect(fileItem(device.page, keep.name)).toHaveCount(1)
      await expect.poll(() => opfsHashes(device.page, storeId)).toEqual([sha256(keep.buffer)])
    }
    // The devices asked the server to delete its copy, which it keeps until its sweep (the cron,
    // run here by hand) after the grace period; the kept file's stays.
    await expect.poll(() => worker.output()).toMatch(/"method":"DELETE","status":202/)
    await expect
      .poll(
        async () => {
          await worker.runScheduled()
          return serverStatus(worker.url, storeId, gone)
        },
        { intervals: [1_000] },
      )
      .toBe(404)
    expect(await serverStatus(worker.url, storeId, keep)).toBe(200)
  })
})
