/**
 * Browser test harness: bundles a test page entry with esbuild, serves it on 127.0.0.1 (ephemeral
 * port) and drives Debian's chromium with playwright-core (the browser and its flags are
 * tests/support/browser.ts, as for the e2e specs and bench/viz-browser).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, bundleForBrowser } from '../../../../tests/support/browser.js';

/** The `skip` of a browser test: a reason when chromium is missing, else false. */
export const NO_CHROMIUM: string | false = existsSync(CHROMIUM) ? false : `chromium not found at ${CHROMIUM} (install Debian's chromium)`;

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../../../..');
export const SCREENSHOTS = resolve(REPO, 'e2e/screenshots/viz');

/** A box on the page in CSS pixels (what the renderers' frameRect / cellRect return). */
export type Rect = { x: number; y: number; width: number; height: number };

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface Served {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve `/` (a page loading /app.js), `/app.js` and any extra routes. */
export async function serve(appJs: string, extra: Route[] = [], title = 'bpfscope viz test'): Promise<Served> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{margin:8px;font-family:system-ui,sans-serif} #app{width:1200px}</style></head>
<body><div id="app"></div><script type="module" src="/app.js"></script></body></html>`;
  const server = createServer(async (req, res) => {
    try {
      for (const r of extra) if (await r(req, res)) return;
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
      } else if (path === '/app.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(appJs);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server did not get a TCP port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** An open test page with the dialogs it opened and the errors it threw. */
export interface OpenPage {
  page: Page;
  dialogs: string[];
  errors: string[];
}

/** A page that fails the test on page errors; dialogs are recorded (and dismissed). */
export async function openPage(browser: Browser, url: string): Promise<OpenPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { bpfsReady?: boolean }).bpfsReady === true);
  return { page, dialogs, errors };
}

/**
 * Inside describe(): before its tests, bundle the test page (page.ts), serve it with the `extra`
 * routes, launch chromium and open the page, then hand it to `opened` (to keep it, and set it up);
 * after the tests, close the browser and the server.
 */
export function withTestPage(opened: (p: OpenPage) => unknown, extra: Route[] = []): void {
  let browser: Browser | undefined;
  let srv: Served | undefined;
  before(async () => {
    srv = await serve(await bundleForBrowser(resolve(here, 'page.ts')), extra);
    browser = await launch();
    await opened(await openPage(browser, srv.url));
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return resolve(SCREENSHOTS, name);
}
