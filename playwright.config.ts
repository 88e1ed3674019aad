import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests: the built renderer (`npm run build` first) served by a real `digits serve`
 * (started once by e2e/globalSetup.ts), driven in Debian's Chromium. The same specs run against
 * the Electron app in the 'electron' project when an Electron runtime is installed.
 *
 * One worker: the specs share one server, whose training run and current model are global state.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  globalSetup: './e2e/globalSetup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    screenshot: 'only-on-failure',
    trace: 'off',
  },
  projects: [
    { name: 'browser', metadata: { shell: 'browser' } },
    // The server's own refusals have no Electron counterpart.
    { name: 'electron', metadata: { shell: 'electron' }, testIgnore: /server-refusals/ },
  ],
});
