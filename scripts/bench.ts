/**
 * `pnpm bench`: builds the app, starts a Worker that serves it, drives two headless
 * Chromium devices through the scenarios, prints the figures and writes them as JSON.
 * Run with the project's Node 22 (`node scripts/bench.ts`: Node strips the types itself).
 * See docs/benchmark.md; `pnpm bench --help` for the options.
 */
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromiumPath } from '../tests/support/chromium.ts'
import { type PatternFile, writePatternFile } from '../tests/support/test-files.ts'
import { type BenchOptions, MiB, parseOptions, type ScenarioName, usage } from './bench/options.ts'
import { type BenchResults, checkTargets, formatReport, type ScenarioResults, writeResults } from './bench/report.ts'
import { largeFile } from './bench/scenarios/large-file.ts'
import { latency } from './bench/scenarios/latency.ts'
import { previews } from './bench/scenarios/preview.ts'
import { raw } from './bench/scenarios/raw.ts'
import { bigStore } from './bench/scenarios/big-store.ts'
import { manyFiles } from './bench/scenarios/many-files.ts'
import { swRead } from './bench/scenarios/sw-read.ts'
import { problemsSince, type ScenarioContext, startEnvironment } from './bench/setup.ts'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

const main = async (): Promise<number> => {
  const parsed = parseOptions(process.argv.slice(2), process.env)
  if (parsed === 'help') {
    console.log(usage)
    return 0
  }
  const options = parsed
  const out = resolve(options.out) // relative to where it was started, before moving to the project
  process.chdir(repoRoot) // vite build reads vite.config.ts from here, wrangler its wrangler.toml
  const started = Date.now()
  const log = (line: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`)

  const startedAt = new Date().toISOString()
  const machine = { ...machineInfo(), loadAverageAtStart: loadavg()[0]?.toFixed(2) ?? '' }
  const env = await startEnvironment(log)
  // A second signal while cleaning up ends at once (startWorker still stops the Worker on exit).
  let stopping = false
  const stopOnSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130)
    stopping = true
    log(`${signal}: stopping the browsers and servers, removing temporary files…`)
    void env.close().finally(() => process.exit(130))
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stopOnSignal)

  const scenarios: ScenarioResults = {}
  const errors: BenchResults['errors'] = {}
  const resultsSoFar = (): BenchResults => ({
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg()[0]?.toFixed(2) ?? '' },
    options: {
      largeMiB: options.largeBytes / MiB,
      swReadMiB: options.swReadBytes / MiB,
      manyFiles: options.manyFiles,
      bigStoreFiles: options.bigStoreFiles,
      bigStoreBatch: options.bigStoreBatch,
      latencyTries: options.latencyTries,
      scenarios: [...options.scenarios],
    },
    scenarios,
    errors,
    targets: checkTargets(scenarios),
  })
  try {
    // The figures so far are written after each scenario: a run stopped in the middle keeps them.
    await runScenarios({ env, log }, options, scenarios, errors, () => writeResults(out, resultsSoFar()))
  } finally {
    await env.close()
  }

  const results = resultsSoFar()
  console.log(`\n${formatReport(results)}\n`)
  await writeResults(out, results)
  console.log(`Figures written to ${out}`)
  // A scenario that could not finish counts as a miss: its targets were not met either.
  const missed = results.targets.some((target) => target.status === 'FAIL') || Object.keys(errors).length > 0
  return options.check && missed ? 1 : 0
}

/**
 * In an order that keeps each comparison fair: the raw baseline right after the large file, so
 * both meet the machine (and whatever else runs on it) in much the same state; the large file
 * first, because the Worker's runtime keeps what the raw transfers made it grow, which would
 * hide its growth over idle. A scenario that fails is reported and the rest go on.
 */
const runScenarios = async (
  context: ScenarioContext,
  options: BenchOptions,
  results: ScenarioResults,
  errors: BenchResults['errors'],
  afterEach: () => Promise<void>,
) => {
  const wanted = (name: ScenarioName) => options.scenarios.has(name)
  const run = async <Name extends ScenarioName>(name: Name, scenario: () => Promise<NonNullable<ScenarioResults[Name]>>) => {
    if (!wanted(name)) return
    context.log(`— ${name}`)
    const logLengths = new Map(context.env.opened().map((device) => [device, device.logs.length]))
    try {
      results[name] = await scenario()
    } catch (error) {
      const problems = problemsSince(context.env.opened(), logLengths)
      const said = problems.length > 0 ? `\nthe pages said meanwhile:\n${problems.join('\n')}` : ''
      errors[name] = `${error instanceof Error ? error.message : String(error)}${said}`
      context.log(`${name} failed: ${errors[name]}`)
    }
    await afterEach()
  }
  let large: PatternFile | undefined
  const largePatternFile = async () => {
    if (large) return large
    context.log(`writing the large file (${(options.largeBytes / MiB).toFixed(0)} MiB)…`)
    return (large = await writePatternFile(join(context.env.workDir, 'large.bin'), options.largeBytes, 5))
  }
  await run('many-files', () => manyFiles(context, options.manyFiles))
  await run('big-store', () => bigStore(context, options.bigStoreFiles, options.bigStoreBatch))
  await run('latency', () => latency(context, options.latencyTries))
  await run('preview', () => previews(context, options.previewTries))
  // Two parts (of the page's 16 MiB), so that the warm-up runs the Worker's multipart code too.
  const warmUp = () => writePatternFile(join(context.env.workDir, 'warm-up.bin'), 17 * MiB, 3)
  await run('large-file', async () => largeFile(context, await largePatternFile()))
  await run('raw', async () => raw(context, await largePatternFile(), await warmUp()))
  await run('sw-read', async () => swRead(context, await writePatternFile(join(context.env.workDir, 'sw-read.bin'), options.swReadBytes, 7)))
}

/** What the figures were measured on. */
const machineInfo = (): Record<string, string | number> => {
  const chromium = (() => {
    try {
      return execFileSync(chromiumPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    } catch {
      return 'unknown'
    }
  })()
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    chromium,
    node: process.version,
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
