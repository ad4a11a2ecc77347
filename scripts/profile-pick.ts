/**
 * `node scripts/profile-pick.ts [--files 200] [--bytes 100000] [--store-files 0] [--out folder]`:
 * where the time of a pick of many files goes, into an empty store or one that already holds
 * `--store-files` files (seeded as a device would have added them, one event each). Builds the app unminified, starts the Worker with it, opens one store
 * on devices A and B, records a CPU profile of each page's main thread (Chrome DevTools protocol)
 * while N files picked on A reach B, and prints what took the main threads' time: by function
 * (self time) and by module (LiveStore, Vue, the app, …). The profiles are written as
 * `.cpuprofile` files that Chrome's DevTools open. A tool for performance work, not a test.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CDPSession, Page } from '@playwright/test'
import { build } from 'vite'
import { launchDevice } from '../tests/support/chromium.ts'
import { chromiumProcesses, cpuByKind, groupProcesses, threadCpuByName } from '../tests/support/process-memory.ts'
import { seedStore } from '../tests/support/seed-store.ts'
import { fileRequests, startWorker } from '../tests/support/wrangler.ts'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { files: { type: 'string' }, bytes: { type: 'string' }, 'store-files': { type: 'string' }, out: { type: 'string' } },
})
const count = Number(values.files ?? 200)
const bytes = Number(values.bytes ?? 100_000)
const storeFiles = Number(values['store-files'] ?? 0)
const out = resolve(values.out ?? 'bench-results/profiles')

const main = async () => {
  process.chdir(repoRoot)
  const work = await mkdtemp(join(tmpdir(), 'file-sync-profile-'))
  const cleanups: Array<() => Promise<unknown>> = [() => rm(work, { recursive: true, force: true })]
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error))
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)))
  try {
    console.log('building the app unminified…')
    await build({ logLevel: 'warn', build: { minify: false, outDir: join(work, 'dist') } })
    const worker = await startWorker({ assets: join(work, 'dist') })
    cleanups.push(() => worker.close())
    const a = await launchDevice('A', { handleSignals: false })
    cleanups.push(() => a.close())
    const b = await launchDevice('B', { handleSignals: false })
    cleanups.push(() => b.close())

    const files: string[] = []
    for (let index = 0; index < count; index += 1) {
      const buffer = randomBytes(bytes)
      const path = join(work, `pick-${String(index).padStart(5, '0')}.bin`)
      await writeFile(path, buffer)
      files.push(path)
    }
    const storeId = `profile-${crypto.randomUUID().slice(0, 8)}`
    if (storeFiles > 0) {
      console.log(`filling the store with ${storeFiles} files…`)
      await seedStore({
        baseUrl: worker.url,
        storeId,
        files: Array.from({ length: storeFiles }, (_, index) => ({
          id: `seeded-${index}`,
          name: `photo-${String(index).padStart(5, '0')}.jpg`,
          mimeType: 'image/jpeg',
          bytes: randomBytes(256),
        })),
      })
    }
    for (const device of [a, b]) {
      await device.page.goto(`${worker.url}/?store=${storeId}`)
      await device.page.getByTestId('file-input').waitFor({ state: 'attached' })
      await waitForCount(device.page, storeFiles, 'files')
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000))

    // CPU time of every process, from Linux: what a file costs the machine, whatever waits for what.
    const cpuNow = () =>
      new Map([
        ...[...cpuByKind(chromiumProcesses(a.profile))].map(([kind, ms]) => [`A ${kind}`, ms] as const),
        ...[...cpuByKind(chromiumProcesses(b.profile))].map(([kind, ms]) => [`B ${kind}`, ms] as const),
        ...[...cpuByKind(groupProcesses(worker.processGroup() ?? -1))].map(([kind, ms]) => [`Worker ${kind}`, ms] as const),
      ])
    const cpuBefore = cpuNow()
    const threadsBefore = new Map([...threadCpu('A', a.profile), ...threadCpu('B', b.profile)])
    const [profilerA, profilerB] = [await startProfiler(a.page), await startProfiler(b.page)]
    const started = Date.now()
    // Where the files are, every second, as both headers say.
    const samples: string[] = []
    const counts = (page: Page) =>
      page.evaluate(() => {
        const data = document.querySelector<HTMLElement>('[data-testid=sync-counts]')?.dataset ?? {}
        return `${data.files ?? '?'}/${data.here ?? '?'}/${data.onServer ?? '?'}`
      })
    const sampler = setInterval(() => {
      void Promise.all([counts(a.page), counts(b.page)]).then(([onA, onB]) =>
        samples.push(`  ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  A ${onA.padEnd(14)} B ${onB}`),
      )
    }, 1_000)
    cleanups.push(async () => clearInterval(sampler))
    await a.page.getByTestId('file-input').setInputFiles(files)
    await waitForCount(a.page, count, 'here')
    const savedOnA = (Date.now() - started) / 1000
    await waitForCount(b.page, count, 'here')
    const presentOnB = (Date.now() - started) / 1000
    await waitForCount(a.page, count, 'onServer')
    const uploadedOnA = (Date.now() - started) / 1000
    const cpuAfter = cpuNow()
    const threadsAfter = new Map([...threadCpu('A', a.profile), ...threadCpu('B', b.profile)])
    const [profileA, profileB] = [await stopProfiler(profilerA), await stopProfiler(profilerB)]
    const cpu = [...cpuAfter].map(([kind, ms]) => [kind, ms - (cpuBefore.get(kind) ?? 0)] as const).sort((x, y) => y[1] - x[1])
    const cpuTotal = cpu.reduce((total, [, ms]) => total + ms, 0)
    console.log(`\nCPU time by process while they synced (${(cpuTotal / count).toFixed(1)} ms per file in all):`)
    for (const [kind, ms] of cpu) if (ms > 0) console.log(`  ${String(ms).padStart(7)} ms  ${(ms / count).toFixed(1).padStart(6)} ms/file  ${kind}`)
    console.log('of which, by thread of the renderers (Linux thread names):')
    const threads = [...threadsAfter].map(([name, ms]) => [name, ms - (threadsBefore.get(name) ?? 0)] as const).sort((x, y) => y[1] - x[1])
    for (const [name, ms] of threads.slice(0, 16))
      if (ms > 0) console.log(`  ${String(ms).padStart(7)} ms  ${(ms / count).toFixed(1).padStart(6)} ms/file  ${name}`)
    const modules = await moduleMap(join(work, 'dist', 'assets'))
    console.log(
      `${count} files of ${bytes} bytes: all saved on A ${savedOnA.toFixed(1)} s, all present on B ${presentOnB.toFixed(1)} s, all uploaded (A) ${uploadedOnA.toFixed(1)} s`,
    )

    clearInterval(sampler)
    console.log(`\nfiles / here / on the server, as each device's header said:\n${samples.join('\n')}`)
    console.log(`\nthe Worker's answers (ms it took, as it logged them):\n${requestTimes(worker.output())}`)
    await mkdir(out, { recursive: true })
    for (const [device, threads] of [
      ['A', profileA],
      ['B', profileB],
    ] as const) {
      for (const [thread, profile] of threads) {
        const file = join(out, `${device}-${thread.replace(/\W+/g, '-')}.cpuprofile`)
        await writeFile(file, JSON.stringify(profile))
        console.log(`\n${device}, thread ${thread} (${file}):`)
        console.log(summarize(profile, modules))
      }
    }
  } finally {
    await cleanUp()
  }
}

/**
 * Chrome's tracing with V8's sampling profiler: every thread of the page's renderer (its main
 * thread, LiveStore's worker, the files worker), not only the page's.
 */
const startProfiler = async (page: Page): Promise<CDPSession> => {
  const session = await page.context().newCDPSession(page)
  await session.send('Tracing.start', {
    traceConfig: { recordMode: 'recordContinuously', includedCategories: ['disabled-by-default-v8.cpu_profiler', '__metadata'] },
    transferMode: 'ReturnAsStream',
  })
  return session
}

interface TraceEvent {
  ph: string
  name: string
  pid: number
  tid: number
  id?: string
  args?: { name?: string; data?: { cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] }; timeDeltas?: number[]; startTime?: number } }
}

/** The profile of each thread that ran JavaScript while tracing, by the thread's name. */
const stopProfiler = async (session: CDPSession): Promise<Map<string, Profile>> => {
  const complete = new Promise<string>((resolve) => session.once('Tracing.tracingComplete', (event) => resolve(event.stream as string)))
  await session.send('Tracing.end')
  const stream = await complete
  let text = ''
  for (;;) {
    const chunk = (await session.send('IO.read', { handle: stream })) as { data: string; eof: boolean; base64Encoded?: boolean }
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString('utf8') : chunk.data
    if (chunk.eof) break
  }
  await session.send('IO.close', { handle: stream })
  await session.detach()
  const events = (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents
  const threadNames = new Map<string, string>()
  for (const event of events) if (event.ph === 'M' && event.name === 'thread_name') threadNames.set(`${event.pid}:${event.tid}`, event.args?.name ?? '')
  const profiles = new Map<string, Profile & { thread: string }>()
  for (const event of events) {
    const data = event.args?.data
    if (!data || (event.name !== 'Profile' && event.name !== 'ProfileChunk')) continue
    const key = `${event.pid}:${event.id ?? event.tid}`
    let profile = profiles.get(key)
    if (!profile) {
      profile = { nodes: [], samples: [], timeDeltas: [], startTime: data.startTime ?? 0, endTime: data.startTime ?? 0, thread: '' }
      profiles.set(key, profile)
    }
    if (event.name === 'Profile') profile.thread = threadNames.get(`${event.pid}:${event.tid}`) ?? `thread ${event.tid}`
    for (const node of data.cpuProfile?.nodes ?? []) profile.nodes.push({ ...node, children: node.children ?? [] })
    profile.samples.push(...(data.cpuProfile?.samples ?? []))
    profile.timeDeltas.push(...(data.timeDeltas ?? []))
  }
  const byThread = new Map<string, Profile>()
  for (const profile of profiles.values()) {
    if (profile.samples.length === 0) continue
    // Chunks carry nodes with their parent instead of children lists: rebuild the children.
    const children = new Map<number, number[]>()
    for (const node of profile.nodes as Array<ProfileNode & { parent?: number }>) {
      if (node.parent !== undefined) children.set(node.parent, [...(children.get(node.parent) ?? []), node.id])
    }
    for (const node of profile.nodes) node.children = [...new Set([...(node.children ?? []), ...(children.get(node.id) ?? [])])]
    profile.endTime = profile.startTime + profile.timeDeltas.reduce((total, delta) => total + delta, 0)
    let name = profile.thread
    for (let n = 2; byThread.has(name); n += 1) name = `${profile.thread} ${n}`
    byThread.set(name, profile)
  }
  return byThread
}

/** CPU time of each thread of a device's renderers, by thread name (threads of one name summed), in ms. */
const threadCpu = (device: string, profile: string): Map<string, number> => {
  const byName = new Map<string, number>()
  for (const process of chromiumProcesses(profile).filter((candidate) => candidate.kind === 'renderer')) {
    for (const [thread, ms] of threadCpuByName(process.pid)) byName.set(`${device} ${thread}`, (byName.get(`${device} ${thread}`) ?? 0) + ms)
  }
  return byName
}

/** Waits until the header counts `count` files (known, here, or on the server). */
const waitForCount = (page: Page, count: number, which: 'files' | 'here' | 'onServer') =>
  page.waitForFunction(
    ({ count, which }) => Number(document.querySelector<HTMLElement>('[data-testid=sync-counts]')?.dataset[which] ?? 0) >= count,
    { count, which },
    { polling: 200, timeout: 30 * 60_000 },
  )

/** Self time by function and by module, and the share of the profile the thread was busy. */
const summarize = (profile: Profile, modules: ModuleMap): string => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  for (const [index, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
  const total = (profile.endTime - profile.startTime) / 1000
  const byFunction = new Map<string, number>()
  const byModule = new Map<string, number>()
  let idle = 0
  for (const [id, micros] of self) {
    const node = byId.get(id)!
    const { functionName = '', url = '', lineNumber = 0 } = node.callFrame
    const ms = micros / 1000
    if (functionName === '(idle)' || functionName === '(program)') {
      if (functionName === '(idle)') idle += ms
    }
    const file = url.split('/').pop() ?? ''
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms)
    const module = functionName.startsWith('(') ? functionName : modules(url, lineNumber)
    byModule.set(module, (byModule.get(module) ?? 0) + ms)
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const inclusive = new Map<string, number>()
  for (const [id, micros] of self) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName = '', url = '', lineNumber = 0 } = byId.get(at)!.callFrame
      if (url === '' || functionName === '') continue
      const key = `${functionName} ${modules(url, lineNumber)}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros / 1000)
    }
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([key, ms]) => `  ${ms.toFixed(0).padStart(7)} ms  ${key}`)
      .join('\n')
  return [
    `  ${total.toFixed(0)} ms profiled, ${(total - idle).toFixed(0)} ms not idle`,
    'by module (self time):',
    top(byModule, 12),
    'by function (self time):',
    top(byFunction, 25),
    'by function (inclusive):',
    top(inclusive, 60),
  ].join('\n')
}

/** Per route and method: how many requests, and the median and 90th percentile of their time. */
const requestTimes = (output: string): string => {
  const times = new Map<string, number[]>()
  for (const { route, method, ms } of fileRequests(output)) times.set(`${method} ${route}`, [...(times.get(`${method} ${route}`) ?? []), ms])
  const at = (sorted: number[], share: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? 0
  return [...times]
    .map(([key, list]) => {
      const sorted = [...list].sort((x, y) => x - y)
      return `  ${key}: ${list.length} requests, median ${at(sorted, 0.5)} ms, p90 ${at(sorted, 0.9)} ms`
    })
    .join('\n')
}

type ModuleMap = (url: string, line: number) => string

/**
 * Which module a line of the unminified bundle comes from: the bundler starts each module with a
 * comment naming its path (`// node_modules/.pnpm/…/@livestore/common/dist/…`, `// src/…`).
 * Dependencies are named by package, the app's own code by file.
 */
const moduleMap = async (assets: string): Promise<ModuleMap> => {
  const starts = new Map<string, Array<{ line: number; module: string }>>()
  for (const name of await readdir(assets)) {
    if (!name.endsWith('.js')) continue
    const lines = (await readFile(join(assets, name), 'utf8')).split('\n')
    const regions: Array<{ line: number; module: string }> = []
    lines.forEach((text, line) => {
      const path = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(text)?.[1]
      if (!path) return
      const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1]
      regions.push({ line, module: pkg ?? path })
    })
    starts.set(name, regions)
  }
  return (url, line) => {
    const regions = starts.get(url.split('/').pop() ?? '')
    if (!regions) return url === '' ? '(native)' : (url.split('/').pop() ?? url)
    let found = '(bundle)'
    for (const region of regions) {
      if (region.line > line) break
      found = region.module
    }
    return found
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
