import { expect, test } from './fixtures.ts'
import { expectFileState, fileItem, fileRequests, opfsHashes, patternMismatchInPage, throttle, writePatternFile } from './helpers.ts'
import { chromiumProcesses, groupProcesses, mib, watchMemory } from '../support/process-memory.ts'
import { watchHeaps } from './heap.ts'

const MiB = 1024 * 1024

test.describe('with requests of at most 5 MiB', () => {
  // The page sends files larger than one request may carry in parts of that size (R2's minimum).
  test.use({ workerVars: { MAX_UPLOAD_BYTES: String(5 * MiB) } })

  test('a file larger than one request goes up in parts, shows its progress in every tab, survives a reload in the middle, and arrives byte for byte', async ({
    openDevice,
    storeId,
    worker,
  }, testInfo) => {
    test.setTimeout(150_000)
    const big = await writePatternFile(testInfo.outputPath('parts.bin'), 12 * MiB + 123, 11)
    const a = await openDevice('A')
    // A second tab of the same store on A: it does not transfer (the first tab does) but shows
    // how far the upload is, and takes over the upload when the first tab goes.
    const secondTab = await a.context.newPage()
    await secondTab.goto(a.page.url())
    await secondTab.getByTestId('file-input').waitFor({ state: 'attached' })
    const b = await openDevice('B')
    // A part takes about 2.5 s: time to reload in the middle.
    await throttle(a.page, 2 * MiB)
    await throttle(secondTab, 2 * MiB)
    await a.page.getByTestId('file-input').setInputFiles(big.path)
    await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploading' })

    const requests = (route: string, status: number) => fileRequests(worker.output()).filter((request) => request.route === route && request.status === status)
    await expect.poll(() => requests('upload-part', 200).length, { timeout: 30_000 }).toBe(1)
    // Past the first part in the other tab's bar: the first part is confirmed and on record
    // (the next part is sent only once it is), so a reload does not send it again.
    const progress = fileItem(secondTab, big.name).getByTestId('file-progress')
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(5 * MiB)
    await expect(fileItem(secondTab, big.name).getByTestId('file-status')).toContainText(/uploading… \d+%/)
    expect(requests('upload-part', 200)).toHaveLength(1)
    await a.page.reload()
    await throttle(a.page, 2 * MiB)
    await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploaded' }, 60_000)
    await expectFileState(fileItem(secondTab, big.name), { local: 'present', remote: 'uploaded' })
    await expect(fileItem(secondTab, big.name).getByTestId('file-progress')).toHaveCount(0)

    // One upload, resumed after the reload: the part on record was not sent again.
    expect(requests('upload-create', 201)).toHaveLength(1)
    expect(requests('upload-part', 200)).toHaveLength(3)
    expect(requests('upload-complete', 201)).toHaveLength(1)

    await expectFileState(fileItem(b.page, big.name), { local: 'present', remote: 'uploaded' }, 60_000)
    expect(await patternMismatchInPage(b.page, storeId, big)).toBe(-1)
  })
})

test.describe('with files of at most 10 KB', () => {
  test.use({ workerVars: { MAX_FILE_BYTES: '10240' } })

  test('a larger file is refused before anything is written, saying how large files may be', async ({ openDevice, storeId }, testInfo) => {
    const a = await openDevice('A')
    const large = await writePatternFile(testInfo.outputPath('too large.bin'), 20_000, 3)
    await a.page.getByTestId('file-input').setInputFiles(large.path)
    await expect(a.page.getByRole('alert')).toContainText('"too large.bin" is 20 KB; files up to 10 KB can be added.')
    await expect(a.page.getByTestId('file-item')).toHaveCount(0)
    expect(await opfsHashes(a.page, storeId)).toEqual([])
  })
})

test('a file many times larger than the memory cap syncs without any page, worker or service worker holding it', async ({
  openDevice,
  storeId,
  worker,
}, testInfo) => {
  test.setTimeout(240_000)
  // The JavaScript memory (heap and ArrayBuffers) each isolate holds may grow by the cap while the
  // file syncs; the file is 5 times that, so anything that held it whole would show.
  const cap = 32 * MiB
  const large = await writePatternFile(testInfo.outputPath('large.bin'), 5 * cap, 5)
  const a = await openDevice('A')
  const b = await openDevice('B')
  const heaps = { A: await watchHeaps(a.page), B: await watchHeaps(b.page) }
  // The processes' resident memory is reported too (the benchmark holds it to its target).
  const processGroup = worker.processGroup()
  const processes = {
    A: watchMemory(() => chromiumProcesses(a.profile)),
    B: watchMemory(() => chromiumProcesses(b.profile)),
    Worker: watchMemory(() => (processGroup === undefined ? [] : groupProcesses(processGroup))),
  }
  await a.page.getByTestId('file-input').setInputFiles(large.path)
  await expectFileState(fileItem(b.page, large.name), { local: 'present', remote: 'uploaded' }, 180_000)

  const grown = [
    ...[...(await heaps.A.stop())].map(([isolate, bytes]) => ({ where: `A ${isolate}`, bytes })),
    ...[...(await heaps.B.stop())].map(([isolate, bytes]) => ({ where: `B ${isolate}`, bytes })),
  ]
  const resident = Object.entries(processes).flatMap(([device, watch]) =>
    [...watch.stop().growth].filter(([, bytes]) => bytes > MiB).map(([kind, bytes]) => `${device} ${kind} ${mib(bytes)}`),
  )
  testInfo.annotations.push(
    { type: 'heap growth', description: grown.map(({ where, bytes }) => `${where}: ${mib(bytes)}`).join('; ') },
    { type: 'resident memory growth', description: resident.join('; ') },
  )
  // The watches saw the page, the files worker and the service worker of each device.
  for (const isolate of ['A page', 'A worker files', 'A service_worker', 'B page', 'B worker files', 'B service_worker']) {
    expect(
      grown.some(({ where }) => where.startsWith(isolate)),
      isolate,
    ).toBe(true)
  }
  for (const { where, bytes } of grown) expect(bytes, where).toBeLessThan(cap)
  // And the bytes are right, read through B's service worker chunk by chunk.
  expect(await patternMismatchInPage(b.page, storeId, large)).toBe(-1)
})
