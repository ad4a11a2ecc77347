import type { Queryable } from '@livestore/livestore'
import { onScopeDispose, type Ref, shallowRef } from 'vue'
import { useStore } from './services.ts'

/**
 * A LiveStore query as a Vue ref: filled at once, updated on every change, unsubscribed when
 * the component (or effect scope) goes away.
 */
export const useQuery = <T>(query: Queryable<T>): Readonly<Ref<T>> => {
  const store = useStore()
  const result = shallowRef(store.query(query)) as Ref<T>
  const unsubscribe = store.subscribe(query, (value) => {
    result.value = value
  })
  onScopeDispose(unsubscribe)
  return result
}
