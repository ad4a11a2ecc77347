import { expect, test } from './fixtures.ts'
import { expectFileState, fileItem, fileRequests, opfsHashes, patternMismatchInPage, throttle, writePatternFile } from './helpers.ts'
import { chromiumProcesses, groupProcesses, mib, watchMemory } from '../support/process-memory.ts'

const MiB = 1024 * 1024

test.describe('with requests of at most 5 MiB', () => {
  // The page sends files larger than one request may carry in parts of that size (R2's minimum).
  test.use({ workerVars: { MAX_UPLOAD_BYTES: String(5 * MiB) } })

  test('a file larger than one request goes up in parts, survives a reload in the middle, and arrives byte for byte', async ({
    openDevice,
    storeId,
    worker,
  }, testInfo) => {
    test.setTimeout(150_000)
    const big = await writePatternFile(testInfo.outputPath('parts.bin'), 12 * MiB + 123, 11)
    const a = await openDevice('A')
    const b = await openDevice('B')
    await throttle(a.page, 2 * MiB) // a part takes about 2.5 s: time to reload in the middle
    await a.page.getByTestId('file-input').setInputFiles(big.path)
    await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploading' })

    const requests = (route: string, status: number) =>
      fileRequests(worker.output()).filter((request) => request.route === route && request.status === status)
    await expect.poll(() => requests('upload-part', 200).length, { timeout: 30_000 }).toBe(1)
    await a.page.reload()
    await throttle(a.page, 2 * MiB)
    await expectFileState(fileItem(a.page, big.name), { local: 'present', remote: 'uploaded' }, 60_000)

    // One upload, resumed after the reload: the first part was not sent again.
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

test('a file many times larger than the memory cap syncs without any process growing with it', async ({ openDevice, storeId, worker }, testInfo) => {
  test.setTimeout(240_000)
  // Every process's resident memory may grow by the cap while the file syncs; the file is 5 times that.
  const cap = Number(process.env.CAP_MIB ?? 40) * MiB
  const large = await writePatternFile(testInfo.outputPath('large.bin'), 5 * cap, 5)
  const a = await openDevice('A')
  const b = await openDevice('B')
  const processGroup = worker.processGroup()
  if (processGroup === undefined) throw new Error('The Worker is not running')
  const watches = {
    'device A': watchMemory(() => chromiumProcesses(a.profile)),
    'device B': watchMemory(() => chromiumProcesses(b.profile)),
    Worker: watchMemory(() => groupProcesses(processGroup)),
  }
  await a.page.getByTestId('file-input').setInputFiles(large.path)
  await expectFileState(fileItem(b.page, large.name), { local: 'present', remote: 'uploaded' }, 180_000)
  const growth = Object.entries(watches).flatMap(([where, watch]) =>
    [...watch.stop().growth].map(([kind, bytes]) => ({ process: `${where} ${kind}`, bytes })),
  )
  testInfo.annotations.push({ type: 'memory growth', description: growth.map(({ process, bytes }) => `${process}: ${mib(bytes)}`).join(', ') })
  console.log(growth.map(({ process, bytes }) => `${process}: ${mib(bytes)}`).join('\n'))
  expect(growth.length).toBeGreaterThan(3) // the watches did see the processes
  for (const { process, bytes } of growth) expect(bytes, process).toBeLessThan(cap)
  // And the bytes are right, read through B's service worker chunk by chunk.
  expect(await patternMismatchInPage(b.page, storeId, large)).toBe(-1)
})
