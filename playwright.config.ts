import { defineConfig } from '@playwright/test'

// Browser tests drive the system's Chromium (browsers cannot be downloaded here) against the
// built app served by `vite preview` and a real Worker under `wrangler dev`, both started per
// test by the fixtures in tests/browser/fixtures.ts.
export default defineConfig({
  testDir: 'tests/browser',
  globalSetup: './tests/browser/global-setup.ts',
  // Each test runs two browsers, a Worker and a page server: one test at a time on 2 cores.
  workers: 1,
  fullyParallel: false,
  // One more try for a test that fails: LiveStore 0.4's sync can still leave a device behind
  // now and then where its patched leader does not catch up by itself (upstream #1530, #1365;
  // see docs/guarantees.md; the watchdog reloads a tab once in ten minutes). A test that passes
  // only on its second try is listed as flaky in the output.
  retries: 1,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: process.env.CI ? [['list']] : [['list']],
  use: { trace: 'retain-on-failure' },
})
