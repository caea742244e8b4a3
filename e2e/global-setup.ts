import type { FullConfig } from '@playwright/test';
import { startStack } from './stack.js';

/** Starts collector + web once for the whole run; the returned function is the teardown. */
export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const stack = await startStack();
  process.env.E2E_DIR = stack.dir;
  process.env.E2E_BURN = stack.burn;
  console.log(`[e2e] stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s (data dir ${stack.dir})`);
  return () => stack.stop();
}
