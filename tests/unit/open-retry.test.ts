import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { reloadIfOpenRaced, storeOpened } from '../../src/file-sync/livestore-0.4/open-retry.ts'
import { createMemoryStorage } from '../support/fakes.ts'

describe('a store that did not open because another tab was writing it (LiveStore 0.4)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.spyOn(console, 'warn').mockImplementation(() => {})
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
  const raced = new Error('boot failed', { cause: new DOMException('The file could not be read.', 'NotReadableError') })

  it('reloads after a wait that doubles, at most five times in a minute', () => {
    const storage = createMemoryStorage()
    const reload = vi.fn()
    const waits = Array.from({ length: 6 }, () => reloadIfOpenRaced(raced, { storage, reload }))
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, undefined])
    vi.advanceTimersByTime(4000)
    expect(reload).toHaveBeenCalledTimes(5)
  })

  it('does nothing for another error', () => {
    const reload = vi.fn()
    expect(reloadIfOpenRaced(new Error('QuotaExceededError'), { storage: createMemoryStorage(), reload })).toBeUndefined()
    vi.runAllTimers()
    expect(reload).not.toHaveBeenCalled()
  })

  it('starts counting again once the store opened, or after a minute', () => {
    const storage = createMemoryStorage()
    const reload = vi.fn()
    for (let i = 0; i < 5; i++) reloadIfOpenRaced(raced, { storage, reload })
    storeOpened(storage)
    expect(reloadIfOpenRaced(raced, { storage, reload })).toBe(250)
    for (let i = 0; i < 4; i++) reloadIfOpenRaced(raced, { storage, reload })
    expect(reloadIfOpenRaced(raced, { storage, reload })).toBeUndefined()
    vi.setSystemTime(Date.now() + 61_000)
    expect(reloadIfOpenRaced(raced, { storage, reload })).toBe(250)
  })
})
