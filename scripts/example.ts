/**
 * `pnpm example [build|dev]`: the second app (examples/plain/) with a fresh copy of
 * src/file-sync/, made as a person copying the core would make it; then its type checks and its
 * build (`build`, what the browser test runs), or its dev server on port 5174 (`dev`; start the
 * Worker beside it with `pnpm dev:worker`).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build, createServer } from 'vite'

const root = fileURLToPath(new URL('..', import.meta.url))
export const exampleDir = `${root}examples/plain`
export const exampleConfig = `${exampleDir}/vite.config.ts`

/** Copies the core into the example, replacing an earlier copy. */
export const copyCore = (): void => {
  rmSync(`${exampleDir}/file-sync`, { recursive: true, force: true })
  cpSync(`${root}src/file-sync`, `${exampleDir}/file-sync`, { recursive: true })
}

const typecheck = (): void => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  for (const project of ['tsconfig.json', 'tsconfig.sw.json']) {
    const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', `${exampleDir}/${project}`], { stdio: 'inherit' })
    if (result.status !== 0) throw new Error(`the example does not type-check with its copy of src/file-sync (${project})`)
  }
}

export const buildExample = async (): Promise<void> => {
  copyCore()
  typecheck()
  await build({ configFile: exampleConfig, logLevel: 'warn' })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2] ?? 'build'
  if (command === 'build') await buildExample()
  else if (command === 'dev') {
    copyCore()
    const server = await createServer({ configFile: exampleConfig, server: { host: '127.0.0.1', port: 5174, strictPort: true } })
    await server.listen()
    server.printUrls()
  } else throw new Error(`pnpm example [build|dev], not ${command}`)
}
