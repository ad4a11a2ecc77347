import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

import { checkSecrets, usesDevelopmentAuthorize } from '../../scripts/deploy/secret-check.ts'

describe('the deploy check', () => {
  it('lets a Worker with AUTH_SECRET deploy', () => {
    const stdout = JSON.stringify([
      { name: 'ADMIN_SECRET', type: 'secret_text' },
      { name: 'AUTH_SECRET', type: 'secret_text' },
    ])
    expect(checkSecrets({ status: 0, stdout, stderr: '' })).toEqual({ ok: true })
  })

  it('stops a Worker without it, and says how to set it', () => {
    const check = checkSecrets({ status: 0, stdout: JSON.stringify([{ name: 'ADMIN_SECRET', type: 'secret_text' }]), stderr: '' })
    expect(check.ok).toBe(false)
    expect(!check.ok && check.message).toContain('wrangler secret put AUTH_SECRET')
  })

  it('stops when the secrets cannot be listed (not logged in, no Worker yet), naming why', () => {
    const check = checkSecrets({ status: 1, stdout: '', stderr: 'This Worker does not exist on your account. [code: 10007]' })
    expect(check.ok).toBe(false)
    expect(!check.ok && check.message).toContain('does not exist')
    expect(!check.ok && check.message).toContain('wrangler secret put AUTH_SECRET')
  })

  it('stops on output it cannot read rather than deploy', () => {
    expect(checkSecrets({ status: 0, stdout: 'something else', stderr: '' }).ok).toBe(false)
  })

  it("tells the shipped authorize() from an app's own", () => {
    expect(usesDevelopmentAuthorize('export const authorize: Authorize<DevelopmentAuthEnv> = developmentAuthorize\n')).toBe(true)
    expect(usesDevelopmentAuthorize('export const authorize: Authorize<Env> = async (request) => null\n')).toBe(false)
    expect(usesDevelopmentAuthorize(readFileSync(new URL('../../src/workers/authorize.ts', import.meta.url), 'utf8'))).toBe(true)
  })
})
