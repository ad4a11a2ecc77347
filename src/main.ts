import { createApp } from 'vue'
import App from './App.vue'
import { boot } from './boot.ts'
import './style.css'

const root = document.querySelector('#app')!

/**
 * LiveStore 0.4's web adapter reads the store's database file from OPFS while it opens the
 * store. When another tab of the store writes that file at the same moment (it took over as
 * leader while this tab reloaded), the browser refuses the read with a NotReadableError, and
 * the store does not open. Read again, the file is fine: the page reloads once for that.
 */
const readRacedAnotherTab = (error: unknown) => /NotReadableError/.test(String(error instanceof Error ? `${error.message} ${String(error.cause)}` : error))
const reloadKey = 'file-sync:open-retry'

boot().then(
  (services) => {
    window.sessionStorage.removeItem(reloadKey)
    createApp(App, { services }).mount(root)
  },
  (error: unknown) => {
    console.error(error)
    const last = Number(window.sessionStorage.getItem(reloadKey) ?? 0)
    if (readRacedAnotherTab(error) && Date.now() - last > 30_000) {
      window.sessionStorage.setItem(reloadKey, String(Date.now()))
      console.warn('The local store was being written by another tab while this one opened it: reloading once.')
      window.location.reload()
      return
    }
    root.textContent = `This page could not open its local store: ${error instanceof Error ? error.message : String(error)}`
  },
)
