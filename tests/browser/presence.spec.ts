import { expect, test } from './fixtures.ts'
import { addFiles, fileItem, randomFile } from './helpers.ts'

test('two devices on one store see each other, which device uploads a file, and one leaving', async ({ openDevice }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  for (const device of [a, b]) {
    const presence = device.page.getByTestId('presence')
    await expect(presence).toHaveAttribute('data-count', '2')
    // Each page lists itself as "you", and the other by its user (the development authorize's "dev") and device.
    await expect(presence.getByTestId('presence-peer')).toHaveCount(2)
    await expect(presence.locator('[data-you]')).toHaveText(/^dev · Chrome on Linux · [0-9a-f]{4} \(you\)$/)
  }
  const labelOfA = `Chrome on Linux · ${await a.page.evaluate(() => localStorage.getItem('file-sync:device-suffix'))}`
  await expect(b.page.getByTestId('presence-peer').filter({ hasNotText: '(you)' })).toHaveText(`dev · ${labelOfA}`)

  // A's upload is held at the server's door: B's card says which device uploads it.
  let release = () => {}
  const held = new Promise<void>((resolve) => (release = resolve))
  await a.page.route('**/api/files/**', async (route) => {
    if (route.request().method() === 'PUT') await held
    await route.continue()
  })
  const file = randomFile('held.bin', 64 * 1024)
  await addFiles(a.page, [file])
  const uploadingFrom = fileItem(b.page, file.name).getByTestId('uploading-from')
  await expect(uploadingFrom).toHaveAttribute('data-uploading-device', labelOfA)
  await expect(uploadingFrom).toHaveText(`uploading from ${labelOfA}`)
  // A's own card shows its upload as its own, not as another page's.
  await expect(fileItem(a.page, file.name).getByTestId('uploading-from')).toHaveCount(0)
  release()
  await expect(fileItem(b.page, file.name)).toHaveAttribute('data-remote-state', 'uploaded')
  await expect(uploadingFrom).toHaveCount(0)

  // A closes its page: B is alone.
  await a.page.close()
  await expect(b.page.getByTestId('presence')).toHaveAttribute('data-count', '1')
  await expect(b.page.getByTestId('presence-peer')).toHaveCount(1)
})
