import { createApp } from 'vue'
import App from './App.vue'
import { boot } from './boot.ts'
import { reloadIfOpenRaced, storeOpened } from './file-sync/livestore-0.4/index.ts'
import './style.css'

const root = document.querySelector('#app')!

boot().then(
  (services) => {
    storeOpened()
    createApp(App, { services }).mount(root)
  },
  (error: unknown) => {
    console.error(error)
    // LiveStore 0.4 may fail to open a store another tab is writing: a reload opens it.
    if (reloadIfOpenRaced(error) !== undefined) root.textContent = 'Another tab of this store is writing it: opening again…'
    else root.textContent = `This page could not open its local store: ${error instanceof Error ? error.message : String(error)}`
  },
)
