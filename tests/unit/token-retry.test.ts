import { describe, expect, it, vi } from 'vitest'
import { withFreshToken } from '../../src/file-sync/shared/token-retry.ts'

describe('a request whose token the server refused', () => {
  it('goes once more with a fresh token, and the second answer stands', async () => {
    const attempt = vi.fn(async (refresh: boolean) => ({ status: 401, refresh }))
    const discard = vi.fn()
    const outcome = await withFreshToken(attempt, { refused: (answer) => answer.status === 401, discard })
    expect(attempt.mock.calls).toEqual([[false], [true]])
    expect(discard).toHaveBeenCalledWith({ status: 401, refresh: false })
    expect(outcome).toEqual({ status: 401, refresh: true })
  })

  it('goes once when the token was taken', async () => {
    const attempt = vi.fn(async (refresh: boolean) => ({ status: 200, refresh }))
    expect(await withFreshToken(attempt, { refused: (answer) => answer.status === 401 })).toEqual({ status: 200, refresh: false })
    expect(attempt).toHaveBeenCalledTimes(1)
  })

  it('lets a failure through untouched', async () => {
    const attempt = vi.fn(async () => Promise.reject(new Error('offline')))
    await expect(withFreshToken(attempt, { refused: () => true })).rejects.toThrow('offline')
    expect(attempt).toHaveBeenCalledTimes(1)
  })
})
