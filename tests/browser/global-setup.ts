import { build } from 'vite'

/** Browser tests run against the built app, like users get it, so build it once first. */
export default async function globalSetup(): Promise<void> {
  await build({ logLevel: 'error' })
}
