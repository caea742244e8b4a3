/** An optimized C program with debug info in the console: inlined functions are frames of their own, and the frame details list a function's hottest source lines. */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { findFrame, forbidDialogs, shot, waitReady } from '../helpers.js';

test("profile an -O2 -g program: its inlined functions appear above the function they were inlined into; il_leaf's hottest line is its loop", async ({
  page,
}) => {
  const dialogs = forbidDialogs(page);
  const dir = process.env.E2E_DIR!;
  const bin = path.join(dir, 'inline_o2');
  execFileSync('gcc', ['-O2', '-g', '-o', bin, path.join(import.meta.dirname, '..', 'fixtures', 'inline.c')]);
  const child = spawn(bin, ['40'], { stdio: 'ignore' });
  try {
    await page.goto('/');
    await page.getByTestId('tool-profile').click();
    await page.getByTestId('duration-input').fill('4');
    await page.getByTestId('pid-input').fill(String(child.pid));
    const start = page.getByTestId('start-capture');
    await expect(start).toBeEnabled({ timeout: 20_000 });
    await start.click();
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 30_000 });
    await waitReady(page, 'flamegraph');
    await expect(page.getByTestId('top-functions')).toContainText('il_leaf');
    const at = await findFrame(page, 'il_leaf');
    expect(at, 'il_leaf is drawn').not.toBeNull();
    await expect(page.getByTestId('flamegraph-details').first()).toContainText('il_leaf [inlined]');
    await shot(page, 'console-inline-frames');
    // the inline chain: zoom on il_outer, il_mid (inlined) is drawn inside it
    const outer = await findFrame(page, 'il_outer');
    expect(outer, 'il_outer is drawn').not.toBeNull();
    const mid = await findFrame(page, 'il_mid');
    expect(mid, 'il_mid is drawn').not.toBeNull();
    await expect(page.getByTestId('flamegraph-details').first()).toContainText('il_mid [inlined]');
    // frame details: the sandwich of il_leaf lists its hottest source line, its multiply-add loop (inline.c:8)
    await page.getByTestId('view-sandwich').click();
    await page.getByTestId('top-functions').getByRole('link', { name: 'il_leaf', exact: true }).click();
    await expect(page.getByTestId('sandwich')).toHaveAttribute('data-fn', 'il_leaf');
    await expect(page.getByTestId('source-line').first()).toContainText('inline.c:8');
    await shot(page, 'console-source-lines');
    expect(dialogs).toEqual([]);
  } finally {
    child.kill('SIGKILL');
  }
});
