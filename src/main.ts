import { createApp } from 'vue'
import App from './App.vue'
import { boot } from './boot.ts'
import './style.css'

const root = document.querySelector('#app')!

/**
 * LiveStore 0.4's web adapter reads the store's database file from OPFS while it opens the
 * store. When another tab of the store writes that file at the same moment (it took over as
 * leader while this tab reloaded), the browser refuses the read with a NotReadableError, and
 * the store does not open. Read again, the file is fine: the page reloads for that, after a
 * wait that doubles each time (the other tab can be writing for a while: CI saw two refusals
 * 0.8 s apart), at most five times in a minute.
 */
const readRacedAnotherTab = (error: unknown) => /NotReadableError/.test(String(error instanceof Error ? `${error.message} ${String(error.cause)}` : error))
const reloadKey = 'file-sync:open-retry'
const maxReloads = 5

/** This tab's reloads for that so far: how many, since when. */
const reloadsSoFar = (): { count: number; since: number } => {
  try {
    const parsed = JSON.parse(window.sessionStorage.getItem(reloadKey) ?? '') as { count?: unknown; since?: unknown }
    if (typeof parsed.count === 'number' && typeof parsed.since === 'number' && Date.now() - parsed.since < 60_000) {
      return { count: parsed.count, since: parsed.since }
    }
  } catch {
    // none recorded, or not by this version
  }
  return { count: 0, since: Date.now() }
}

boot().then(
  (services) => {
    window.sessionStorage.removeItem(reloadKey)
    createApp(App, { services }).mount(root)
  },
  (error: unknown) => {
    console.error(error)
    const { count, since } = reloadsSoFar()
    if (readRacedAnotherTab(error) && count < maxReloads) {
      window.sessionStorage.setItem(reloadKey, JSON.stringify({ count: count + 1, since }))
      const waitMs = 250 * 2 ** count
      console.warn(`The local store was being written by another tab while this one opened it: reloading in ${waitMs} ms.`)
      root.textContent = 'Another tab of this store is writing it: opening again…'
      setTimeout(() => window.location.reload(), waitMs)
      return
    }
    root.textContent = `This page could not open its local store: ${error instanceof Error ? error.message : String(error)}`
  },
)
