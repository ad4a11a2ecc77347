import { parseArgs } from 'node:util'

export const scenarioNames = ['small-files', 'large-file', 'latency', 'sw-read', 'raw'] as const
export type ScenarioName = (typeof scenarioNames)[number]

export const MiB = 1024 * 1024

export interface BenchOptions {
  /** The large file of the large-file and raw scenarios. */
  largeBytes: number
  /** The file read through the service worker. */
  swReadBytes: number
  smallFiles: { count: number; bytes: number; perPick: number }
  latencyTries: number
  scenarios: ReadonlySet<ScenarioName>
  /** Where the figures go, as JSON. */
  out: string
  /** Exit non-zero when a target is missed. */
  check: boolean
}

export const usage = `Usage: pnpm bench [options]   (each option also as an environment variable)

  --large-mib <n>       size of the large file in MiB (BENCH_LARGE_MIB, default 1024)
  --sw-mib <n>          size of the file read through the service worker (BENCH_SW_MIB, default 200)
  --small-per-pick <n>  add the 200 small files in picks of n (BENCH_SMALL_PER_PICK, default 200: one pick)
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
      'small-per-pick': { type: 'string' },
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
  return {
    largeBytes: mebibytes('--large-mib', values['large-mib'] ?? env.BENCH_LARGE_MIB, 1024),
    swReadBytes: mebibytes('--sw-mib', values['sw-mib'] ?? env.BENCH_SW_MIB, 200),
    smallFiles: { count: 200, bytes: 100_000, perPick: wholeNumber('--small-per-pick', values['small-per-pick'] ?? env.BENCH_SMALL_PER_PICK, 200) },
    latencyTries: 20,
    scenarios: new Set(scenarioList as ScenarioName[]),
    out: values.out ?? env.BENCH_OUT ?? 'bench-results/results.json',
    check: values.check ?? ['1', 'true'].includes(env.BENCH_CHECK ?? ''),
  }
}
