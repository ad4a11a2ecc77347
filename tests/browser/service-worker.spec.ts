import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { type Device, expect, test } from './fixtures.ts'
import {
  addFiles,
  expectFileState,
  fetchInPage,
  fileItem,
  fileUrl,
  imageIsDisplayed,
  pngFile,
  randomFile,
  removeFromOpfs,
  sha256,
  type TestFile,
} from './helpers.ts'

test('the service worker serves files from OPFS and falls back to the server', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const photo = pngFile('photo.png', { width: 16, height: 12 })
  await addFiles(a.page, [photo])
  const item = fileItem(a.page, photo.name)
  await expectFileState(item, { local: 'present', remote: 'uploaded' })
  await expect.poll(() => imageIsDisplayed(item)).toBe(true)

  const url = fileUrl(storeId, photo)
  const local = await fetchInPage(a.page, url)
  expect(local).toMatchObject({ status: 200, source: 'local', contentType: 'image/png' })
  expect(local.body.equals(photo.buffer)).toBe(true)

  // The local copy disappears (the browser evicted it, a user cleared it): the same URL
  // still answers, from the server this time.
  await removeFromOpfs(a.page, storeId, sha256(photo.buffer))
  const remote = await fetchInPage(a.page, url)
  expect(remote).toMatchObject({ status: 200, source: 'remote', contentType: 'image/png' })
  expect(remote.body.equals(photo.buffer)).toBe(true)

  // Neither has it: a plain 404.
  const unknown = await fetchInPage(a.page, `/files/${storeId}/${'0'.repeat(64)}?type=image%2Fpng`)
  expect(unknown.status).toBe(404)
  // What does not look like a file URL is not guessed at.
  expect((await fetchInPage(a.page, `/files/${storeId}/not-a-hash`)).status).toBe(404)
})

test('a reload keeps every file, its state and its picture', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const photo = pngFile('kept.png')
  await addFiles(a.page, [photo])
  await expectFileState(fileItem(a.page, photo.name), { local: 'present', remote: 'uploaded' })

  await a.page.reload()
  const item = fileItem(a.page, photo.name)
  await expectFileState(item, { local: 'present', remote: 'uploaded' })
  await expect(a.page.getByTestId('file-item')).toHaveCount(1)
  await expect.poll(() => imageIsDisplayed(item)).toBe(true)
  const served = await fetchInPage(a.page, fileUrl(storeId, photo))
  expect(served.source).toBe('local')
  expect(served.body.equals(photo.buffer)).toBe(true)
})

// Range, HEAD and conditional requests: what a <video> and a download manager send. From OPFS
// on the device that added the file; through the server's answers on a device that has not
// downloaded it (its storage is too full to), where the Worker does the slicing.

/** A real seekable video: WebM (VP9) with cues, six seconds, 320×240; see tests/fixtures/README.md. */
const clip: TestFile = {
  name: 'six-seconds.webm',
  mimeType: 'video/webm',
  buffer: readFileSync(new URL('../fixtures/six-seconds.webm', import.meta.url)),
}

test('ranges, HEAD and If-None-Match are answered from OPFS', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const data = randomFile('ranges.bin', 1024 * 1024)
  await addFiles(a.page, [data])
  await expectFileState(fileItem(a.page, data.name), { local: 'present' })
  await expectRangeAnswers(a.page, fileUrl(storeId, data), data, 'local')
})

test('ranges, HEAD and If-None-Match are answered through the server', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const data = randomFile('ranges.bin', 1024 * 1024)
  await holdDownloadsOf(b, data)
  await addFiles(a.page, [data])
  await expectFileState(fileItem(b.page, data.name), { local: 'missing', remote: 'uploaded' })
  await expectRangeAnswers(b.page, fileUrl(storeId, data), data, 'remote')
})

test('a <video> seeks in a file on this device', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const answers = answersTo(a.page, fileUrl(storeId, clip))
  await addFiles(a.page, [clip])
  await expectFileState(fileItem(a.page, clip.name), { local: 'present' })
  await expectVideoSeeks(a.page, storeId, answers, 'local')
})

test('a <video> seeks in a file that is only on the server', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  await holdDownloadsOf(b, clip)
  const answers = answersTo(b.page, fileUrl(storeId, clip))
  await addFiles(a.page, [clip])
  await expectFileState(fileItem(b.page, clip.name), { local: 'missing', remote: 'uploaded' })
  await expectVideoSeeks(b.page, storeId, answers, 'remote')
})

/**
 * Each way of asking for part of a file, or only about it, answered through the service worker
 * with the right status and headers and exactly the file's bytes.
 */
const expectRangeAnswers = async (page: Page, url: string, file: TestFile, source: 'local' | 'remote') => {
  const size = file.buffer.length
  const etag = `"${sha256(file.buffer)}"`
  const expectRange = async (range: string, start: number, end: number) => {
    const answer = await fetchInPage(page, url, { headers: { Range: range } })
    expect(answer, range).toMatchObject({ status: 206, source })
    expect(answer.headers, range).toMatchObject({
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
      etag,
      'x-content-type-options': 'nosniff',
    })
    expect(answer.headers['content-security-policy'], range).toMatch(/^sandbox;/)
    expect(answer.body.equals(file.buffer.subarray(start, end + 1)), range).toBe(true)
  }

  await test.step('the first 100 bytes', () => expectRange('bytes=0-99', 0, 99))
  await test.step('a range in the middle', () => expectRange('bytes=300000-400000', 300_000, 400_000))
  await test.step('from an offset to the end', () => expectRange(`bytes=${size - 1000}-`, size - 1000, size - 1))
  await test.step('the last 500 bytes', () => expectRange('bytes=-500', size - 500, size - 1))
  await test.step('an end past the file, clamped', () => expectRange(`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1))

  await test.step('a range past the end: 416 with the size', async () => {
    const answer = await fetchInPage(page, url, { headers: { Range: `bytes=${size}-` } })
    expect(answer).toMatchObject({ status: 416, source })
    expect(answer.headers['content-range']).toBe(`bytes */${size}`)
  })

  await test.step('HEAD: the headers of the whole file, no body', async () => {
    const answer = await fetchInPage(page, url, { method: 'HEAD' })
    expect(answer).toMatchObject({ status: 200, source })
    expect(answer.headers).toMatchObject({ 'content-length': String(size), 'accept-ranges': 'bytes', etag })
    expect(answer.headers['last-modified']).toMatch(/ GMT$/)
    expect(answer.body.length).toBe(0)
  })

  await test.step('HEAD of a range: the 206 headers, no body', async () => {
    const answer = await fetchInPage(page, url, { method: 'HEAD', headers: { Range: 'bytes=0-99' } })
    expect(answer).toMatchObject({ status: 206, source })
    expect(answer.headers).toMatchObject({ 'content-range': `bytes 0-99/${size}`, 'content-length': '100' })
    expect(answer.body.length).toBe(0)
  })

  await test.step('If-None-Match with its ETag: 304, no body', async () => {
    const answer = await fetchInPage(page, url, { headers: { 'If-None-Match': etag } })
    expect(answer).toMatchObject({ status: 304, source })
    expect(answer.headers.etag).toBe(etag)
    expect(answer.body.length).toBe(0)
    // Another version's tag: the whole file.
    const other = await fetchInPage(page, url, { headers: { 'If-None-Match': `"${'0'.repeat(64)}"` } })
    expect(other.status).toBe(200)
    expect(other.body.equals(file.buffer)).toBe(true)
  })
}

/** The service worker's answers to this page's requests for `url` (a <video>'s included), as they come. */
const answersTo = (page: Page, url: string) => {
  const answers: Array<{ range: string | undefined; status: number; source: string | undefined; contentRange: string | undefined }> = []
  page.on('response', (response) => {
    if (!response.url().endsWith(url) || !response.fromServiceWorker()) return
    const headers = response.headers()
    answers.push({
      range: response.request().headers().range,
      status: response.status(),
      source: headers['x-file-source'],
      contentRange: headers['content-range'],
    })
  })
  return answers
}

const HAVE_METADATA = 1

/**
 * Seeks in the clip's <video> on its card. Chromium lets a <video> seek only in a source that
 * answers ranges: given a plain 200 it reports nothing seekable, and a seek to 4.5 s lands back
 * at 0.
 */
const expectVideoSeeks = async (page: Page, storeId: string, answers: ReturnType<typeof answersTo>, source: 'local' | 'remote') => {
  const video = fileItem(page, clip.name).locator('video')
  await expect(video).toHaveAttribute('src', fileUrl(storeId, clip))
  await expect.poll(() => video.evaluate((element: HTMLVideoElement) => element.readyState)).toBeGreaterThanOrEqual(HAVE_METADATA)

  const seeked = await video.evaluate(async (element: HTMLVideoElement) => {
    const done = new Promise((resolve) => element.addEventListener('seeked', resolve, { once: true }))
    element.currentTime = 4.5
    await done
    const seekableEnd = element.seekable.length ? element.seekable.end(0) : 0
    return { currentTime: element.currentTime, duration: element.duration, seekableEnd, width: element.videoWidth }
  })
  expect(seeked).toEqual({ currentTime: 4.5, duration: 6, seekableEnd: 6, width: 320 })
  // What made it seekable: the service worker answered the video's range requests with 206.
  expect(answers.length).toBeGreaterThan(0)
  for (const answer of answers) {
    expect(answer).toMatchObject({ status: 206, source })
    expect(answer.range).toMatch(/^bytes=\d+-/)
    expect(answer.contentRange).toMatch(new RegExp(`^bytes \\d+-\\d+/${clip.buffer.length}$`))
  }
}

/**
 * Gives this device's origin a storage quota just above what it uses now, so `file` cannot be
 * downloaded there: its downloads are held, and the service worker answers from the server.
 */
const holdDownloadsOf = async (device: Device, file: TestFile) => {
  const cdp = await device.context.newCDPSession(device.page)
  const origin = new URL(device.page.url()).origin
  const usage = await device.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0)
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + Math.floor(file.buffer.length / 2) })
}

test("an uploaded HTML file opened from a crafted link does not render on the app's origin", async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const page: TestFile = {
    name: 'page.html',
    mimeType: 'text/html',
    buffer: Buffer.from('<!doctype html><title>page</title><script>localStorage.setItem("ran", "yes")</script><p>active content</p>'),
  }
  await addFiles(a.page, [page])
  await expectFileState(fileItem(a.page, page.name), { local: 'present', remote: 'uploaded' })
  const path = `/files/${storeId}/${sha256(page.buffer)}`

  const open = async (query: string) => {
    const tab = await a.context.newPage()
    try {
      const download = tab.waitForEvent('download', { timeout: 10_000 }).then((event) => event.suggestedFilename())
      const response = await tab.goto(`${new URL(a.page.url()).origin}${path}${query}`).catch(() => null)
      return { download: await download.catch(() => undefined), contentType: response?.headers()['content-type'], tab }
    } catch (error) {
      await tab.close()
      throw error
    }
  }
  const crafted = ['?type=text%2Fhtml', '?type=text%2Fhtml%3B%20charset%3Dutf-8', '?type=image%2Fsvg%2Bxml', '?type=application%2Fxhtml%2Bxml', '']
  // From this device's copy: whatever type a link names that the page would not show inline is
  // saved, never rendered.
  for (const query of crafted) {
    const opened = await open(query)
    expect(opened.download, `local ${query}`).toBeDefined()
    await opened.tab.close()
  }
  // A type the page shows inline, on bytes that are HTML: an image that does not decode.
  const asImage = await open('?type=image%2Fpng')
  expect(asImage.contentType).toBe('image/png')
  expect(await asImage.tab.evaluate(() => document.contentType)).toBe('image/png')
  await asImage.tab.close()
  // From the server's copy: the type it stored decides (an attachment), whatever the link says.
  await removeFromOpfs(a.page, storeId, sha256(page.buffer))
  for (const query of [...crafted, '?type=image%2Fpng']) {
    const opened = await open(query)
    expect(opened.download, `remote ${query}`).toBeDefined()
    await opened.tab.close()
  }
  expect(await a.page.evaluate(() => localStorage.getItem('ran'))).toBeNull()
})
