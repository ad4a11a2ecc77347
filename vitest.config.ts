import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/unit/**/*.test.ts', 'tests/worker/**/*.test.ts'],
    testTimeout: 30_000,
    // The worker tests start `wrangler dev` in beforeAll.
    hookTimeout: 60_000,
  },
})
