import { defineConfig } from '@playwright/test';
import { BASE_URL } from './stack.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../tests/support/browser.js';

export default defineConfig({
  testDir: './specs',
  globalSetup: './global-setup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // includes the one-time build in global setup when apps/web/.next is missing
  globalTimeout: 14 * 60_000,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: BASE_URL,
    viewport: { width: 1280, height: 720 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
