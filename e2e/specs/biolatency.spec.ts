/** Block I/O latency heat map from a real biolatency capture while direct I/O runs. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { captureViaApi, shot, waitReady } from '../helpers.js';

/** Run `cmd` in a loop until stop(), which kills the whole loop (its own process group) at once. */
function ioLoop(cmd: string): { stop: () => void } {
  const child = spawn('sh', ['-c', `while :; do ${cmd}; done`], { stdio: 'ignore', detached: true });
  return {
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

test('biolatency capture with dd oflag=direct shows cells in the latency heat map', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('tool-biolatency').click();
  await page.getByTestId('duration-input').fill('4');
  const start = page.getByTestId('start-capture');
  await expect(start).toBeEnabled({ timeout: 20_000 });
  await start.click();
  // direct writes (and reads) bypass the page cache, so each one is a block request
  const file = path.join(process.env.E2E_DIR!, 'dio.bin');
  // runs until the capture is over, however long the capture takes to start on a busy machine
  const dd = ioLoop(
    `dd if=/dev/zero of='${file}' bs=64k count=200 oflag=direct conv=fsync status=none; dd if='${file}' of=/dev/null bs=64k iflag=direct status=none`,
  );
  try {
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 25_000 });
  } finally {
    dd.stop();
  }
  const hm = await waitReady(page, 'latency-heatmap');
  await expect.poll(async () => Number((await hm.getAttribute('data-max')) ?? 0)).toBeGreaterThan(0);
  expect(Number(await hm.getAttribute('data-columns'))).toBeGreaterThan(0);
  await shot(page, 'biolatency-heatmap');
});

test('two biolatency snapshots (API captures) compare side by side with their difference', async ({ page, request }) => {
  const file = path.join(process.env.E2E_DIR!, 'dio2.bin');
  const ids: string[] = [];
  for (const bs of ['4k', '256k']) {
    const dd = ioLoop(`dd if=/dev/zero of='${file}' bs=${bs} count=64 oflag=direct conv=fsync status=none`);
    try {
      const cap = await captureViaApi(request, { tool: 'biolatency', durationSec: 2, name: `bio ${bs}` });
      ids.push(cap.snapshotId!);
    } finally {
      dd.stop();
    }
  }
  await page.goto(`/compare/${ids[0]}/${ids[1]}`);
  await expect(page.getByTestId('compare-hist-base')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('compare-hist-target')).toBeVisible();
  await expect(page.getByTestId('compare-hist-diff')).toBeVisible();
  await shot(page, 'biolatency-compare');
});
