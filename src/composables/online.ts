import { onScopeDispose, type Ref, shallowRef } from 'vue'
import { useServices } from './services.ts'

/** Whether the sync server is reachable, as the file sync sees it. */
export const useOnline = (): Readonly<Ref<boolean>> => {
  const { connectivity } = useServices()
  const online = shallowRef(connectivity.online)
  onScopeDispose(connectivity.subscribe((value) => (online.value = value)))
  return online
}
