/**
 * What each page did and when, recorded in the page itself, so a measurement does not depend on
 * how often Node looks: a MutationObserver notes every card's state as it changes (in the same
 * task as the render), capture listeners note the file input's `change` and every <img> `load`.
 * Times are the page's `performance.timeOrigin + performance.now()` (milliseconds, sub-ms
 * resolution), turned into Node's clock with an offset measured by round trips. A reload (the
 * app's stall watchdog may do one) keeps the timeline: it is kept in sessionStorage meanwhile.
 */
import type { BrowserContext, Page } from '@playwright/test'

export interface TimelineEvent {
  /** Milliseconds on the page's clock. */
  t: number
  /** `preview`: an `img[data-preview]` loaded; `image`: any other <img>. */
  kind: 'state' | 'image' | 'preview' | 'input' | 'reload' | 'counts'
  /** The file's name (a card's name, an <img>'s alt, a picked file's name); empty for a reload and counts. */
  name: string
  local?: string
  remote?: string
  /** For counts: the store's files, those on this device, those on the server (the page's header). */
  files?: number
  here?: number
  onServer?: number
}

declare global {
  interface Window {
    benchTimeline?: TimelineEvent[]
  }
}

/** Runs in the page before its own scripts (serialised by Playwright: it uses nothing from here). */
const recordTimeline = () => {
  const now = () => performance.timeOrigin + performance.now()
  const key = `bench-timeline:${location.pathname}${location.search}`
  const timeline = JSON.parse(sessionStorage.getItem(key) ?? '[]') as TimelineEvent[]
  if (timeline.length > 0) timeline.push({ t: now(), kind: 'reload', name: '' })
  window.benchTimeline = timeline
  window.addEventListener('pagehide', () => sessionStorage.setItem(key, JSON.stringify(timeline)))
  const lastState = new Map<string, string>()
  const noteStates = () => {
    const t = now()
    for (const card of document.querySelectorAll<HTMLElement>('[data-testid=file-item]')) {
      const name = card.querySelector('.name')?.textContent ?? ''
      const local = card.dataset.localState ?? ''
      const remote = card.dataset.remoteState ?? ''
      if (lastState.get(name) === `${local}/${remote}`) continue
      lastState.set(name, `${local}/${remote}`)
      timeline.push({ t, kind: 'state', name, local, remote })
    }
  }
  // Where the store's files are, as the header counts them (only the cards on screen are in the
  // page); a page without those counts (an older version of the app) has every card in it.
  let lastCounts = ''
  const noteCounts = () => {
    const header = document.querySelector<HTMLElement>('[data-testid=sync-counts]')?.dataset
    const count = (selector: string) => document.querySelectorAll(`[data-testid=file-item]${selector}`).length
    const counts = header
      ? { files: Number(header.files), here: Number(header.here), onServer: Number(header.onServer) }
      : { files: count(''), here: count('[data-local-state=present]'), onServer: count('[data-remote-state=uploaded]') }
    const key = `${counts.files}/${counts.here}/${counts.onServer}`
    if (key === lastCounts) return
    lastCounts = key
    timeline.push({ t: now(), kind: 'counts', name: '', ...counts })
  }
  const attributeFilter = ['data-local-state', 'data-remote-state', 'data-files', 'data-here', 'data-on-server']
  new MutationObserver(() => {
    noteStates()
    noteCounts()
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter })
  const noteImage = (event: Event) => {
    const img = event.target
    if (img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0) {
      timeline.push({ t: now(), kind: img.hasAttribute('data-preview') ? 'preview' : 'image', name: img.alt })
    }
  }
  const noteInput = (event: Event) => {
    const input = event.target
    if (!(input instanceof HTMLInputElement) || input.type !== 'file') return
    const t = now()
    for (const file of input.files ?? []) timeline.push({ t, kind: 'input', name: file.name })
  }
  document.addEventListener('load', noteImage, true)
  document.addEventListener('change', noteInput, true)
}

/** Every page this context loads from now on records its timeline. */
export const recordTimelines = async (context: BrowserContext): Promise<void> => {
  await context.addInitScript(recordTimeline)
}

export const timelineOf = async (page: Page): Promise<TimelineEvent[]> => page.evaluate(() => window.benchTimeline ?? [])

/** How often the page reloaded while it recorded (the app's watchdog reloads a stalled tab). */
export const reloadsIn = (timeline: readonly TimelineEvent[]): number => timeline.filter((event) => event.kind === 'reload').length

/** Node's clock, on the same scale as the pages' (milliseconds since the epoch, sub-ms). */
export const nodeNow = (): number => performance.timeOrigin + performance.now()

export interface ClockOffset {
  /** Page time minus Node time. */
  offsetMs: number
  /** Half the shortest round trip: how far off the offset can be. */
  uncertaintyMs: number
}

/** The page's clock against Node's, from the quickest of a few round trips (as NTP does). */
export const clockOffset = async (page: Page, tries = 7): Promise<ClockOffset> => {
  let best = { offsetMs: 0, uncertaintyMs: Infinity }
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const before = nodeNow()
    const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now())
    const after = nodeNow()
    if ((after - before) / 2 < best.uncertaintyMs) best = { offsetMs: pageTime - (before + after) / 2, uncertaintyMs: (after - before) / 2 }
  }
  return best
}

export type Condition = { kind: 'state'; local?: string; remote?: string } | { kind: 'image' | 'preview' | 'input' }

const matches = (event: TimelineEvent, condition: Condition): boolean =>
  event.kind === condition.kind &&
  (condition.kind !== 'state' || ((!condition.local || event.local === condition.local) && (!condition.remote || event.remote === condition.remote)))

/** When each file first met the condition, on Node's clock; files that never did are left out. */
export const firstTimes = (timeline: TimelineEvent[], condition: Condition, offset: ClockOffset): Map<string, number> => {
  const times = new Map<string, number>()
  for (const event of timeline) {
    if (matches(event, condition) && !times.has(event.name)) times.set(event.name, event.t - offset.offsetMs)
  }
  return times
}

/** The time on Node's clock when the last of `names` first met the condition. */
export const lastOfFirstTimes = (timeline: TimelineEvent[], names: readonly string[], condition: Condition, offset: ClockOffset): number => {
  const times = firstTimes(timeline, condition, offset)
  const missing = names.filter((name) => !times.has(name))
  if (missing.length > 0) throw new Error(`never ${JSON.stringify(condition)}: ${missing.slice(0, 5).join(', ')}`)
  return Math.max(...names.map((name) => times.get(name) ?? 0))
}

export interface WaitOptions {
  timeoutMs: number
  /** How often the page checks (the times themselves come from the timeline, not from this). */
  pollMs?: number
  /** Hears where the page's cards are, every 15 s while waiting. */
  progress?: (states: string) => void
}

/** Waits until every one of `names` has met the condition in the page's timeline. */
export const waitForTimeline = async (
  page: Page,
  names: readonly string[],
  condition: Condition,
  { timeoutMs, pollMs = 100, progress }: WaitOptions,
): Promise<void> => {
  const states = () => timelineOf(page).then(describeStates, (reason: unknown) => `(page unreadable: ${String(reason)})`)
  const ticker = progress && setInterval(() => void states().then(progress), 15_000)
  try {
    await page.waitForFunction(
      ({ names, condition }) => {
        const met = new Set<string>()
        for (const event of window.benchTimeline ?? []) {
          const stateMatches = (!condition.local || event.local === condition.local) && (!condition.remote || event.remote === condition.remote)
          if (event.kind === condition.kind && (condition.kind !== 'state' || stateMatches)) met.add(event.name)
        }
        return names.every((name) => met.has(name))
      },
      { names, condition: { local: undefined, remote: undefined, ...condition } },
      { polling: pollMs, timeout: timeoutMs },
    )
  } catch (error) {
    throw new Error(`waiting for ${names.length} files to be ${JSON.stringify(condition)}: ${String(error)}\ncards by their last state: ${await states()}`)
  } finally {
    clearInterval(ticker)
  }
}

/** When the page's counts first reached at least `at least` (files, here or on the server), on Node's clock. */
export const firstCountAt = (
  timeline: readonly TimelineEvent[],
  which: 'files' | 'here' | 'onServer',
  atLeast: number,
  offset: ClockOffset,
): number | undefined => {
  const event = timeline.find((candidate) => candidate.kind === 'counts' && (candidate[which] ?? 0) >= atLeast)
  return event && event.t - offset.offsetMs
}

/** Waits until the page's counts reach at least `atLeast`; tells where they are every 15 s. */
export const waitForCount = async (
  page: Page,
  which: 'files' | 'here' | 'onServer',
  atLeast: number,
  { timeoutMs, progress }: { timeoutMs: number; progress?: (counts: string) => void },
): Promise<void> => {
  const last = () =>
    page.evaluate(() => {
      const counts = (window.benchTimeline ?? []).filter((event) => event.kind === 'counts').at(-1)
      return counts ? `files ${counts.files}, here ${counts.here}, on the server ${counts.onServer}` : 'no counts yet'
    })
  const ticker = progress && setInterval(() => void last().then(progress, () => {}), 15_000)
  try {
    await page.waitForFunction(
      ({ which, atLeast }) => (window.benchTimeline ?? []).some((event) => event.kind === 'counts' && (event[which] ?? 0) >= atLeast),
      { which, atLeast },
      { polling: 100, timeout: timeoutMs },
    )
  } catch (error) {
    throw new Error(`waiting for ${atLeast} files ${which}: ${String(error)}\nlast counts: ${await last().catch(() => '?')}`)
  } finally {
    clearInterval(ticker)
  }
}

/** How many cards are in each local/remote state at the end of a timeline, e.g. `present/uploaded: 187`. */
const describeStates = (timeline: TimelineEvent[]): string => {
  const last = new Map<string, string>()
  for (const event of timeline) if (event.kind === 'state') last.set(event.name, `${event.local}/${event.remote}`)
  const counts = new Map<string, number>()
  for (const state of last.values()) counts.set(state, (counts.get(state) ?? 0) + 1)
  return [...counts].map(([state, count]) => `${state}: ${count}`).join(', ') || 'none'
}
