import { parseArgs } from 'node:util'

export const scenarioNames = ['many-files', 'big-store', 'large-file', 'latency', 'preview', 'sw-read', 'raw'] as const
export type ScenarioName = (typeof scenarioNames)[number]

export const MiB = 1024 * 1024

export interface BenchOptions {
  /** The large file of the large-file and raw scenarios. */
  largeBytes: number
  /** The file read through the service worker. */
  swReadBytes: number
  manyFiles: { count: number; bytes: number; perPick: number }
  /** The files of the big-store scenario. */
  bigStoreFiles: number
  /** How many facts of one kind each of its events carries (1: one event per fact, as before batch events). */
  bigStoreBatch: number
  latencyTries: number
  previewTries: number
  scenarios: ReadonlySet<ScenarioName>
  /** Where the figures go, as JSON. */
  out: string
  /** Exit non-zero when a target is missed. */
  check: boolean
}

export const usage = `Usage: pnpm bench [options]   (each option also as an environment variable)

  --large-mib <n>       size of the large file in MiB (BENCH_LARGE_MIB, default 1024)
  --sw-mib <n>          size of the file read through the service worker (BENCH_SW_MIB, default 200)
  --many-files <n>      how many files of 100 KB the many-files scenario adds (BENCH_MANY_FILES, default 1000)
  --many-per-pick <n>   add them in picks of n (BENCH_MANY_PER_PICK, default: all in one pick)
  --big-store <n>       how many files the big-store scenario's store holds (BENCH_BIG_STORE, default 10000)
  --big-store-batch <n> files per event in that store (BENCH_BIG_STORE_BATCH, default 1: an event per file,
                        as stores made before batch events; 100: as this version adds a large pick)
  --scenarios <list>    comma-separated, of ${scenarioNames.join(', ')} (BENCH_SCENARIOS, default all)
  --out <path>          the JSON figures (BENCH_OUT, default bench-results/results.json)
  --check               exit 1 when a target is missed (BENCH_CHECK=1)
  --help
`

/** Reads the command line, then the environment, then the defaults; throws a readable error. */
export const parseOptions = (argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' => {
  const { values } = parseArgs({
    args: argv,
    options: {
      'large-mib': { type: 'string' },
      'sw-mib': { type: 'string' },
      'many-files': { type: 'string' },
      'many-per-pick': { type: 'string' },
      'big-store': { type: 'string' },
      'big-store-batch': { type: 'string' },
      scenarios: { type: 'string' },
      out: { type: 'string' },
      check: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return 'help'
  const mebibytes = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback * MiB
    const number = Number(value)
    if (!Number.isFinite(number) || number <= 0) throw new Error(`${name} must be a positive number of MiB, not "${value}"`)
    return Math.round(number * MiB)
  }
  const wholeNumber = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback
    if (!/^[1-9]\d*$/.test(value)) throw new Error(`${name} must be a whole number from 1, not "${value}"`)
    return Number(value)
  }
  const scenarioList = (values.scenarios ?? env.BENCH_SCENARIOS ?? scenarioNames.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
  const unknown = scenarioList.filter((name) => !(scenarioNames as readonly string[]).includes(name))
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: choose from ${scenarioNames.join(', ')}`)
  const bigStoreBatch = wholeNumber('--big-store-batch', values['big-store-batch'] ?? env.BENCH_BIG_STORE_BATCH, 1)
  // The schema's maxBatchedFacts: an event that carries more is refused.
  if (bigStoreBatch > 100) throw new Error(`--big-store-batch must be at most 100 (the most files an event carries), not ${bigStoreBatch}`)
  const manyFiles = wholeNumber('--many-files', values['many-files'] ?? env.BENCH_MANY_FILES, 1_000)
  return {
    largeBytes: mebibytes('--large-mib', values['large-mib'] ?? env.BENCH_LARGE_MIB, 1024),
    swReadBytes: mebibytes('--sw-mib', values['sw-mib'] ?? env.BENCH_SW_MIB, 200),
    manyFiles: { count: manyFiles, bytes: 100_000, perPick: wholeNumber('--many-per-pick', values['many-per-pick'] ?? env.BENCH_MANY_PER_PICK, manyFiles) },
    bigStoreFiles: wholeNumber('--big-store', values['big-store'] ?? env.BENCH_BIG_STORE, 10_000),
    bigStoreBatch,
    latencyTries: 20,
    previewTries: 3,
    scenarios: new Set(scenarioList as ScenarioName[]),
    out: values.out ?? env.BENCH_OUT ?? 'bench-results/results.json',
    check: values.check ?? ['1', 'true'].includes(env.BENCH_CHECK ?? ''),
  }
}
