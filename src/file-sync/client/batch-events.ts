import { type BatchKinds, type FileSyncEvent, fileBatchKinds, maxBatchedFacts } from '../schema.ts'

/**
 * Many facts of one kind in a commit become one event that carries them all: a pick of 1,000
 * photos commits a few dozen `v1.FilesCreated`, not 1,000 `v1.FileCreated`.
 *
 * Why: LiveStore 0.4 pays per event, whatever the event carries. Each one is encoded, written to
 * the event log of the tab's leader, recorded for a rebase, pushed and confirmed, stored and
 * broadcast by the server's Durable Object, and pulled, decoded and logged again by every other
 * device. Measured on a pick of 200 small files, that was most of the CPU the two browsers spent
 * on a file besides its bytes (docs/performance.md).
 *
 * A batch event means exactly what its facts one after the other would: its materializer applies
 * them in order (schema.ts). Facts are gathered only across facts that write other tables, so the
 * commit's outcome is the same: `[created a, state a, album a, created b, …]` becomes
 * `[files created [a, b], states [a, b], album [a, b]]`, while an upload, a lost copy and an
 * upload again of one content stay in that order. A single fact stays the event it was.
 */
export const batchEvents = <E = FileSyncEvent>(
  commit: readonly E[],
  { kinds = fileBatchKinds, maxPerEvent = maxBatchedFacts }: { kinds?: BatchKinds; maxPerEvent?: number } = {},
): E[] => {
  // What `store.commit` takes: an event's name and its arguments.
  const facts = commit as ReadonlyArray<{ name: string; args: unknown }>
  type Group = { name: string; table: string | undefined; args: unknown[] }
  const groups: Group[] = []
  /** Groups before this index take no more facts: a fact that must stay after them came. */
  let closedBefore = 0
  for (const fact of facts) {
    const kind = kinds.get(fact.name)
    if (!kind) {
      groups.push({ name: fact.name, table: undefined, args: [fact.args] })
      closedBefore = groups.length
      continue
    }
    let target: Group | undefined
    for (let index = groups.length - 1; index >= closedBefore; index -= 1) {
      const group = groups[index]!
      if (group.name === fact.name) {
        if (group.args.length < maxPerEvent) target = group
        break
      }
      // A fact on the same table in between: moving this one before it could change the outcome.
      if (group.table === kind.table) break
    }
    if (target) target.args.push(fact.args)
    else groups.push({ name: fact.name, table: kind.table, args: [fact.args] })
  }
  return groups.map((group) => {
    const kind = kinds.get(group.name)
    // The same kind of value as what came in: an event as `store.commit` takes it.
    return (kind && group.args.length > 1 ? kind.batch(group.args) : { name: group.name, args: group.args[0] }) as E
  })
}

export type { BatchKind, BatchKinds } from '../schema.ts'
export { fileBatchKinds } from '../schema.ts'
