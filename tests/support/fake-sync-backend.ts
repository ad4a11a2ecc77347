/**
 * A fake LiveStore sync backend for unit tests: one event log in memory, live pulls it publishes
 * to, and the faults the real one showed when the Worker was killed in the middle of a push
 * (tests/unit/livestore-catch-up.test.ts). No test-runner imports here.
 */
import { Effect, Option, Queue, Stream, SubscriptionRef } from 'effect'

export interface GlobalEvent {
  name: string
  args: unknown
  seqNum: number
  parentSeqNum: number
  clientId: string
  sessionId: string
}

const noMore = { _tag: 'NoMore' } as const

/** The server of a fake sync backend: one event log, and the live pulls it publishes to. */
export const makeServer = () => {
  const log: GlobalEvent[] = []
  const subscribers = new Set<Queue.Queue<GlobalEvent[] | 'offline'>>()
  const isConnected = Effect.runSync(SubscriptionRef.make(true))
  let losePublications = 0
  let ignorePulls = 0
  const publish = (batch: GlobalEvent[]) => {
    if (losePublications > 0) {
      losePublications -= 1
      return
    }
    for (const queue of subscribers) Effect.runSync(Queue.offer(queue, batch))
  }
  const server = {
    log,
    /** The next `count` stored batches are not published to the live pulls. */
    loseNextPublications: (count: number) => void (losePublications = count),
    /**
     * The socket closes: the live pulls fail as offline, and the pull that the leader sends again
     * at once is lost with the socket (it gets no answer at all). Then the socket is back.
     */
    dropConnection: async () => {
      ignorePulls = 1
      await Effect.runPromise(SubscriptionRef.set(isConnected, false))
      for (const queue of subscribers) Effect.runSync(Queue.offer(queue, 'offline'))
      await new Promise((resolve) => setTimeout(resolve, 50))
      await Effect.runPromise(SubscriptionRef.set(isConnected, true))
    },
    /** Another device's push: stored, then published (unless lost). */
    append: (batch: GlobalEvent[]) => {
      log.push(...batch)
      publish(batch)
    },
    /** Publishes a stored batch (again). */
    publish,
    backend: () =>
      Effect.sync(() => {
        return {
          isConnected,
          connect: Effect.void,
          ping: Effect.void,
          metadata: { name: 'fake', description: 'a sync backend that loses what the test says' },
          supports: { pullPageInfoKnown: true, pullLive: true },
          pull: (cursor: Option.Option<{ eventSequenceNumber: number }>, options?: { live?: boolean }) =>
            Stream.unwrapScoped(
              Effect.gen(function* () {
                if (ignorePulls > 0) {
                  ignorePulls -= 1
                  return Stream.never
                }
                // As sync-cf: registered for live publications before the history is read.
                const queue = yield* Effect.acquireRelease(Queue.unbounded<GlobalEvent[] | 'offline'>(), (queue) =>
                  Effect.sync(() => subscribers.delete(queue)),
                )
                subscribers.add(queue)
                const after = Option.match(cursor, { onNone: () => 0, onSome: (value) => value.eventSequenceNumber })
                const history = log.filter((event) => event.seqNum > after)
                const toItem = (batch: GlobalEvent[]) => ({ batch: batch.map((eventEncoded) => ({ eventEncoded, metadata: Option.none() })), pageInfo: noMore })
                const first = Stream.make(toItem(history))
                const live = Stream.fromQueue(queue).pipe(
                  Stream.mapEffect((item) => (item === 'offline' ? Effect.fail({ _tag: 'IsOfflineError' as const }) : Effect.succeed(toItem(item)))),
                )
                return options?.live === true ? Stream.concat(first, live) : first
              }),
            ),
          push: (batch: ReadonlyArray<GlobalEvent>) =>
            Effect.gen(function* () {
              const head = log.at(-1)?.seqNum ?? 0
              if (batch[0]!.parentSeqNum !== head) {
                return yield* Effect.fail({ _tag: 'ServerAheadError' as const, minimumExpectedNum: head, providedNum: batch[0]!.parentSeqNum })
              }
              log.push(...batch)
              publish([...batch])
            }),
        }
      }),
  }
  return server
}

export type FakeSyncServer = ReturnType<typeof makeServer>
