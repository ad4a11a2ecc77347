import { queryDb, type State } from '@livestore/livestore'
import { computed, type Ref } from 'vue'
import { useQuery } from './live-query.ts'
import { useStore } from './services.ts'

/**
 * One client document (device-local state shared by the tabs of a store) as a ref, with a
 * setter that changes only the fields it is given. A document nobody has written yet reads as
 * the table's default.
 */
export const useClientDocument = <TName extends string, TValue, TEncoded>(
  // TEncoded: the encoded form of the value, inferred from the table and never looked at here.
  table: State.SQLite.ClientDocumentTableDef<TName, TValue, TEncoded, { partialSet: true; default: { id: undefined; value: TValue } }>,
  id: string,
): { value: Readonly<Ref<TValue>>; set(patch: Partial<TValue>): void } => {
  const store = useStore()
  // Not `table.get(id)`: in LiveStore 0.4 it throws from inside later commits while the row
  // does not exist yet, which breaks whoever committed. A plain row query has no such edge.
  const rows = useQuery(queryDb(table.where({ id }), { deps: [id] }))
  const value = computed(() => (rows.value[0]?.value as TValue | undefined) ?? table.default.value)
  return { value, set: (patch) => store.commit(table.set(patch, id)) }
}
