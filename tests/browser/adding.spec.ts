import { expect, test } from './fixtures.ts'
import { expectFileState, fetchInPage, fileItem, fileUrl, imageIsDisplayed, pngFile, textFile } from './helpers.ts'

test('files can be added by dropping and by pasting, not only with the picker', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const dropped = pngFile('dropped.png')
  const pasted = textFile('pasted.txt', 'from the clipboard')

  // A real drop: a DataTransfer holding a File, dispatched on the page as the browser would.
  await a.page.evaluate(
    ({ name, bytes }) => {
      const data = new DataTransfer()
      data.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }))
      window.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }))
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    },
    { name: dropped.name, bytes: [...dropped.buffer] },
  )
  await a.page.evaluate(
    ({ name, text }) => {
      const data = new DataTransfer()
      data.items.add(new File([text], name, { type: 'text/plain' }))
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
    },
    { name: pasted.name, text: pasted.buffer.toString() },
  )

  await expectFileState(fileItem(a.page, dropped.name), { local: 'present', remote: 'uploaded' })
  await expectFileState(fileItem(a.page, pasted.name), { local: 'present', remote: 'uploaded' })
  await expect.poll(() => imageIsDisplayed(fileItem(a.page, dropped.name))).toBe(true)
  expect((await fetchInPage(a.page, fileUrl(storeId, pasted))).body.toString()).toBe('from the clipboard')
})

test('an empty file and odd names sync like any other', async ({ openDevice, storeId }) => {
  const a = await openDevice('A')
  const b = await openDevice('B')
  const empty = textFile('empty.txt', '')
  const odd = textFile('Ünïcødé & spaces #1 ?=%2F..txt', 'odd but fine')
  await a.page.getByTestId('file-input').setInputFiles([empty, odd])

  for (const file of [empty, odd]) {
    const item = fileItem(b.page, file.name)
    await expectFileState(item, { local: 'present', remote: 'uploaded' })
    const served = await fetchInPage(b.page, fileUrl(storeId, file))
    expect(served.status).toBe(200)
    expect(served.body.equals(file.buffer)).toBe(true)
  }
  await expect(fileItem(b.page, empty.name)).toContainText('0 B')
})
