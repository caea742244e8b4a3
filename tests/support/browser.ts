/**
 * The browser the viz browser tests, the e2e specs and bench/viz-browser drive: Debian's chromium
 * (BPFSCOPE_CHROMIUM names another binary), headless with software rendering, and without the
 * background services (updates, sync, networking) that would add noise to screenshots and timings;
 * and the bundling of a test page's TypeScript entry for it.
 */
import { build } from 'esbuild';

export const CHROMIUM = process.env.BPFSCOPE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/**
 * A TypeScript entry bundled for the browser as one ESM script (the `source` export condition, so
 * workspace imports need no build step). A build error rejects with esbuild's messages.
 */
export async function bundleForBrowser(entry: string, minify = false): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome110',
    conditions: ['source'],
    write: false,
    minify,
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}
