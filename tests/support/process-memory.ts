/**
 * Memory of real processes, read from Linux's /proc: the Chromium of one browser profile (its
 * browser process, renderers, utility processes) and the Worker runtime under wrangler. Used by
 * the memory test and by the benchmark (no test-runner imports here).
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessInfo {
  pid: number
  ppid: number
  pgrp: number
  rssBytes: number
  /** CPU time used so far, user and system, in milliseconds. */
  cpuMs: number
  /** What the process is, for a report: browser, renderer, gpu, network, storage, utility, zygote, workerd, … */
  kind: string
}

const pageBytes = 4096
/** Linux counts CPU time in clock ticks of 1/100 s (USER_HZ). */
const msPerTick = 10

/** User and system CPU time from the fields of a /proc stat line that follow the command name. */
const cpuMsOf = (fields: string[]) => (Number(fields[11]) + Number(fields[12])) * msPerTick

/** Fields of /proc/…/stat after the command name (which may hold spaces and parentheses). */
const statFields = (path: string): string[] => {
  const stat = readFileSync(path, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

const readProcess = (pid: number): (ProcessInfo & { cmdline: string }) | undefined => {
  try {
    const fields = statFields(`/proc/${pid}/stat`)
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
    return {
      pid,
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      rssBytes: Number(fields[21]) * pageBytes,
      cpuMs: cpuMsOf(fields),
      kind: kindOf(cmdline),
      cmdline,
    }
  } catch {
    return undefined // gone meanwhile
  }
}

const allProcesses = () =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readProcess(Number(name)) ?? [])

export const kindOf = (cmdline: string): string => {
  if (/\bworkerd\b/.test(cmdline)) return 'workerd'
  const type = /--type=([\w-]+)/.exec(cmdline)?.[1]
  if (!type) return /chrom/.test(cmdline) ? 'browser' : cmdline.split(' ')[0]?.split('/').pop() || 'other'
  if (type === 'utility') {
    const service = /--utility-sub-type=([\w.]+)/.exec(cmdline)?.[1] ?? ''
    if (service.includes('network')) return 'network'
    if (service.includes('storage')) return 'storage'
    return 'utility'
  }
  return type
}

const descendants = (processes: ReturnType<typeof allProcesses>, rootPid: number) => {
  const found = processes.filter((process) => process.pid === rootPid)
  for (let index = 0; index < found.length; index += 1) {
    const parent = found[index]!.pid
    found.push(...processes.filter((process) => process.ppid === parent))
  }
  return found
}

/** The browser process started with `--user-data-dir=<profileDir>`, and every process below it. */
export const chromiumProcesses = (profileDir: string): ProcessInfo[] => {
  const processes = allProcesses()
  const browser = processes.find((process) => !process.cmdline.includes('--type=') && process.cmdline.includes(`--user-data-dir=${profileDir}`))
  return browser ? descendants(processes, browser.pid) : []
}

/** Every process of a process group (wrangler and the workerd it runs, see support/wrangler.ts). */
export const groupProcesses = (pgrp: number): ProcessInfo[] => allProcesses().filter((process) => process.pgrp === pgrp)

/** CPU time used so far by kind of process, in milliseconds: the sum over the processes of each kind. */
export const cpuByKind = (processes: readonly ProcessInfo[]): Map<string, number> => {
  const byKind = new Map<string, number>()
  for (const process of processes) byKind.set(process.kind, (byKind.get(process.kind) ?? 0) + process.cpuMs)
  return byKind
}

/** CPU time of each thread of a process by its name (Chromium's: CrRendererMain, DedicatedWorker, …), threads of one name summed, in ms. */
export const threadCpuByName = (pid: number): Map<string, number> => {
  const byName = new Map<string, number>()
  let tasks: string[] = []
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return byName // gone meanwhile
  }
  for (const task of tasks) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim()
      byName.set(name, (byName.get(name) ?? 0) + cpuMsOf(statFields(`/proc/${pid}/task/${task}/stat`)))
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName
}

/** Resident memory by kind of process: the sum over the processes of each kind. */
export const rssByKind = (processes: readonly ProcessInfo[]): Map<string, number> => {
  const byKind = new Map<string, number>()
  for (const process of processes) byKind.set(process.kind, (byKind.get(process.kind) ?? 0) + process.rssBytes)
  return byKind
}

export interface MemoryWatch {
  /** The resident memory of each kind before the watch began. */
  readonly idle: Map<string, number>
  /** Stops sampling: the highest resident memory seen for each kind, and its growth over idle. */
  stop(): { peak: Map<string, number>; growth: Map<string, number> }
}

/**
 * Samples the processes `select` returns every `everyMs` until stopped. Growth over idle is what
 * matters: a process that buffered a whole file shows it, whatever it used before.
 */
export const watchMemory = (select: () => ProcessInfo[], everyMs = 100): MemoryWatch => {
  const idle = rssByKind(select())
  const peak = new Map(idle)
  const sample = () => {
    for (const [kind, bytes] of rssByKind(select())) peak.set(kind, Math.max(peak.get(kind) ?? 0, bytes))
  }
  const timer = setInterval(sample, everyMs)
  return {
    idle,
    stop() {
      clearInterval(timer)
      sample()
      const growth = new Map([...peak].map(([kind, bytes]) => [kind, bytes - (idle.get(kind) ?? 0)]))
      return { peak, growth }
    },
  }
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
