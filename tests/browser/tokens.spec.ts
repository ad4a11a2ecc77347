import { expect, test } from './fixtures.ts'
import { addFiles, expectFileState, fetchInPage, fileItem, fileUrl, sha256, textFile } from './helpers.ts'

// Tokens that live 6 s: the pages and their sync workers must renew them by themselves.
const TOKEN_TTL_SECONDS = 6
test.use({ workerVars: { TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) } })

test('devices keep syncing events and files long after their first token expired, across a reconnect', async ({ openDevice, worker, storeId }) => {
  test.setTimeout(180_000)
  const a = await openDevice('A')
  const b = await openDevice('B')
  const tokensIssued = () => (worker.output().match(/"route":"auth"/g) ?? []).length
  const atStart = tokensIssued()

  // Three lifetimes of the first tokens: any request still carrying one of them is refused.
  await a.page.waitForTimeout(3 * TOKEN_TTL_SECONDS * 1000)
  const first = textFile('after the first token expired.txt', 'still syncing')
  await addFiles(a.page, [first])
  await expectFileState(fileItem(a.page, first.name), { remote: 'uploaded' })
  await expectFileState(fileItem(b.page, first.name), { local: 'present', remote: 'uploaded' })
  expect(sha256((await fetchInPage(b.page, fileUrl(storeId, first))).body)).toBe(sha256(first.buffer))

  // A new socket (the server went away and came back) opens with the current token, not the
  // one the store was created with.
  await worker.stop()
  await a.page.waitForTimeout(TOKEN_TTL_SECONDS * 1000)
  await worker.restart()
  const second = textFile('after a reconnect.txt', 'and still')
  await addFiles(b.page, [second])
  // LiveStore's socket tries again after 1, 2, 4, 8, 16 and then every 30 s: the try after the
  // server is back may come that late (with a token renewed meanwhile).
  await expectFileState(fileItem(a.page, second.name), { local: 'present', remote: 'uploaded' }, 75_000)
  expect(sha256((await fetchInPage(a.page, fileUrl(storeId, second))).body)).toBe(sha256(second.buffer))

  // Renewed, not reused: every device asked for new tokens along the way, and nothing was
  // refused for good (no file shows an error).
  expect(tokensIssued() - atStart).toBeGreaterThanOrEqual(4)
  for (const device of [a, b]) await expect(device.page.getByTestId('retry-file')).toHaveCount(0)
})

test('a first visit while the server is down starts syncing once it is back, without a reload', async ({ openDevice, worker, storeId }) => {
  const a = await openDevice('A')
  await worker.stop()
  const b = await openDevice('B')
  const note = textFile('written offline on a first visit.txt', 'hello from B')
  await addFiles(b.page, [note])
  await expectFileState(fileItem(b.page, note.name), { local: 'present', remote: 'pending' })

  await worker.restart()
  await expectFileState(fileItem(a.page, note.name), { local: 'present', remote: 'uploaded' })
  expect(sha256((await fetchInPage(a.page, fileUrl(storeId, note))).body)).toBe(sha256(note.buffer))
})
