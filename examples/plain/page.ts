import { type FileSyncClient, fileUrl, isUserFile, localView, remoteView } from './file-sync/client/index.ts'

/** The whole page, without a framework: a file input, and every file with where it is. */
export const render = (root: HTMLElement, storeId: string, { fileStorage, index }: FileSyncClient): void => {
  const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true })
  input.dataset.testid = 'file-input'
  input.addEventListener('change', () => void fileStorage.saveFiles([...(input.files ?? [])]).then(() => (input.value = '')))
  const list = document.createElement('ul')
  root.replaceChildren(input, list)

  const show = () => {
    const files = [...index.files()]
      .filter((file) => file.deletedAt === null && isUserFile(file))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    list.replaceChildren(
      ...files.map((file) => {
        const state = index.state(file.id)
        const item = Object.assign(document.createElement('li'), { className: 'file' })
        Object.assign(item.dataset, { testid: 'file-item', fileId: file.id, localState: localView(file, state), remoteState: remoteView(file, state) })
        const picture = file.mimeType.startsWith('image/')
          ? [Object.assign(document.createElement('img'), { src: fileUrl(storeId, file), alt: file.name })]
          : []
        item.append(...picture, Object.assign(document.createElement('span'), { className: 'name', textContent: file.name }))
        return item
      }),
    )
  }
  index.subscribe(show)
  show()
}
