import { onScopeDispose, type Ref, shallowRef, triggerRef } from 'vue'
import { useServices } from './services.ts'

/** Bytes moved so far by each running transfer of the store, by file id (any tab's). */
export const useTransferProgress = (): Readonly<Ref<ReadonlyMap<string, number>>> => {
  const { progress } = useServices()
  const figures = shallowRef(progress.all())
  // The same map, changed in place: tell Vue it changed.
  onScopeDispose(progress.subscribe(() => triggerRef(figures)))
  return figures
}
