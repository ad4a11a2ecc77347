import { inject, type InjectionKey, provide } from 'vue'
import type { AppServices } from '../boot.ts'

const servicesKey: InjectionKey<AppServices> = Symbol('app-services')

/** Makes the store and the file services available to every component below. */
export const provideServices = (services: AppServices): void => provide(servicesKey, services)

export const useServices = (): AppServices => {
  const services = inject(servicesKey)
  if (!services) throw new Error('useServices() needs provideServices() in a parent component.')
  return services
}

export const useStore = () => useServices().store
