import { inject, type InjectionKey, onBeforeUnmount, onMounted, onScopeDispose, provide, type Ref } from 'vue'
import type { FileSync } from '../file-sync/client/index.ts'

type Track = (element: Element, fileId: string) => () => void

const trackKey: InjectionKey<Track> = Symbol('visible-files')

/** One IntersectionObserver for a list of files: tells the file sync which ones are on screen. */
export const provideVisibleFiles = (fileSync: FileSync): void => {
  const visible = new Set<string>()
  const fileIds = new WeakMap<Element, string>()
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const fileId = fileIds.get(entry.target)
      if (fileId === undefined) continue
      if (entry.isIntersecting) visible.add(fileId)
      else visible.delete(fileId)
    }
    fileSync.setVisible(visible)
  })
  onScopeDispose(() => observer.disconnect())
  provide(trackKey, (element, fileId) => {
    fileIds.set(element, fileId)
    observer.observe(element)
    return () => {
      observer.unobserve(element)
      if (visible.delete(fileId)) fileSync.setVisible(visible)
    }
  })
}

/** Reports whether this file's element is on screen, so its transfer goes first. */
export const useOnScreen = (element: Ref<Element | null>, fileId: string): void => {
  const track = inject(trackKey, undefined)
  if (!track) return
  let untrack: (() => void) | undefined
  onMounted(() => {
    if (element.value) untrack = track(element.value, fileId)
  })
  onBeforeUnmount(() => untrack?.())
}
