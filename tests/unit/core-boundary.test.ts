import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// src/file-sync/ is what another app copies (examples/plain/ does, in its browser test): it must
// not reach outside itself, nor into the Vue app.
const core = fileURLToPath(new URL('../../src/file-sync/', import.meta.url))
const sources = (readdirSync(core, { recursive: true, encoding: 'utf8' }) as string[])
  .filter((path) => /\.(ts|js|vue)$/.test(path))
  .map((path) => join(core, path))
const importsOf = (source: string) =>
  [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+)['"]/g)].map(
    ([, from, dynamic, url]) => from ?? dynamic ?? url ?? '',
  )

describe('the copyable core (src/file-sync/)', () => {
  it('has sources to check', () => {
    expect(sources.length).toBeGreaterThan(40)
  })

  it('imports nothing outside itself but packages', () => {
    const outside = sources.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('.') && relative(core, resolve(dirname(file), specifier)).startsWith('..'))
        .map((specifier) => `${relative(core, file)} → ${specifier}`),
    )
    expect(outside).toEqual([])
  })

  it('imports no framework and names none of the app', () => {
    const found = sources.flatMap((file) => {
      const source = readFileSync(file, 'utf8')
      const vue = importsOf(source).filter((specifier) => /^(vue|@vue\/|@tanstack\/vue)/.test(specifier))
      return [...vue, ...(/gallery/i.test(source) ? ['gallery'] : [])].map((what) => `${relative(core, file)}: ${what}`)
    })
    expect(found).toEqual([])
  })

  it('is reached by an app only through its entry points', () => {
    const entries = new Set([
      'schema.ts',
      'client/index.ts',
      'client/livestore-worker.ts',
      'server/index.ts',
      'sw/index.ts',
      'livestore-0.4/index.ts',
      'vite.ts',
    ])
    const app = fileURLToPath(new URL('../../src/', import.meta.url))
    const example = fileURLToPath(new URL('../../examples/plain/', import.meta.url))
    const appSources = [
      ...(readdirSync(app, { recursive: true, encoding: 'utf8' }) as string[]).filter((path) => !path.startsWith('file-sync')).map((path) => join(app, path)),
      ...readdirSync(example).map((name) => join(example, name)),
    ].filter((path) => /\.(ts|vue)$/.test(path))
    const deep = appSources.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8')).flatMap((specifier) => {
        const target = resolve(dirname(file), specifier)
        const inCore = relative(core, target)
        const inCopy = relative(join(example, 'file-sync'), target)
        const entry = !inCore.startsWith('..') ? inCore : !inCopy.startsWith('..') ? inCopy : undefined
        return specifier.startsWith('.') && entry !== undefined && !entries.has(entry) ? [`${relative(app, file)} → ${specifier}`] : []
      }),
    )
    expect(appSources.length).toBeGreaterThan(20)
    expect(deep).toEqual([])
  })

  it('catches an import that leaves it', () => {
    const file = join(core, 'client', 'example.ts')
    const specifier = importsOf("import { schema } from '../../livestore/schema.ts'\n")[0] ?? ''
    expect(relative(core, resolve(dirname(file), specifier)).startsWith('..')).toBe(true)
  })
})
