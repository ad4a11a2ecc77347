/**
 * The JavaScript memory every isolate of one device's page holds: the page itself, its dedicated
 * workers (the files worker, LiveStore's) and the service worker. Each sample collects garbage
 * first, then counts the V8 heap and the ArrayBuffers' backing stores (`Runtime.getHeapUsage`):
 * what is still referenced. Chunks that went by and wait for the collector are not held; a file
 * read whole into memory anywhere is.
 */
import type { Page } from '@playwright/test'

export interface HeapWatch {
  /** Stops sampling: for each isolate (by its title), the highest growth over its first sample. */
  stop(): Promise<Map<string, number>>
}

type Usage = { usedSize: number; backingStorageSize?: number }

export const watchHeaps = async (page: Page, everyMs = 500): Promise<HeapWatch> => {
  const cdp = await page.context().newCDPSession(page)
  const { targetInfos } = await cdp.send('Target.getTargets')
  // Workers are reached through the page's session, as the protocol's nested sessions.
  const workers: Array<{ title: string; sessionId: string }> = []
  for (const target of targetInfos.filter((info) => ['worker', 'service_worker'].includes(info.type))) {
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })
    workers.push({ title: `${target.type} ${target.title}`, sessionId })
  }
  let nextId = 0
  const waiting = new Map<number, (usage: Usage | undefined) => void>()
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const answer = JSON.parse(message) as { id?: number; result?: Usage }
    if (answer.id !== undefined) waiting.get(answer.id)?.(answer.result)
    if (answer.id !== undefined) waiting.delete(answer.id)
  })
  const callIn = (sessionId: string, method: string) =>
    new Promise<Usage | undefined>((resolve) => {
      const id = (nextId += 1)
      waiting.set(id, resolve)
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => resolve(undefined))
    })
  const pageUsage = async () => {
    await cdp.send('HeapProfiler.collectGarbage').catch(() => {})
    return (await cdp.send('Runtime.getHeapUsage').catch(() => undefined)) as Usage | undefined
  }
  const workerUsage = async (sessionId: string) => {
    await callIn(sessionId, 'HeapProfiler.collectGarbage')
    return callIn(sessionId, 'Runtime.getHeapUsage')
  }
  const sample = async () => {
    const usages: Array<[string, Usage | undefined]> = [['page', await pageUsage()]]
    for (const worker of workers) usages.push([worker.title, await workerUsage(worker.sessionId)])
    return usages.flatMap(([title, usage]) => (usage ? [[title, usage.usedSize + (usage.backingStorageSize ?? 0)] as const] : []))
  }

  const first = new Map(await sample())
  const peak = new Map(first)
  let sampling = Promise.resolve()
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      for (const [title, bytes] of await sample()) peak.set(title, Math.max(peak.get(title) ?? 0, bytes))
    })
  }, everyMs)
  return {
    async stop() {
      clearInterval(timer)
      await sampling
      await cdp.detach().catch(() => {})
      return new Map([...peak].map(([title, bytes]) => [title, bytes - (first.get(title) ?? bytes)]))
    },
  }
}
