import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { seedStore } from '../support/seed-store.ts'
import { fileRequests } from '../support/wrangler.ts'
import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, expectSyncedEverywhere, fetchInPage, fileItem, fileUrl, randomFile, sha256 } from './helpers.ts'

test.describe('a server that refuses a file', () => {
  test.use({ workerVars: { MAX_UPLOAD_BYTES: '1000' } })

  test('shows the failure in words with a retry button, and keeps the file here', async ({ openDevice, storeId, worker }) => {
    const a = await openDevice('A')
    const big = randomFile('too big for this server.bin', 2_000)
    await addFiles(a.page, [big])
    const item = fileItem(a.page, big.name)

    await expectFileState(item, { local: 'present', remote: 'failed' })
    await expect(item.getByTestId('file-status')).toContainText('Upload failed')
    await expect(item.getByTestId('file-status')).toContainText('over the upload limit of 1000 bytes')
    // Refused for good: it is not retried behind the user's back…
    const uploadsSoFar = () =>
      worker
        .output()
        .split('\n')
        .filter((line) => line.includes('"method":"PUT"')).length
    await expect.poll(uploadsSoFar).toBe(1)
    await a.page.waitForTimeout(2_000)
    expect(uploadsSoFar()).toBe(1)
    // …and nothing is lost: the bytes are still served from this device.
    expect((await fetchInPage(a.page, fileUrl(storeId, big))).body.equals(big.buffer)).toBe(true)

    // Retry asks the server again.
    await item.getByTestId('retry-file').click()
    await expect.poll(uploadsSoFar).toBe(2)
    await expectFileState(item, { local: 'present', remote: 'failed' })
  })
})

test.describe('a store at what it may hold on the server', () => {
  test.use({ workerVars: { STORE_MAX_FILES: '1' } })

  test('the page says why a new file is not uploaded, offers a retry, and keeps the file here', async ({ openDevice, storeId, worker }) => {
    const a = await openDevice('A')
    const first = randomFile('the first.bin', 1_000)
    await addFiles(a.page, [first])
    await expectFileState(fileItem(a.page, first.name), { local: 'present', remote: 'uploaded' })

    const second = randomFile('one too many.bin', 1_000)
    await addFiles(a.page, [second])
    const item = fileItem(a.page, second.name)
    // Refused for good (413): not retried behind the user's back, said in words, and still here.
    await expectFileState(item, { local: 'present', remote: 'failed' })
    await expect(item.getByTestId('file-status')).toContainText('Upload failed')
    await expect(item.getByTestId('file-status')).toContainText('STORE_MAX_FILES')
    await expect(item.getByTestId('retry-file')).toBeVisible()
    expect((await fetchInPage(a.page, fileUrl(storeId, second))).body.equals(second.buffer)).toBe(true)
    const refusals = fileRequests(worker.output()).filter((request) => request.method === 'PUT' && request.status === 413)
    expect(refusals).toHaveLength(1)
  })
})

test.describe("a user over the file API's rate", () => {
  test.use({ workerRateLimit: 2 })

  test('the page says so on the file, waits as long as the server asks, then uploads it by itself', async ({ openDevice, worker }) => {
    const a = await openDevice('A')
    const files = [1, 2, 3, 4].map((n) => randomFile(`burst ${n}.bin`, 1_000))
    await addFiles(a.page, files)
    // Two requests in 10 s per user and store: some of the four are refused (429, Retry-After 10).
    const statuses = files.map((file) => fileItem(a.page, file.name).getByTestId('file-status'))
    await expect
      .poll(async () => (await Promise.all(statuses.map((status) => status.textContent()))).some((text) => text?.includes('too many requests')))
      .toBe(true)
    for (const file of files) await expectFileState(fileItem(a.page, file.name), { local: 'present', remote: 'uploaded' }, 60_000)
    const refused = fileRequests(worker.output()).filter((request) => request.status === 429)
    expect(refused.length).toBeGreaterThan(0)
    // Each stored once, with no one clicking retry.
    const puts = fileRequests(worker.output()).filter((request) => request.method === 'PUT' && request.status === 201)
    expect(puts).toHaveLength(files.length)
  })
})

test('the built page carries no secret, and the service worker no token in its URL', async ({ openDevice }) => {
  const dist = join(import.meta.dirname, '..', '..', 'dist')
  const files = (await readdir(dist, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile())
  expect(files.length).toBeGreaterThan(0)
  for (const file of files) {
    const text = await readFile(join(file.parentPath, file.name), 'latin1')
    expect(text, file.name).not.toContain('development-secret')
    expect(text, file.name).not.toContain('AUTH_SECRET')
  }

  const a = await openDevice('A')
  const scriptUrl = await a.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? '')
  expect(new URL(scriptUrl).pathname).toBe('/sw.js')
  expect(new URL(scriptUrl).search).toBe('')
})

test('a device whose storage is full holds its downloads, says why, and goes on once there is room', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  // B's origin gets a quota just above what it uses now: a 2 MB file no longer fits.
  const cdp = await b.context.newCDPSession(b.page)
  const origin = new URL(b.page.url()).origin
  const usage = await b.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0)
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 512 * 1024 })

  const big = randomFile('does not fit.bin', 2 * 1024 * 1024)
  await addFiles(a.page, [big])
  await expectFileState(fileItem(a.page, big.name), { remote: 'uploaded' })
  await expect(b.page.getByTestId('downloads-held')).toContainText('out of storage space')
  // Held, not failed: the file waits for room, with no retry button of its own.
  await expectFileState(fileItem(b.page, big.name), { local: 'missing' })
  await expect(fileItem(b.page, big.name).getByTestId('retry-file')).toHaveCount(0)

  await cdp.send('Storage.overrideQuotaForOrigin', { origin }) // back to the real quota
  await b.page.getByTestId('resume-downloads').click()
  await expect(b.page.getByTestId('downloads-held')).toHaveCount(0)
  await expectSyncedEverywhere([a.page, b.page], storeId, [big])
})

test('what another device wrote is checked before the page uses it: a hash that is none, a name that reorders itself', async ({
  openDevice,
  storeId,
  worker,
}) => {
  // A member of the store writes rows as no version of this app would: one says it is uploaded
  // under a "hash" that walks out of the file API, one has a name that draws as "invoiceexe.pdf".
  const fine = randomBytes(300)
  const spoofed = randomBytes(200)
  const badHash = `../../admin/stores/${storeId}/evict`
  await seedStore({
    baseUrl: worker.url,
    storeId,
    upload: true,
    files: [
      { id: 'fine', name: 'fine.jpg', mimeType: 'image/jpeg', bytes: fine },
      { id: 'bad', name: 'bad hash.jpg', mimeType: 'image/jpeg', bytes: randomBytes(10), contentHash: badHash },
      { id: 'spoofed', name: 'invoice\u202Efdp.exe', mimeType: 'application/octet-stream', bytes: spoofed },
    ],
  })

  const b = await openDevice('B')
  await expectFileState(fileItem(b.page, 'fine.jpg'), { local: 'present', remote: 'uploaded' })
  const spoofedItem = fileItem(b.page, 'invoicefdp.exe')
  await expectFileState(spoofedItem, { local: 'present', remote: 'uploaded' })
  // Shown and saved without the override: the name reads as what it is.
  expect(await spoofedItem.locator('.name').textContent()).toBe('invoicefdp.exe')
  await expect(spoofedItem.locator('a.name')).toHaveAttribute('download', 'invoicefdp.exe')

  // The row with no real hash shows as damaged, offers nothing to open, and asked for nothing.
  const bad = fileItem(b.page, 'bad hash.jpg')
  await expect(bad).toHaveAttribute('data-local-state', 'damaged')
  await expect(bad.getByTestId('file-status')).toContainText('Damaged')
  await expect(bad.locator('img, a, video, audio')).toHaveCount(0)
  await b.page.waitForTimeout(2_000)
  const asked = fileRequests(worker.output()).map((request) => request.key)
  expect(
    asked.every((key) => key === `${storeId}/${sha256(fine)}` || key === `${storeId}/${sha256(spoofed)}`),
    asked.join(', '),
  ).toBe(true)
  expect(worker.output()).not.toContain('evict')
})
