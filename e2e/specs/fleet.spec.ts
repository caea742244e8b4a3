/**
 * A fleet capture in the browser: a second collector joins the hub from its side (`--hub`), the
 * console lists it with its label, one profile runs on both hosts, the live view shows the merged
 * flame graph with a per-host breakdown, "grouped by host" puts each host at the root, and the
 * saved snapshot keeps both hosts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { HOT_FN, REPO, findFrame, forbidDialogs, shot, startBurn, waitReady } from '../helpers.js';
import { JOIN_PORT } from '../stack.js';
import { joinFlags } from '../../tests/support/collector.js';
import { freePort } from '../../tests/support/net.js';

let joined: ChildProcess | null = null;

test.afterAll(async () => {
  if (joined && joined.exitCode === null) {
    const exited = new Promise((r) => joined!.once('exit', r));
    joined.kill('SIGTERM');
    await exited;
  }
});

test('a joined host and the local one run one capture: merged live view, per-host breakdown, grouped by host, saved with both', async ({ page, request }) => {
  const dialogs = forbidDialogs(page);
  const dir = process.env.E2E_DIR!;
  joined = spawn(
    process.execPath,
    [
      path.join(REPO, 'apps/collector/bin/bpfscope.js'),
      'serve',
      '--port',
      String(await freePort()),
      ...joinFlags(JOIN_PORT, path.join(dir, 'join.token'), 'e2e-joined', ['role=e2e']),
    ],
    { stdio: 'ignore', env: { ...process.env, BPFSCOPE_LOG_LEVEL: 'warn' } },
  );
  await expect
    .poll(
      async () =>
        ((await (await request.get('/api/collectors?label=role=e2e')).json()).collectors as { id: string; healthy: boolean }[]).map(
          (c) => `${c.id}:${c.healthy}`,
        ),
      {
        timeout: 30_000,
      },
    )
    .toEqual(['e2e-joined:true']);

  const w = startBurn({ secs: 40 });
  try {
    await page.goto('/');
    const hosts = page.getByTestId('collector-status');
    await expect(hosts.locator('[data-collector="e2e-joined"]')).toContainText('role=e2e');
    await page.getByTestId('target-hosts').check();
    await page.getByTestId('pick-local').check();
    await page.getByTestId('pick-e2e-joined').check();
    await page.getByTestId('tool-profile').click();
    await page.getByTestId('duration-input').fill('4');
    // both collectors run on this machine: the same PID is the same process for both
    await page.getByTestId('pid-input').fill(String(w.pid));
    await page.getByTestId('start-capture').click();

    const breakdown = page.getByTestId('fleet-hosts');
    await expect(breakdown).toBeVisible({ timeout: 15_000 });
    const fg = page.getByTestId('flamegraph').first();
    await expect.poll(async () => Number((await fg.getAttribute('data-frames')) ?? 0), { timeout: 15_000 }).toBeGreaterThan(0);
    await shot(page, 'fleet-live');
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 25_000 });
    await expect(page.getByTestId('fleet-counts')).toHaveText('2 done · 0 failed');
    await expect(breakdown.locator('tr[data-host="local"]')).toHaveAttribute('data-state', 'done');
    await expect(breakdown.locator('tr[data-host="e2e-joined"]')).toHaveAttribute('data-state', 'done');

    // merged: the workload's function is drawn, no host frame at the root
    await waitReady(page, 'flamegraph');
    expect(await findFrame(page, HOT_FN)).not.toBeNull();
    expect(await findFrame(page, 'e2e-joined')).toBeNull();
    // grouped by host: each host is a root frame
    await page.getByTestId('fleet-by-host').check();
    await waitReady(page, 'flamegraph');
    await expect.poll(() => findFrame(page, 'e2e-joined')).not.toBeNull();
    expect(await findFrame(page, 'local')).not.toBeNull();
    await shot(page, 'fleet-by-host');

    // saved: the snapshot keeps both hosts; compare one host against the rest (the diff view)
    await page.getByTestId('snapshot-name').fill('e2e fleet');
    await page.getByTestId('save-snapshot').click();
    const link = page.getByTestId('snapshot-link');
    await expect(link).toBeVisible();
    await page.goto((await link.getAttribute('href'))!);
    const saved = page.getByTestId('fleet-hosts');
    await expect(saved.locator('tr[data-host="local"]')).toHaveAttribute('data-state', 'done');
    await expect(saved.locator('tr[data-host="e2e-joined"]')).toHaveAttribute('data-state', 'done');
    await saved.getByTestId('compare-rest-e2e-joined').click();
    await expect(page.getByTestId('compare-hosts')).toContainText('e2e-joined');
    await waitReady(page, 'flamegraph');
    await shot(page, 'fleet-compare-host');
  } finally {
    await w.stop();
  }
  expect(dialogs).toEqual([]);
});
