import { describe, expect, test } from 'vitest'
import { createWebPickJournal } from '../../src/file-sync/client/pick-journal.ts'
import { createMemoryStorage } from '../support/fakes.ts'

/**
 * Web Locks as the browser has them for the tabs of one origin: a lock is held until the promise
 * its callback returns settles, and `query()` lists those held. `closeTab` releases a tab's locks,
 * as the browser does when a page goes away.
 */
const sharedLocks = () => {
  const held = new Map<string, string>()
  const forTab = (tab: string): LockManager =>
    ({
      async request(name: string, callback: () => Promise<unknown>) {
        if (held.has(name)) throw new Error(`lock ${name} taken`)
        held.set(name, tab)
        try {
          return await callback()
        } finally {
          if (held.get(name) === tab) held.delete(name)
        }
      },
      query: async () => ({ held: [...held.keys()].map((name) => ({ name, mode: 'exclusive' as const })), pending: [] }),
    }) as unknown as LockManager
  const closeTab = (tab: string) => {
    for (const [name, owner] of held) if (owner === tab) held.delete(name)
  }
  return { forTab, closeTab }
}

const photos = (...names: string[]) => names.map((name, index) => ({ id: `id-${name}`, name, size: 100 + index }))

describe('createWebPickJournal', () => {
  test('a pick being saved in another tab is not reported; once that tab is gone, it is, once', async () => {
    const storage = createMemoryStorage()
    const locks = sharedLocks()
    const saving = createWebPickJournal({ storage, locks: locks.forTab('first'), prefix: 'picks:store:' })
    const other = createWebPickJournal({ storage, locks: locks.forTab('second'), prefix: 'picks:store:' })
    await saving.begin(photos('a.jpg', 'b.jpg'))
    expect(await other.takeUnfinished()).toEqual([])
    locks.closeTab('first')
    expect(await other.takeUnfinished()).toEqual(photos('a.jpg', 'b.jpg'))
    expect(await other.takeUnfinished()).toEqual([])
  })

  test('a pick that ended saved is forgotten; one that ended before its commits were on disk stays for the next page', async () => {
    const storage = createMemoryStorage()
    const locks = sharedLocks()
    const journal = createWebPickJournal({ storage, locks: locks.forTab('tab'), prefix: 'picks:store:' })
    const saved = await journal.begin(photos('saved.jpg'))
    saved.end({ saved: true })
    const unsure = await journal.begin(photos('unsure.jpg'))
    unsure.end({ saved: false })
    await Promise.resolve()
    expect(await journal.takeUnfinished()).toEqual(photos('unsure.jpg'))
  })

  test("reads only its own store's picks, and ignores what it cannot read", async () => {
    const storage = createMemoryStorage()
    const locks = sharedLocks()
    const here = createWebPickJournal({ storage, locks: locks.forTab('tab'), prefix: 'picks:here:' })
    const elsewhere = createWebPickJournal({ storage, locks: locks.forTab('tab'), prefix: 'picks:elsewhere:' })
    await elsewhere.begin(photos('other store.jpg'))
    storage.setItem('picks:here:broken', '{not json')
    storage.setItem('picks:here:odd', JSON.stringify([{ id: 1 }, { id: 'ok', name: 'kept.jpg', size: 3 }]))
    locks.closeTab('tab')
    expect(await here.takeUnfinished()).toEqual([{ id: 'ok', name: 'kept.jpg', size: 3 }])
    expect(storage.getItem('picks:here:broken')).toBeNull()
    expect(await elsewhere.takeUnfinished()).toEqual(photos('other store.jpg'))
  })
})
