/// <reference lib="webworker" />
import { serveFiles } from './file-sync/sw/index.ts'

serveFiles(self as unknown as ServiceWorkerGlobalScope)
