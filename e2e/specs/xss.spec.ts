/** A traced process named like HTML shows as text everywhere and runs nothing. */
import { test, expect } from '@playwright/test';
import { XSS_NAME, findFrame, forbidDialogs, shot, startBurn, waitReady } from '../helpers.js';

test('a process named <img src=x onerror=alert(1)> shows as text and runs nothing', async ({ page }) => {
  const dialogs = forbidDialogs(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // file name (cmdline) and comm (prctl, truncated by the kernel to 15 bytes) both carry the markup
  const w = startBurn({ fileName: XSS_NAME, comm: XSS_NAME, secs: 40 });
  try {
    await page.goto('/');
    await page.getByTestId('tool-profile').click();
    await page.getByRole('button', { name: 'Pick…' }).click();
    await page.getByTestId('pid-filter').fill(String(w.pid));
    const option = page.getByTestId('pid-option').first();
    await expect(option).toContainText('<img src=x');
    await expect(page.getByText(XSS_NAME).first()).toBeVisible();
    await option.click();
    await page.getByTestId('duration-input').fill('3');
    await page.getByTestId('start-capture').click();
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 20_000 });
    await waitReady(page, 'flamegraph');
    await expect(page.getByTestId('top-functions')).toContainText('bpfscope_e2e_hot_leaf');
    // the comm frame (kernel-truncated to 15 bytes) is drawn and described as text
    const at = await findFrame(page, '<img src=x');
    expect(at, 'the markup-named comm is a frame of the flame graph').not.toBeNull();
    await expect(page.getByTestId('flamegraph-details').first()).toContainText('<img src=x oner');
    await shot(page, 'xss-as-text');
    // nothing was parsed as markup
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('img[onerror]').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors.filter((e) => /alert|onerror/.test(e))).toEqual([]);
  } finally {
    await w.stop();
  }
});
