import { computed, onScopeDispose, type Ref, shallowRef } from 'vue'
import type { PresenceState } from '../file-sync/client/index.ts'
import { useServices } from './services.ts'

/** The store's open pages (this one included) and what each uploads, as the presence socket last said. */
export const usePresence = (): Readonly<Ref<PresenceState>> => {
  const { presence } = useServices()
  const state = shallowRef<PresenceState>(presence?.state() ?? { connected: false, peers: [] })
  if (presence) onScopeDispose(presence.subscribe((next) => (state.value = next)))
  return state
}

/** The files other pages say they upload, with the device each is uploaded from ("Chrome on Linux · a1b2"). */
export const useUploadsElsewhere = (): Readonly<Ref<ReadonlyMap<string, string>>> => {
  const presence = usePresence()
  return computed(() => {
    const devices = new Map<string, string>()
    for (const peer of presence.value.peers) {
      if (peer.you) continue
      for (const fileId of peer.uploading) devices.set(fileId, peer.device)
    }
    return devices
  })
}
