/**
 * The any-event tools in the console: the probe picker suggests a workload's functions as you type,
 * "Any function: stacks" draws the stacks that reach one (live flame graph, top functions), a bad
 * pattern is refused naming options.pattern, and funclatency / runqlat snapshots open as latency
 * heat maps.
 */
import { test, expect } from '@playwright/test';
import { HOT_FN, captureViaApi, forbidDialogs, shot, startBurn, waitReady } from '../helpers.js';

const burn = () => process.env.E2E_BURN!;

test("probe picker suggests the workload's function; stackcount draws its callers live", async ({ page }) => {
  const dialogs = forbidDialogs(page);
  const w = startBurn({ secs: 40 });
  try {
    await page.goto('/');
    await page.getByTestId('tool-stackcount').click();
    const field = page.getByTestId('option-pattern');
    await field.fill(`${burn()}:bpfscope_e2e_hot`);
    // the suggestions come from the collector (the burner's ELF symbols)
    await expect(page.locator('[data-testid="probe-suggestions"] option')).toHaveCount(1, { timeout: 15_000 });
    await expect(page.locator('[data-testid="probe-suggestions"] option').first()).toHaveAttribute('value', `${burn()}:${HOT_FN}`);
    await expect(page.getByTestId('probe-note')).toContainText('1 match');
    await field.fill(`${burn()}:${HOT_FN}`);
    await page.getByTestId('duration-input').fill('4');
    await page.getByTestId('pid-input').fill(String(w.pid));
    const start = page.getByTestId('start-capture');
    await expect(start).toBeEnabled({ timeout: 20_000 });
    await start.click();
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 25_000 });
    await waitReady(page, 'flamegraph');
    await expect(page.getByTestId('top-functions')).toContainText(HOT_FN);
    await expect(page.getByTestId('top-functions')).toContainText('bpfscope_e2e_outer');
    await shot(page, 'stackcount-flamegraph');
  } finally {
    await w.stop();
  }
  expect(dialogs).toEqual([]);
});

test('a pattern that matches nothing is a 400 naming options.pattern, with close matches', async ({ request }) => {
  const r = await request.post('/api/captures', { data: { tool: 'stackcount', durationSec: 2, options: { pattern: 'vfs_raed' } } });
  expect(r.status()).toBe(400);
  const j = await r.json();
  expect(j.field).toBe('options.pattern');
  expect(j.error).toMatch(/no kernel function matches "vfs_raed"; close matches: .*vfs_read/);
});

test('funclatency and runqlat snapshots open as latency heat maps; two funclatency snapshots compare', async ({ page, request }) => {
  const w = startBurn({ secs: 30 });
  try {
    const fl = await captureViaApi(request, {
      tool: 'funclatency',
      durationSec: 2,
      save: true,
      name: 'hot leaf latency',
      options: { pattern: `${burn()}:${HOT_FN}`, pid: w.pid },
    });
    const rq = await captureViaApi(request, { tool: 'runqlat', durationSec: 2, save: true, name: 'run queue', options: { perProcess: true } });
    for (const [id, name] of [
      [fl.snapshotId, 'funclatency-heatmap'],
      [rq.snapshotId, 'runqlat-heatmap'],
    ] as const) {
      expect(id).toBeTruthy();
      await page.goto(`/s/${id}`);
      const hm = await waitReady(page, 'latency-heatmap');
      await expect.poll(async () => Number((await hm.getAttribute('data-max')) ?? 0)).toBeGreaterThan(0);
      await shot(page, name);
    }
    // two funclatency snapshots compare like biolatency's: both distributions and their difference
    const fl2 = await captureViaApi(request, {
      tool: 'funclatency',
      durationSec: 2,
      save: true,
      name: 'hot leaf latency 2',
      options: { pattern: `${burn()}:${HOT_FN}`, pid: w.pid },
    });
    await page.goto(`/compare/${fl.snapshotId}/${fl2.snapshotId}`);
    await expect(page.getByTestId('compare-hist-base')).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId('compare-hist-target')).toBeVisible();
    await expect(page.getByTestId('compare-hist-diff')).toBeVisible();
    await shot(page, 'funclatency-compare');
  } finally {
    await w.stop();
  }
});
