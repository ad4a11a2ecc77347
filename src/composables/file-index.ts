import { onScopeDispose, type Ref, shallowRef } from 'vue'
import { useServices } from './services.ts'

/**
 * A number that changes whenever a file or its state changes in the tab's index (file-index.ts):
 * a computed that reads it, then reads the index, follows the files.
 */
export const useFileIndexVersion = (): Readonly<Ref<number>> => {
  const { index } = useServices()
  const version = shallowRef(0)
  onScopeDispose(index.subscribe(() => (version.value += 1)))
  return version
}
