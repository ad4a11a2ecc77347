import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// The README's copy recipe is the example app's code (examples/plain/), quoted whole: this keeps
// the two the same.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const recipe = readme.slice(readme.indexOf('## Copy it into your app'), readme.indexOf('\n## ', readme.indexOf('## Copy it into your app') + 1))
const quoted = [...recipe.matchAll(/\[`([^`]+)`\]\(examples\/plain\/[^)]+\):\n\n```ts\n([\s\S]*?)\n```/g)].map(([, name = '', code = '']) => ({ name, code }))

describe("the README's copy recipe", () => {
  it('quotes the example app', () => {
    expect(quoted.map(({ name }) => name)).toEqual(['vite.config.ts', 'schema.ts', 'livestore.worker.ts', 'sw.ts', 'main.ts'])
  })

  it.each(quoted)('quotes $name as it is', ({ name, code }) => {
    expect(code).toBe(readFileSync(new URL(`../../examples/plain/${name}`, import.meta.url), 'utf8').trimEnd())
  })

  it('is under 30 lines of glue, imports and set-up', () => {
    const lines = quoted.flatMap(({ code }) => code.split('\n')).filter((line) => line.trim() !== '' && !line.trim().startsWith('//'))
    expect(lines.length).toBeLessThan(30)
  })
})
