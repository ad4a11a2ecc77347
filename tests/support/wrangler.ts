/**
 * Runs the real Worker with `wrangler dev` for tests (Vitest and Playwright,
 * so no test-runner imports here).
 *
 * wrangler starts workerd as a child, and stopping wrangler alone leaves
 * workerd running: every server gets its own process group and is stopped as a
 * group. A small watchdog in that group also stops it when this test process
 * dies without cleaning up (the pipe it reads from closes).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type StartWorkerOptions = {
  /** Default: a free port. */
  port?: number
  /** Where Durable Objects and R2 keep their state. Default: a fresh temporary directory. */
  persistDir?: string
  /** Worker vars, overriding wrangler.toml's (e.g. `{ MAX_UPLOAD_BYTES: '1000' }`). */
  vars?: Record<string, string>
  /** Another wrangler config than the project's, relative to the repository (e.g. a bare Worker for a measurement). */
  config?: string
  /**
   * A folder of static files the Worker serves besides its routes (the built app, `dist`), as
   * `wrangler deploy --assets dist` serves them on Cloudflare: the page and the API on one origin.
   */
  assets?: string
  /** Serve `/__scheduled?cron=…`, which runs the Worker's scheduled handler (`wrangler dev --test-scheduled`). */
  testScheduled?: boolean
}

export type RunningWorker = {
  url: string
  port: number
  persistDir: string
  /** Everything wrangler and the Worker printed so far (the last 256 KiB). */
  output(): string
  /** The process group of wrangler and its Worker runtime while running (support/process-memory.ts). */
  processGroup(): number | undefined
  /** Stops the whole process group and waits until it is gone. */
  stop(): Promise<void>
  /** Stops, then starts again on the same port with the same persisted state. */
  restart(): Promise<void>
  /** Stops for good, and removes the persisted state if startWorker made its folder. */
  close(): Promise<void>
  /** Runs the Worker's scheduled handler now, as its cron trigger would (needs `testScheduled`). */
  runScheduled(): Promise<void>
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const binDir = join(repoRoot, 'node_modules', '.bin')
const STARTUP_TIMEOUT_MS = 30_000
const KILL_GRACE_MS = 3_000
const OUTPUT_LIMIT = 256 * 1024

const runningGroups = new Set<number>()
process.once('exit', () => {
  for (const pgid of runningGroups) signalGroup(pgid, 'SIGKILL')
})

export const startWorker = async (options: StartWorkerOptions = {}): Promise<RunningWorker> => {
  const ownsPersistDir = options.persistDir === undefined
  const persistDir = options.persistDir ?? (await mkdtemp(join(tmpdir(), 'livestore-file-sync-wrangler-')))
  let output = ''
  const optionsOn = (port: number): LaunchOptions => ({
    port,
    persistDir,
    vars: options.vars ?? {},
    config: options.config,
    assets: options.assets,
    testScheduled: options.testScheduled ?? false,
    url: `http://127.0.0.1:${port}`,
    onOutput: (chunk) => (output = (output + chunk).slice(-OUTPUT_LIMIT)),
    output: () => output,
  })
  let launchOptions = optionsOn(options.port ?? (await freePort()))
  let child: ChildProcess
  for (let attempt = 1; ; attempt += 1) {
    try {
      child = await launch(launchOptions)
      break
    } catch (error) {
      // A port found free can be taken before wrangler binds it, by another server started at the
      // same moment (test files run side by side, and workerd binds ports of its own): a new one.
      const taken = /Address already in use/.test(String(error))
      if (!taken || options.port !== undefined || attempt >= 3) {
        if (ownsPersistDir) await rm(persistDir, { recursive: true, force: true })
        throw error
      }
      output = ''
      launchOptions = optionsOn(await freePort())
    }
  }
  const { port, url } = launchOptions

  const stop = async (): Promise<void> => {
    await stopGroup(child)
  }

  return {
    url,
    port,
    persistDir,
    output: () => output,
    processGroup: () => child.pid,
    stop,
    restart: async () => {
      await stop()
      // The old workerd may hold the port a moment after its group is gone.
      await untilPortFree(port)
      child = await launch(launchOptions)
    },
    close: async () => {
      await stop()
      if (ownsPersistDir) await rm(persistDir, { recursive: true, force: true })
    },
    runScheduled: async () => {
      if (!launchOptions.testScheduled) throw new Error('runScheduled needs startWorker({ testScheduled: true })')
      const response = await fetch(`${url}/__scheduled?cron=${encodeURIComponent('17 * * * *')}`)
      if (!response.ok) throw new Error(`the scheduled handler failed: ${response.status} ${await response.text()}`)
    },
  }
}

type LaunchOptions = {
  port: number
  persistDir: string
  vars: Record<string, string>
  config: string | undefined
  assets: string | undefined
  testScheduled: boolean
  url: string
  onOutput: (chunk: string) => void
  output: () => string
}

// The watchdog reads the pipe from this process (fd 3); when it closes, it
// signals the whole group (`kill 0`). `exec` then makes wrangler the group leader.
const WATCHDOG = 'exec 3<&0; (read -r _ <&3; kill -TERM 0) & exec "$@" </dev/null 3<&-'

const launch = async ({ port, persistDir, vars, config, assets, testScheduled, url, onOutput, output }: LaunchOptions): Promise<ChildProcess> => {
  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(await freePort()),
    '--persist-to',
    persistDir,
    '--show-interactive-dev-session=false',
    ...(config === undefined ? [] : ['--config', config]),
    ...(assets === undefined ? [] : ['--assets', assets]),
    ...(testScheduled ? ['--test-scheduled'] : []),
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ]
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'wrangler-watchdog', join(binDir, 'wrangler'), ...args], {
    cwd: repoRoot,
    env: childEnv(),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error('could not spawn wrangler')
  const pgid = child.pid
  runningGroups.add(pgid)
  child.once('exit', () => runningGroups.delete(pgid))
  child.stdout?.setEncoding('utf8').on('data', onOutput)
  child.stderr?.setEncoding('utf8').on('data', onOutput)

  try {
    await waitForHealth(url, child)
  } catch (error) {
    await stopGroup(child)
    throw new Error(`${(error as Error).message}\n--- wrangler output ---\n${output()}`)
  }
  return child
}

const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // wrangler needs Node >= 22.12: the project brings its own in node_modules/.bin.
    PATH: [binDir, process.env.PATH ?? ''].join(delimiter),
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    // No colours in the captured output.
    FORCE_COLOR: '0',
    // workerd's V8 collects garbage lazily: moving 1 GiB through local R2 left it 240 to 330 MiB
    // larger, garbage mostly, since with this flag the same grew it by 90 to 190 MiB at the same
    // speed (scripts/worker-memory.ts). Local development only: Cloudflare runs its own runtime.
    MINIFLARE_WORKERD_V8_FLAGS: process.env.MINIFLARE_WORKERD_V8_FLAGS ?? '--optimize-for-size',
  }
  // wrangler refuses to start with a proxy configured.
  for (const name of Object.keys(env)) {
    if (/^(https?|all)_proxy$/i.test(name)) delete env[name]
  }
  return env
}

const waitForHealth = async (url: string, child: ChildProcess): Promise<void> => {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  let exited = false
  child.once('exit', () => (exited = true))
  while (Date.now() < deadline) {
    if (exited) throw new Error(`wrangler dev exited before ${url}/api/health answered`)
    try {
      const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1_000) })
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new Error(`wrangler dev did not answer ${url}/api/health within ${STARTUP_TIMEOUT_MS / 1000} s`)
}

const stopGroup = async (child: ChildProcess): Promise<void> => {
  const pgid = child.pid
  if (pgid === undefined) return
  signalGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + KILL_GRACE_MS
  // Wait for every process of the group (workerd too), not just wrangler.
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) signalGroup(pgid, 'SIGKILL')
    await sleep(50)
  }
  child.stdin?.destroy()
  runningGroups.delete(pgid)
}

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // Already gone.
  }
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/** One request to the file API, as the Worker logged it (src/file-sync/server/files.ts). */
export interface FileRequest {
  route: string
  key: string
  method: string
  status: number
  /** The body's size: the answer's, else the request's. */
  bytes: number
  ms: number
}

/** What the Worker logged for each file request: one JSON line per request. */
export const fileRequests = (workerOutput: string): FileRequest[] =>
  workerOutput
    .split('\n')
    .map((line) => line.slice(line.indexOf('{')))
    .filter((line) => line.startsWith('{"route":') && line.includes('"method":'))
    .map((line) => {
      const entry = JSON.parse(line) as { route: string; store?: string; file?: string; method: string; status: number; bytes?: number; ms?: number }
      const key = entry.store === undefined ? 'invalid key' : `${entry.store}/${entry.file}`
      return { route: entry.route, key, method: entry.method, status: entry.status, bytes: entry.bytes ?? 0, ms: entry.ms ?? 0 }
    })

const untilPortFree = async (port: number, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await portFree(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} is still taken ${timeoutMs / 1000} s after the Worker stopped`)
    await sleep(100)
  }
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

/** A port nobody listens on right now: bind port 0, read it, close. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
