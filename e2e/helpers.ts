import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { CORPUS_DIR } from '../tests/support/corpus.js';

export const REPO = path.resolve(import.meta.dirname, '..');
export const CORPUS = CORPUS_DIR;
export const HOT_FN = 'bpfscope_e2e_hot_leaf';
export const XSS_NAME = '<img src=x onerror=alert(1)>';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through playwright.config.ts (global setup starts the stack)`);
  return v;
}

export interface Workload {
  pid: number;
  stop(): Promise<void>;
}

/** Starts the gcc-built burner (optionally under another file name and comm) for `secs` seconds. */
export function startBurn(opts: { comm?: string; fileName?: string; secs?: number } = {}): Workload {
  let bin = env('E2E_BURN');
  if (opts.fileName) {
    const copy = path.join(env('E2E_DIR'), opts.fileName);
    if (!fs.existsSync(copy)) fs.copyFileSync(bin, copy);
    fs.chmodSync(copy, 0o755);
    bin = copy;
  }
  const child: ChildProcess = spawn(bin, [opts.comm ?? '', String(opts.secs ?? 60)], { stdio: 'ignore' });
  if (!child.pid) throw new Error(`could not start ${bin}`);
  return {
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(import.meta.dirname, 'screenshots', `${name}.png`), fullPage: true });
}

/** Any dialog (alert/confirm) opened by page content fails the test: traced strings must never run. */
export function forbidDialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', async (d) => {
    seen.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  return seen;
}

/** Uploads a file through the API and returns the snapshot id. */
export async function uploadSnapshot(baseURL: string, body: string | Buffer, query: string): Promise<string> {
  // a Buffer may view a shared pool (ArrayBufferLike): fetch takes a view of its own ArrayBuffer
  const r = await fetch(`${baseURL}/api/snapshots?${query}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await r.text();
  expect(r.status, text).toBe(201);
  return JSON.parse(text).id as string;
}

/** Starts a capture through `POST /api/captures`, waits until it is no longer running, and returns it (state `done` checked). */
export async function captureViaApi(
  request: APIRequestContext,
  data: Record<string, unknown>,
): Promise<{ state: string; snapshotId?: string; error?: string }> {
  const r = await request.post('/api/captures', { data });
  expect(r.status(), await r.text()).toBe(202);
  const { id } = await r.json();
  let cap: { state: string; snapshotId?: string; error?: string } = { state: 'running' };
  await expect
    .poll(
      async () => {
        cap = await (await request.get(`/api/captures/${id}`)).json();
        return cap.state;
      },
      { timeout: 20_000 },
    )
    .not.toBe('running');
  expect(cap.state, cap.error).toBe('done');
  return cap;
}

export async function waitReady(page: Page, testid: string, timeout = 30_000) {
  const el = page.getByTestId(testid).first();
  await expect(el).toHaveAttribute('data-state', 'ready', { timeout });
  return el;
}

/**
 * Hovers down the middle column of the flame graph canvas until the details line names `name`;
 * returns the point (for a click that zooms there), or null.
 */
export async function findFrame(page: Page, name: string): Promise<{ x: number; y: number } | null> {
  const canvas = page.getByTestId('flamegraph').first().locator('canvas').first();
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) return null;
  const details = page.getByTestId('flamegraph-details').first();
  const seen = new Set<string>();
  for (const fx of [0.5, 0.3, 0.7, 0.15, 0.85]) {
    for (let y = box.y + 3; y < box.y + box.height; y += 5) {
      const x = box.x + box.width * fx;
      await page.mouse.move(x, y);
      const t = (await details.textContent()) ?? '';
      if (t.includes(name)) return { x, y };
      seen.add(t.trim());
    }
  }
  console.log(`[e2e] findFrame(${name}): not found in canvas ${JSON.stringify(box)}; hovered: ${JSON.stringify([...seen].slice(0, 20))}`);
  return null;
}
