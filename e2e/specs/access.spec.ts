/**
 * A console reachable beyond loopback (BPFSCOPE_WEB_HOST=0.0.0.0), started with `npm run web`
 * (scripts/web.sh) beside the suite's stack: the browser must sign in to read; the viewer token
 * browses but cannot share; the operator shares a public link that opens in a browser with no
 * token, and stops working once the snapshot is private again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { REPO } from '../stack.js';
import { freePort } from '../../tests/support/net.js';

const OP = 'e2e-operator-token-0123456789';
const VIEW = 'e2e-viewer-token-9876543210';
let base = '';
let proc: ChildProcess | undefined;
let dir = '';
let id = '';

test.beforeAll(async ({ request }) => {
  test.setTimeout(150_000);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-e2e-access-'));
  const [port, joinPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'web.log'), 'a');
  proc = spawn('bash', [path.join(REPO, 'scripts/web.sh')], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      BPFSCOPE_DATA_DIR: dir,
      BPFSCOPE_DATABASE_URL: '',
      BPFSCOPE_WEB_HOST: '0.0.0.0',
      BPFSCOPE_WEB_PORT: String(port),
      BPFSCOPE_JOIN_PORT: String(joinPort),
      BPFSCOPE_WEB_TOKEN: OP,
      BPFSCOPE_VIEW_TOKEN: VIEW,
      BPFSCOPE_COLLECTORS: '',
      BPFSCOPE_COLLECTOR_URL: '',
    },
  });
  const end = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/api/session`)).status === 200) break;
    } catch {
      /* starting */
    }
    if (Date.now() > end) throw new Error(`the console did not start: ${fs.readFileSync(path.join(dir, 'web.log'), 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const r = await request.post(`${base}/api/snapshots?name=${encodeURIComponent('shared <b>view</b>')}&format=folded`, {
    data: 'shop;main;checkout;pay 70\nshop;main;checkout;tax 30\n',
    headers: { authorization: `Bearer ${OP}`, 'content-type': 'application/octet-stream' },
  });
  expect(r.status(), await r.text()).toBe(201);
  id = (await r.json()).id;
});

test.afterAll(async () => {
  if (proc?.pid && proc.exitCode === null) {
    const exited = new Promise((r) => proc!.once('exit', r));
    process.kill(-proc.pid, 'SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reading needs a token: sign-in form, wrong token refused, viewer token browses but cannot share', async ({ page, request }) => {
  // the API refuses an anonymous list
  expect((await request.get(`${base}/api/snapshots`)).status()).toBe(401);
  await page.goto(`${base}/snapshots`);
  await expect(page.getByTestId('signin')).toBeVisible();
  await expect(page.getByTestId('snapshot-row')).toHaveCount(0);
  await page.getByTestId('signin-token').fill('not-the-token');
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('signin-error')).toContainText('wrong token');
  await page.getByTestId('signin-token').fill(VIEW);
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('snapshot-row')).toHaveCount(1);
  await page.goto(`${base}/s/${id}`);
  await expect(page.getByTestId('snapshot-title')).toHaveText('shared <b>view</b>');
  await expect(page.getByTestId('flamegraph')).toHaveAttribute('data-state', 'ready');
  await page.getByTestId('make-public').click();
  await expect(page.getByTestId('share-error')).toContainText('viewer token allows browsing and exporting only');
});

test('the operator shares a public link; it opens without any token and dies when made private', async ({ page, browser }) => {
  await page.goto(`${base}/signin`);
  await page.getByTestId('signin-token').fill(OP);
  await page.getByTestId('signin-submit').click();
  await page.waitForLoadState('networkidle');
  await page.goto(`${base}/s/${id}`);
  await page.getByTestId('make-public').click();
  const link = await page.getByTestId('public-link').inputValue();
  expect(link).toMatch(new RegExp(`^${base.replace(/[.:/]/g, '\\$&')}/p/[0-9A-Za-z]{22}$`));

  const outsider = await browser.newContext();
  const p2 = await outsider.newPage();
  await p2.goto(link);
  await expect(p2.getByTestId('snapshot-title')).toHaveText('shared <b>view</b>');
  await expect(p2.getByTestId('flamegraph')).toHaveAttribute('data-state', 'ready');
  await expect(p2.getByTestId('make-public')).toHaveCount(0);
  const href = await p2.getByTestId('export-folded').getAttribute('href');
  expect(href).toMatch(/^\/api\/public\/[0-9A-Za-z]{22}\?format=folded/);
  const folded = await outsider.request.get(`${base}${href}`);
  expect(folded.status()).toBe(200);
  expect(await folded.text()).toContain('shop;main;checkout;pay 70');
  // the link opens that snapshot only
  await p2.goto(`${base}/snapshots`);
  await expect(p2.getByTestId('signin')).toBeVisible();

  await page.getByTestId('make-private').click();
  await expect(page.getByTestId('make-public')).toBeVisible();
  const gone = await p2.goto(link);
  expect(gone?.status()).toBe(404);
  await outsider.close();
});
