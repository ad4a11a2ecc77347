/**
 * What `pnpm run deploy` checks before it deploys: the Worker has its AUTH_SECRET. Without it a
 * deployed Worker refuses every request that needs a store token (it fails closed, 503), so a
 * deploy that forgot it would ship an app that cannot sync. Pure, for the unit test; the
 * command is ../deploy.ts.
 */

export type SecretCheck = { ok: true } | { ok: false; message: string }

const howToSet = [
  'Set it once (any long random value; keep it out of the repository):',
  '  openssl rand -base64 32 | pnpm exec wrangler secret put AUTH_SECRET',
  'then run `pnpm run deploy` again.',
].join('\n')

/**
 * Reads what `wrangler secret list --format json` printed (its exit status and output): the
 * secret names of the deployed Worker, or why they could not be read.
 */
export const checkSecrets = ({ status, stdout, stderr }: { status: number | null; stdout: string; stderr: string }): SecretCheck => {
  if (status !== 0) {
    return {
      ok: false,
      message: [
        "Could not list the Worker's secrets (`wrangler secret list`):",
        (stderr || stdout).trim().split('\n').slice(-5).join('\n'),
        'Log in with `pnpm exec wrangler login`. On a first deploy the Worker does not exist yet:',
        '`wrangler secret put AUTH_SECRET` creates it with its secret.',
        howToSet,
      ].join('\n'),
    }
  }
  let names: string[]
  try {
    const listed = JSON.parse(stdout.slice(stdout.indexOf('['))) as unknown
    if (!Array.isArray(listed)) throw new Error('not a list')
    names = listed.map((entry) => String((entry as { name?: unknown }).name))
  } catch {
    return { ok: false, message: `Could not read the Worker's secrets from \`wrangler secret list\`:\n${stdout.trim().slice(0, 500)}` }
  }
  if (names.includes('AUTH_SECRET')) return { ok: true }
  return {
    ok: false,
    message: [
      'AUTH_SECRET is not set for this Worker. Without it the deployed Worker refuses every request',
      'that needs a store token (503): nothing would sync.',
      howToSet,
    ].join('\n'),
  }
}

/** Whether the Worker's `authorize` is still the development one (src/workers/authorize.ts). */
export const usesDevelopmentAuthorize = (authorizeSource: string): boolean => /export const authorize\b[^=]*=\s*developmentAuthorize\b/.test(authorizeSource)
