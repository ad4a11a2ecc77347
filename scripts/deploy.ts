/**
 * `pnpm run deploy`: checks that the Worker has its AUTH_SECRET (./deploy/secret-check.ts), then
 * builds the app and deploys the Worker with it (`wrangler deploy --assets dist`). Refuses to
 * deploy without the secret, and says how to set it.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { checkSecrets, usesDevelopmentAuthorize } from './deploy/secret-check.ts'

const run = (command: string, args: string[]) => {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

const listed = spawnSync('wrangler', ['secret', 'list', '--format', 'json'], { encoding: 'utf8' })
const check = checkSecrets({ status: listed.status, stdout: listed.stdout ?? '', stderr: listed.stderr ?? String(listed.error ?? '') })
if (!check.ok) {
  console.error(check.message)
  process.exit(1)
}
if (usesDevelopmentAuthorize(readFileSync(new URL('../src/workers/authorize.ts', import.meta.url), 'utf8'))) {
  console.warn(
    'Note: src/workers/authorize.ts still uses the development authorize(), which gives tokens only on this machine:\n' +
      'the deployed Worker will give no one a token until you write your own check (docs/worker.md: Deploying to Cloudflare).',
  )
}
run('vite', ['build'])
run('wrangler', ['deploy', '--assets', 'dist'])
