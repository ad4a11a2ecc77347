import { queryDb, type State } from '@livestore/livestore'
import type { Ref } from 'vue'
import { useQuery } from './live-query.ts'
import { useStore } from './services.ts'

/**
 * One client document (device-local state shared by the tabs of a store) as a ref, with a
 * setter that changes only the fields it is given.
 */
export const useClientDocument = <TName extends string, TValue>(
  // `any`: the encoded form of the value, which this composable never looks at.
  table: State.SQLite.ClientDocumentTableDef<TName, TValue, any, { partialSet: true; default: { id: undefined; value: TValue } }>,
  id: string,
): { value: Readonly<Ref<TValue>>; set(patch: Partial<TValue>): void } => {
  const store = useStore()
  const value = useQuery(queryDb(table.get(id), { deps: [id] })) as Readonly<Ref<TValue>>
  return { value, set: (patch) => store.commit(table.set(patch, id)) }
}
