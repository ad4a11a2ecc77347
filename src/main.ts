import { createApp } from 'vue'
import App from './App.vue'
import { boot } from './boot.ts'
import './style.css'

const root = document.querySelector('#app')!

boot().then(
  (services) => createApp(App, { services }).mount(root),
  (error: unknown) => {
    console.error(error)
    root.textContent = `This page could not open its local store: ${error instanceof Error ? error.message : String(error)}`
  },
)
