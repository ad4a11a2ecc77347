import { type Device, expect, test } from './fixtures.ts'
import { addFiles, expectFileState, expectSyncedEverywhere, fileItem, fileRequests, randomFile, sha256, storedUploads, throttle } from './helpers.ts'

test('two tabs of one store: every file is uploaded exactly once', async ({ openDevice, storeId, worker }) => {
  test.setTimeout(150_000) // room for the state dump of expectSyncedEverywhere when it fails
  const a = await openDevice('A')
  const secondTab = await a.context.newPage()
  await secondTab.goto(a.page.url())
  await secondTab.getByTestId('file-input').waitFor({ state: 'attached' })
  const b = await openDevice('B')

  const fromFirst = Array.from({ length: 4 }, (_, index) => randomFile(`first tab ${index}.bin`, 200 * 1024))
  const fromSecond = Array.from({ length: 4 }, (_, index) => randomFile(`second tab ${index}.bin`, 200 * 1024))
  await addFiles(a.page, fromFirst)
  // One tab after the other: two tabs committing at the same instant can strand one tab's
  // events in LiveStore 0.4's session-to-leader push (see docs/guarantees.md).
  for (const file of fromFirst) await expectFileState(fileItem(secondTab, file.name), { remote: 'uploaded' })
  await addFiles(secondTab, fromSecond)
  const all = [...fromFirst, ...fromSecond]

  await expectSyncedEverywhere([a.page, secondTab, b.page], storeId, all)
  const uploads = storedUploads(worker.output())
  for (const file of all) expect(uploads.get(`${storeId}/${sha256(file.buffer)}`), file.name).toBe(1)
  expect(uploads.size).toBe(all.length)
})

// A push that was in flight when the Worker died can be refused after the reconnect
// (ServerAheadError), and a pull sent on the dying socket can be lost. Every device must still
// converge within 60 s of the restart with no tab reloaded on the way: unpatched, LiveStore 0.4
// parks the pushes of device A (upstream #1394, #1462) or loses a leader's pull, and only the
// app's watchdogs got the events out, by reloading the tab; patches/@livestore__common@0.4.0.patch
// recovers without that.
test('the Worker dies in the middle of twenty uploads and comes back: nothing is lost or doubled, and no tab reloads', async ({
  openDevice,
  storeId,
  worker,
}) => {
  test.setTimeout(150_000)
  const reloads: string[] = []
  const countReloads = (device: Device) =>
    device.page.on('framenavigated', (frame) => {
      if (frame === device.page.mainFrame()) reloads.push(`${device.name}: ${frame.url()}`)
    })
  const a = await openDevice('A')
  countReloads(a)
  const files = Array.from({ length: 20 }, (_, index) => randomFile(`batch ${String(index).padStart(2, '0')}.bin`, 512 * 1024))
  await throttle(a.page, 2 * 1024 * 1024) // about five seconds for the batch
  await addFiles(a.page, files)
  await expect.poll(() => storedUploads(worker.output()).size, { timeout: 30_000 }).toBeGreaterThan(0)
  await worker.stop()
  expect(storedUploads(worker.output()).size).toBeLessThan(files.length)
  await a.page.waitForTimeout(3_000)
  await worker.restart()
  const restartedAt = Date.now()

  const b = await openDevice('B')
  countReloads(b)
  await expectSyncedEverywhere([a.page, b.page], storeId, files, 60_000)
  const convergedMs = Date.now() - restartedAt
  test.info().annotations.push({ type: 'converged-ms', description: String(convergedMs) })
  expect(reloads, 'no tab reloads to get its events out').toEqual([])
  expect(convergedMs).toBeLessThanOrEqual(60_000)
  // Never stored twice. (An upload the Worker stored just as it was killed may have no log line:
  // sent again after the restart, it found its bytes there (200, not 201), and B's download above
  // proves they are.)
  for (const file of files) expect(storedUploads(worker.output()).get(`${storeId}/${sha256(file.buffer)}`) ?? 0, file.name).toBeLessThanOrEqual(1)
})

test('a reload in the middle of an upload, and of a download, finishes both', async ({ openDevice, storeId, worker }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  // Slow enough to reload while the bytes are on the wire: about 8 s each way.
  const big = randomFile('big.bin', 8 * 1024 * 1024)
  await throttle(a.page, 1024 * 1024)
  await throttle(b.page, 1024 * 1024)
  await addFiles(a.page, [big])
  await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploading' })
  // The card shows how far the upload is, in a bar and in words.
  const sent = fileItem(a.page, big.name).getByTestId('file-progress')
  await expect.poll(async () => Number(await sent.getAttribute('value'))).toBeGreaterThan(0)
  await expect(fileItem(a.page, big.name).getByTestId('file-status')).toContainText(/uploading… \d+%/)
  await a.page.waitForTimeout(1_000) // about half of the bytes sent
  await a.page.reload()
  await throttle(a.page, 2 * 1024 * 1024)
  await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploaded' }, 60_000)
  // The reloaded page asked the server before sending the bytes again, and they were stored once.
  const key = `${storeId}/${sha256(big.buffer)}`
  expect(fileRequests(worker.output()).filter((request) => request.key === key && request.method === 'HEAD')).toHaveLength(1)
  expect(storedUploads(worker.output()).get(key)).toBe(1)

  await expectFileState(fileItem(b.page, big.name), { local: 'downloading' })
  // The card shows how far the download is, in a bar and in words.
  const progress = fileItem(b.page, big.name).getByTestId('file-progress')
  await expect.poll(async () => Number(await progress.getAttribute('value'))).toBeGreaterThan(0)
  await expect(fileItem(b.page, big.name).getByTestId('file-status')).toContainText(/Downloading… \d+%/)
  await b.page.waitForTimeout(1_000)
  await b.page.reload()
  await expectSyncedEverywhere([a.page, b.page], storeId, [big])
  // The interrupted download went on after the reload from the bytes B had kept: a Range request.
  const downloads = fileRequests(worker.output()).filter((request) => request.key === key && request.method === 'GET')
  expect(downloads.length).toBeGreaterThanOrEqual(2)
  expect(downloads.map((request) => request.status)).toContain(206)
})

test.describe('a network that fails requests, drops connections and truncates downloads', () => {
  test.use({ chaos: { failRate: 0.2, dropRate: 0.1, truncateRate: 0.3, seed: 7 } })

  test('still ends with every file, byte for byte, on both devices', async ({ openDevice, storeId, chaosProxy }) => {
    test.setTimeout(150_000)
    const a = await openDevice('A')
    const b = await openDevice('B')
    const files = Array.from({ length: 10 }, (_, index) => randomFile(`flaky ${index}.bin`, 96 * 1024 + index))
    // All added on A: A's uploads and B's downloads meet the faults. (Adding on both devices at
    // once also trips LiveStore 0.4's sync-cf push deadlock, upstream issue #1394, which this
    // test is not about; see docs/guarantees.md.)
    await addFiles(a.page, files)
    await expectSyncedEverywhere([a.page, b.page], storeId, files, 90_000)
    // The faults really happened, and none of them became visible.
    expect(chaosProxy?.stats.failed).toBeGreaterThan(0)
    expect(chaosProxy?.stats.dropped).toBeGreaterThan(0)
    expect(chaosProxy?.stats.truncated).toBeGreaterThan(0)
  })
})

test('the other device offline while files are added gets them all once it is back', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  await b.context.setOffline(true)
  await expect(b.page.getByTestId('sync-status')).toHaveAttribute('data-online', 'false')
  const files = Array.from({ length: 5 }, (_, index) => randomFile(`while B was away ${index}.bin`, 64 * 1024))
  await addFiles(a.page, files)
  for (const file of files) await expectFileState(fileItem(a.page, file.name), { remote: 'uploaded' })
  await expect(fileItem(b.page, files[0]!.name)).toHaveCount(0)

  await b.context.setOffline(false)
  await expectSyncedEverywhere([a.page, b.page], storeId, files)
})

// Both devices push at once when the server is back, so one of them is refused with
// ServerAheadError: the case of LiveStore's upstream issue #1394 that the watchdog recovers from.
test('two devices add files while the server is away and both reconnect at once: both keep all', async ({ openDevice, storeId, worker }) => {
  test.setTimeout(180_000)
  const a = await openDevice('A')
  const b = await openDevice('B')
  await worker.stop()
  for (const device of [a, b]) await expect(device.page.getByTestId('sync-status')).toHaveAttribute('data-online', 'false')
  const fromA = [randomFile('added on A.bin', 48 * 1024)]
  const fromB = [randomFile('added on B.bin', 48 * 1024)]
  await addFiles(a.page, fromA)
  await addFiles(b.page, fromB)
  await worker.restart()
  await expectSyncedEverywhere([a.page, b.page], storeId, [...fromA, ...fromB], 120_000)
})

test.describe('a push the server stored but whose answer was lost', () => {
  test.use({ cutSync: true })

  test("does not keep the device's later files from the other devices", async ({ openDevice, storeId, syncCutter }) => {
    test.setTimeout(180_000)
    const a = await openDevice('A')
    const b = await openDevice('B')
    const first = Array.from({ length: 5 }, (_, index) => randomFile(`answer lost ${index}.bin`, 32 * 1024))
    const cut = syncCutter!.cutAfterNextPush({ delayPullAfterMs: 1_500 })
    await addFiles(a.page, first)
    await cut
    const later = Array.from({ length: 5 }, (_, index) => randomFile(`added after the cut ${index}.bin`, 32 * 1024))
    await addFiles(a.page, later)
    await expectSyncedEverywhere([a.page, b.page], storeId, [...first, ...later], 120_000)
  })
})

// LiveStore's WebSocket client reopens a socket whose pings go unanswered, but its live pull
// stays on the old one (upstream #1365): the device keeps pushing and hears nothing. The app
// compares its head with the server's and starts its leader again.
test.describe('a sync socket that goes silent without closing', () => {
  test.use({ cutSync: true })

  test('is reopened, and the device still gets what the other device adds afterwards', async ({ openDevice, storeId, syncCutter }) => {
    test.setTimeout(240_000)
    const a = await openDevice('A')
    const b = await openDevice('B')
    const before = randomFile('before the silence.bin', 32 * 1024)
    await addFiles(a.page, [before])
    await expectSyncedEverywhere([a.page, b.page], storeId, [before])

    await syncCutter!.silenceOpenConnections()
    const after = randomFile('after the silence.bin', 32 * 1024)
    await addFiles(a.page, [after])
    await expectSyncedEverywhere([a.page, b.page], storeId, [before, after], 180_000)
  })
})
