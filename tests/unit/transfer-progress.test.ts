import { afterEach, describe, expect, test } from 'vitest'
import { createTransferProgress, type TransferProgress } from '../../src/file-sync/client/transfer-progress.ts'
import { settle, waitFor } from '../support/wait.ts'

const opened: TransferProgress[] = []
afterEach(() => {
  for (const progress of opened.splice(0)) progress.close()
})

/** One tab's progress, on the store's channel (a real BroadcastChannel, as between tabs). */
const tab = (store: string, everyMs = 0) => {
  const progress = createTransferProgress({ channel: new BroadcastChannel(`transfer-progress:${store}`), everyMs })
  opened.push(progress)
  const told: Array<Record<string, number>> = []
  progress.subscribe((figures) => told.push(Object.fromEntries(figures)))
  return { progress, told }
}

describe('createTransferProgress', () => {
  test('tells the latest figure a few times a second at most, and the end of a transfer at once', async () => {
    const pending: Array<() => void> = []
    const progress = createTransferProgress({ setTimer: (callback) => void pending.push(callback) })
    const told: Array<number | undefined> = []
    progress.subscribe((figures) => told.push(figures.get('movie')))
    progress.set('movie', 100)
    progress.set('movie', 200)
    expect(progress.get('movie')).toBe(200)
    expect(told).toEqual([])
    for (const tell of pending.splice(0)) tell()
    expect(told).toEqual([200])
    progress.set('movie', 300)
    progress.clear('movie')
    expect(told).toEqual([200, undefined])
    expect(progress.get('movie')).toBe(0)
  })

  test('own() is the transfers this tab runs, not those it hears of', async () => {
    const transferring = tab('own')
    const other = tab('own')
    transferring.progress.set('movie', 10)
    await waitFor(() => other.progress.get('movie') === 10)
    expect([...transferring.progress.own()]).toEqual(['movie'])
    expect([...other.progress.own()]).toEqual([])
    transferring.progress.clear('movie')
    expect([...transferring.progress.own()]).toEqual([])
  })

  test('shows one tab’s transfers in the other tabs of the store, and their end', async () => {
    const transferring = tab('one')
    const other = tab('one')
    const elsewhere = tab('two')
    transferring.progress.set('movie', 1_000)
    await waitFor(() => other.progress.get('movie') === 1_000)
    transferring.progress.set('movie', 2_000)
    await waitFor(() => other.progress.get('movie') === 2_000)
    transferring.progress.clear('movie')
    await waitFor(() => !other.progress.all().has('movie'))
    expect(other.told.at(-1)).toEqual({})
    expect(elsewhere.told).toEqual([])
  })

  test('a tab that opens hears the transfers already running', async () => {
    const transferring = tab('one')
    const other = tab('one')
    transferring.progress.set('movie', 1_000)
    await waitFor(() => other.progress.get('movie') === 1_000)
    const late = tab('one')
    await waitFor(() => late.progress.get('movie') === 1_000)
    // Told once, by the tab that transfers: the others do not repeat what they heard.
    await settle()
    expect(late.told.filter((figures) => figures.movie === 1_000)).toHaveLength(1)
  })
})
