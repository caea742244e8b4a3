/** Profile a busy C workload from the browser: live flame graph, search, zoom, save, share. */
import { test, expect } from '@playwright/test';
import { HOT_FN, findFrame, forbidDialogs, shot, startBurn, waitReady } from '../helpers.js';

test('profile a busy workload, search and zoom, save a snapshot and open its link in a fresh context', async ({ page, browser }) => {
  const dialogs = forbidDialogs(page);
  const w = startBurn({ secs: 40 });
  try {
    await page.goto('/');
    await expect(page.getByTestId('collector-status')).toBeVisible();
    await page.getByTestId('tool-profile').click();
    await page.getByTestId('duration-input').fill('5');
    await page.getByTestId('pid-input').fill(String(w.pid));
    const start = page.getByTestId('start-capture');
    await expect(start).toBeEnabled({ timeout: 20_000 });
    const t0 = Date.now();
    await start.click();
    // the flame graph grows live, before the capture ends
    const fg = page.getByTestId('flamegraph').first();
    await expect.poll(async () => Number((await fg.getAttribute('data-frames')) ?? 0), { timeout: 15_000 }).toBeGreaterThan(0);
    console.log(`[e2e] time to first live flame graph after clicking Start: ${Date.now() - t0} ms`);
    await shot(page, 'console-live');
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 20_000 });
    await waitReady(page, 'flamegraph');
    await expect(page.getByTestId('top-functions')).toContainText(HOT_FN);

    // search
    await page.getByTestId('search-input').first().fill(HOT_FN);
    await expect(page.getByTestId('search-match').first()).toContainText('%');
    await expect.poll(async () => Number((await fg.getAttribute('data-match-share')) ?? 0)).toBeGreaterThan(0.5);
    await shot(page, 'console-search');

    // zoom into the function by clicking it on the canvas
    const at = await findFrame(page, HOT_FN);
    expect(at, `${HOT_FN} is drawn in the flame graph`).not.toBeNull();
    await page.mouse.click(at!.x, at!.y);
    await expect(fg).toHaveAttribute('data-zoom', new RegExp(HOT_FN));
    await expect(page.getByTestId('reset-zoom').first()).toBeEnabled();
    await shot(page, 'console-zoomed');
    await page.getByTestId('reset-zoom').first().click();
    await expect(fg).not.toHaveAttribute('data-zoom', new RegExp(HOT_FN));

    // save, then open the link in a fresh browser context (no shared state)
    await page.getByTestId('snapshot-name').fill('e2e busy loop');
    await page.getByTestId('snapshot-notes').fill('saved by the e2e suite');
    await page.getByTestId('save-snapshot').click();
    const link = page.getByTestId('snapshot-link');
    await expect(link).toBeVisible();
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/s\/[0-9A-Za-z]{10}$/);

    const ctx = await browser.newContext();
    try {
      const p2 = await ctx.newPage();
      const d2 = forbidDialogs(p2);
      await p2.goto(href!);
      await waitReady(p2, 'flamegraph');
      await expect(p2.getByTestId('snapshot-title')).toContainText('e2e busy loop');
      await expect(p2.getByTestId('top-functions')).toContainText(HOT_FN);
      // the view state lives in the URL: a search in the link opens searched
      await p2.goto(`${href}?q=${HOT_FN}`);
      await waitReady(p2, 'flamegraph');
      await expect(p2.getByTestId('search-input').first()).toHaveValue(HOT_FN);
      await shot(p2, 'snapshot-fresh-context');
      // zoom by clicking: the URL gets the zoom, and that URL opens zoomed elsewhere
      const fg2 = p2.getByTestId('flamegraph').first();
      const outer = await findFrame(p2, 'bpfscope_e2e_outer');
      expect(outer, 'bpfscope_e2e_outer is drawn').not.toBeNull();
      await p2.mouse.click(outer!.x, outer!.y);
      await expect(fg2).toHaveAttribute('data-zoom', /bpfscope_e2e_outer/);
      await expect(p2).toHaveURL(/[?&]zoom=/);
      const zoomAttr = await fg2.getAttribute('data-zoom');
      const zoomedUrl = p2.url();
      const p3 = await ctx.newPage();
      await p3.goto(zoomedUrl);
      await waitReady(p3, 'flamegraph');
      await expect(p3.getByTestId('flamegraph').first()).toHaveAttribute('data-zoom', zoomAttr!);
      await shot(p3, 'snapshot-zoom-link');
      // Esc resets the zoom (keyboard shortcut)
      await p2.locator('body').click({ position: { x: 5, y: 5 } });
      await p2.keyboard.press('Escape');
      await expect(fg2).not.toHaveAttribute('data-zoom', /bpfscope_e2e_outer/);
      expect(d2).toEqual([]);
    } finally {
      await ctx.close();
    }
    expect(dialogs).toEqual([]);
  } finally {
    await w.stop();
  }
});
