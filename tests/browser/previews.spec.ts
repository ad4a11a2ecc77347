import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, fetchInPage, fileItem, fileUrl, pngFile, sha256 } from './helpers.ts'

/** The preview a card shows, once its picture is decoded: its URL and its size on screen. */
const shownPreview = (item: ReturnType<typeof fileItem>) =>
  item
    .locator('img[data-preview]')
    .evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth > 0 ? { src: img.getAttribute('src') ?? '', width: img.naturalWidth } : undefined))
    .catch(() => undefined)

test.describe('previews', () => {
  // Nothing goes wrong by chance: the proxy only holds back what the test says.
  test.use({ chaos: { failRate: 0, dropRate: 0, truncateRate: 0 } })

  test('a large picture added on A shows as a preview on B before B has the file', async ({ openDevice, storeId, chaosProxy }) => {
    const a = await openDevice('A')
    const b = await openDevice('B')
    // 20 MB of noise: a large photo's size, and a picture no encoder can make small at full size.
    const photo = pngFile('big photo.png', { width: 3000, height: 2300, noise: true })
    const hash = sha256(photo.buffer)
    expect(photo.buffer.length).toBeGreaterThan(20_000_000)
    // B's download of the full file (its files worker's, and its service worker's fallback) waits.
    chaosProxy!.hold((method, path) => method === 'GET' && path.endsWith(`/${hash}`))

    // Both devices see each other in the header while it happens.
    for (const device of [a, b]) await expect(device.page.getByTestId('presence')).toHaveAttribute('data-count', '2')

    await addFiles(a.page, [photo])
    const onA = fileItem(a.page, photo.name)
    await expect.poll(() => shownPreview(onA), { timeout: 30_000 }).toMatchObject({ width: 320 })
    await expectFileState(onA, { local: 'present', remote: 'uploaded' }, 60_000)

    // B shows the preview while the full file is still held back.
    const onB = fileItem(b.page, photo.name)
    await expect.poll(() => shownPreview(onB), { timeout: 30_000 }).toMatchObject({ width: 320 })
    await expect(onB).not.toHaveAttribute('data-local-state', 'present')
    const preview = await shownPreview(onB)
    // Shown from the server at first, perhaps; downloaded to B (before the file, which is held).
    await expect.poll(async () => (await fetchInPage(b.page, preview!.src)).source).toBe('local')
    const previewBytes = await fetchInPage(b.page, preview!.src)
    expect(previewBytes.contentType).toBe('image/webp')
    // A small fraction of the file, even for noise (the worst case for an encoder).
    expect(previewBytes.body.length).toBeLessThan(photo.buffer.length / 50)
    console.log(`preview of ${photo.buffer.length} bytes of noise: ${previewBytes.body.length} bytes`)
    // The preview is a file of its own, not one of the person's: each device lists one file.
    await expect(b.page.getByTestId('file-item')).toHaveCount(1)
    await expect(b.page.getByTestId('sync-counts')).toHaveAttribute('data-files', '1')

    // Clicking the preview opens the full file; it arrives once let through.
    await expect(onB.getByTestId('open-file')).toHaveAttribute('href', fileUrl(storeId, photo))
    chaosProxy!.release()
    await expectFileState(onB, { local: 'present', remote: 'uploaded' }, 60_000)
    const full = await fetchInPage(b.page, fileUrl(storeId, photo))
    expect(sha256(full.body)).toBe(hash)
  })
})

test('a file whose preview cannot be made still syncs, and shows its icon', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  // Called a JPEG, and none: the preview maker fails, the file does not.
  const broken = { name: 'not a photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('\xff\xd8\xff\xe0 not a picture at all') }
  const photo = pngFile('small photo.png', { width: 640, height: 480, noise: true })
  await addFiles(a.page, [broken, photo])
  for (const page of [a.page, b.page]) {
    await expectFileState(fileItem(page, broken.name), { local: 'present', remote: 'uploaded' })
    await expect.poll(() => shownPreview(fileItem(page, photo.name)), { timeout: 30_000 }).toMatchObject({ width: 320 })
    await expect(fileItem(page, broken.name).locator('img[data-preview]')).toHaveCount(0)
  }
  const onB = await fetchInPage(b.page, fileUrl(storeId, broken))
  expect(onB.body.equals(broken.buffer)).toBe(true)
})
