/**
 * Who may open which store: the one function an app writes to deploy this Worker.
 *
 * `GET /api/auth/:storeId` calls `authorize(request, storeId, env)` and signs a token for the
 * user it returns (./auth). Out of the box it is `developmentAuthorize`: anyone on this machine
 * gets any store (a loopback host: `wrangler dev`), and the log says so on every token; a deployed
 * Worker refuses every token request until you replace it with your own check, for example with
 * a session cookie your app sets:
 *
 *   export const authorize: Authorize<Env> = async (request, storeId, env) => {
 *     const session = await sessionFromCookie(request, env)   // your code
 *     if (session === undefined) return new Response('sign in first', { status: 401 })
 *     return (await mayOpen(session.userId, storeId, env)) ? { userId: session.userId } : null
 *   }
 */
import { isLoopbackRequest, type Authorize, errorResponse, type Profiles, defaultProfiles } from '../file-sync/server/index.ts'

export type DevelopmentAuthEnv = {
  /** "false" turns the development check off: every token request is refused. */
  DEV_AUTH?: string
}

/**
 * Development only: a token for any store, as user "dev", to anyone who asks on a loopback host
 * (this machine: `wrangler dev`). Elsewhere it refuses (403): a deployed Worker that still uses it
 * gives no one a token. Off everywhere (404) when `DEV_AUTH = "false"`.
 */
export const developmentAuthorize: Authorize<DevelopmentAuthEnv> = (request, storeId, env) => {
  if (env.DEV_AUTH === 'false') {
    return errorResponse(404, 'the development token endpoint is disabled (DEV_AUTH = "false"): the app must pass its own authorize()')
  }
  if (!isLoopbackRequest(request)) {
    return errorResponse(403, 'the development authorize() gives tokens only on this machine: the app must pass its own authorize() to be deployed')
  }
  console.warn(
    JSON.stringify({
      route: 'auth',
      store: storeId,
      warning: 'DEVELOPMENT auth: signed a token for anyone who asked. Pass your own authorize() before deploying (docs/worker.md: Deploying to Cloudflare).',
    }),
  )
  return { userId: 'dev' }
}

/** The check this Worker uses: replace it with your app's. */
export const authorize: Authorize<DevelopmentAuthEnv> = developmentAuthorize

/**
 * What every member of a store sees of a user who has it open (docs/presence.md): the presence
 * Durable Object asks `profiles.get(userId, env)` for each user of a token and keeps the answer
 * a few minutes. `{ name, image? }`; the user id alone by default. For example, from your users table:
 *
 *   export const profiles: Profiles<Env> = {
 *     async get(userId, env) {
 *       const user = await env.DB.prepare('SELECT name, avatar FROM users WHERE id = ?').bind(userId).first()
 *       return user ? { name: String(user.name), image: String(user.avatar) } : { name: userId }
 *     },
 *   }
 */
export const profiles: Profiles<DevelopmentAuthEnv> = defaultProfiles
