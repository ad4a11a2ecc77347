import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, expectSyncedEverywhere, fileItem, pngFile, randomFile, serverStatus, sha256, storedUploads } from './helpers.ts'

const ADMIN_SECRET = 'e2e-admin-secret'
test.use({ workerVars: { ADMIN_SECRET } })

/** The store's last event number on the server. */
const syncHead = async (workerUrl: string, storeId: string): Promise<number> => {
  const { token } = (await (await fetch(`${workerUrl}/api/auth/${storeId}`)).json()) as { token: string }
  const response = await fetch(`${workerUrl}/api/sync-head/${storeId}`, { headers: { Authorization: `Bearer ${token}` } })
  return ((await response.json()) as { head: number }).head
}

test('after the server evicts a store, a device that holds its files uploads them again by itself, and another device gets them', async ({
  openDevice,
  worker,
  storeId,
}) => {
  const a = await openDevice('A')
  const photo = pngFile('evicted photo.png')
  const data = randomFile('evicted data.bin', 200 * 1024)
  await addFiles(a.page, [photo, data])
  for (const file of [photo, data]) await expectFileState(fileItem(a.page, file.name), { local: 'present', remote: 'uploaded' })
  // A's last events reach the server a moment after its files show uploaded: wait until the
  // server's head stays put.
  let headBefore = -1
  await expect
    .poll(
      async () => {
        const previous = headBefore
        headBefore = await syncHead(worker.url, storeId)
        return headBefore === previous
      },
      { intervals: [1_500], timeout: 20_000 },
    )
    .toBe(true)

  // A is offline while the operator evicts the store and a new device opens it.
  await a.context.setOffline(true)
  const evicted = await fetch(`${worker.url}/api/admin/stores/${storeId}/evict`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_SECRET}` } })
  // The photo, its preview (a file of its own: docs/previews.md) and the data.
  expect(await evicted.json()).toMatchObject({ storeId, evictedFiles: 3 })
  for (const file of [photo, data]) expect(await serverStatus(worker.url, storeId, file)).toBe(404)
  // The history is untouched: the same events, so every device still lists every file.
  expect(await syncHead(worker.url, storeId)).toBe(headBefore)

  // B lists both at once, finds no bytes on the server, and shows them waiting for a device
  // that has them: not failed.
  const b = await openDevice('B')
  for (const file of [photo, data]) await expectFileState(fileItem(b.page, file.name), { local: 'missing', remote: 'pending' })
  await expect(b.page.getByTestId('retry-file')).toHaveCount(0)

  // A comes back, hears that the server lost them, and uploads them again; B downloads them.
  await a.context.setOffline(false)
  await expectSyncedEverywhere([a.page, b.page], storeId, [photo, data])
  for (const file of [photo, data]) {
    expect(await serverStatus(worker.url, storeId, file)).toBe(200)
    expect(storedUploads(worker.output()).get(`${storeId}/${sha256(file.buffer)}`)).toBe(2)
  }
  // What recovery added to the history: events, none taken away.
  expect(await syncHead(worker.url, storeId)).toBeGreaterThan(headBefore)
})
