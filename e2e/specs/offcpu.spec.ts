/** Off-CPU and off-wake flame graphs of a shell that keeps blocking in wait4/nanosleep. */
import { spawn } from 'node:child_process';
import { test, expect } from '@playwright/test';
import { shot, waitReady } from '../helpers.js';

for (const tool of ['offcputime', 'offwaketime'] as const) {
  test(`${tool}: a blocking shell loop shows up in the flame graph`, async ({ page }) => {
    const sh = spawn('sh', ['-c', 'while :; do sleep 0.02; done'], { stdio: 'ignore' });
    try {
      await page.goto('/');
      await page.getByTestId(`tool-${tool}`).click();
      await page.getByTestId('duration-input').fill('3');
      await page.getByTestId('pid-input').fill(String(sh.pid));
      const start = page.getByTestId('start-capture');
      await expect(start).toBeEnabled({ timeout: 20_000 });
      await start.click();
      await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 25_000 });
      const fg = await waitReady(page, 'flamegraph');
      await expect.poll(async () => Number((await fg.getAttribute('data-frames')) ?? 0)).toBeGreaterThan(1);
      // the shell waits for its child: a wait syscall is on the blocked stack
      await expect(page.getByTestId('top-functions')).toContainText(/wait|schedule/i);
      await shot(page, `${tool}-flamegraph`);
    } finally {
      sh.kill('SIGKILL');
    }
  });
}
