/**
 * The README and the docs link to files, folders and headings of this repository: every relative
 * link must point at something that exists, and every `#anchor` at a heading of the page it names.
 * One failure lists every broken link.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The pages checked: the README, every page of docs/, and the LiveStore workarounds' README. */
const pages = (): string[] => [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(root, 'docs', name)),
  join(root, 'src/file-sync/livestore-0.4/README.md'),
]

/** The text without fenced code blocks, where `[x](y)` and `# x` are code, not markdown. */
const withoutCodeBlocks = (markdown: string): string[] => {
  const lines: string[] = []
  let fence: string | undefined
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined
      lines.push('')
      continue
    }
    lines.push(fence === undefined ? line : '')
  }
  return lines
}

/** A heading's anchor as GitHub makes it: lowercase, punctuation dropped (but `-` and `_`), spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')

/** Every anchor of a page; a heading seen again gets `-1`, `-2`, … as on GitHub. */
const anchorsOf = (file: string): Set<string> => {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of withoutCodeBlocks(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

interface Link {
  line: number
  target: string
}

/** The page's links `[text](target)`, outside code: inline code is blanked first, so `[x](y)` in backticks is no link. */
const linksIn = (markdown: string): Link[] =>
  withoutCodeBlocks(markdown).flatMap((line, index) =>
    [...line.replace(/`[^`]*`/g, 'code').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => ({
      line: index + 1,
      target: match[1] ?? '',
    })),
  )

/** Why a link is broken, or undefined when it holds. */
const brokenLink = (page: string, target: string): string | undefined => {
  // Other sites (and mail) are not checked here.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined
  const hash = target.indexOf('#')
  const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash))
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
  const file = path === '' ? page : resolve(dirname(page), path)
  if (!existsSync(file)) return 'no such file or folder'
  if (anchor === undefined || !file.endsWith('.md') || !statSync(file).isFile()) return undefined
  return anchorsOf(file).has(anchor) ? undefined : `no heading #${anchor} in ${relative(root, file)}`
}

describe('links in the README and the docs', () => {
  it('finds the pages', () => {
    for (const page of pages()) expect(existsSync(page), relative(root, page)).toBe(true)
  })

  it('point at files and headings that exist', () => {
    const broken = pages().flatMap((page) =>
      linksIn(readFileSync(page, 'utf8')).flatMap(({ line, target }) => {
        const why = brokenLink(page, target)
        return why === undefined ? [] : [`${relative(root, page)}:${line}: (${target}) ${why}`]
      }),
    )
    expect(broken, `broken links:\n${broken.join('\n')}`).toEqual([])
  })
})

describe('the checker itself', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('Reads: ranges and conditional requests')).toBe('reads-ranges-and-conditional-requests')
    expect(slug('Tokens and your auth check')).toBe('tokens-and-your-auth-check')
    expect(slug('The Worker ([`src/workers/cloudflare-sync.ts`](src/workers/cloudflare-sync.ts))')).toBe('the-worker-srcworkerscloudflare-syncts')
    expect(slug('Second round: per event, per merge, per gallery write')).toBe('second-round-per-event-per-merge-per-gallery-write')
  })

  it('reads links outside code only', () => {
    const markdown = ['See [a](a.md#b) and [`c`](c/).', '`[not](a link)`', '```', '[not](either)', '```', '[site](https://example.com)'].join('\n')
    expect(linksIn(markdown)).toEqual([
      { line: 1, target: 'a.md#b' },
      { line: 1, target: 'c/' },
      { line: 6, target: 'https://example.com' },
    ])
  })
})
