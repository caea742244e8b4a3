/** Import the corpus perf file in the browser; compare two snapshots and see the diff colours. */
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { CORPUS, shot, uploadSnapshot, waitReady } from '../helpers.js';

test('import the corpus perf script by file input and see 9880 samples', async ({ page }) => {
  await page.goto('/snapshots');
  await page.getByTestId('import-input').setInputFiles(path.join(CORPUS, 'perf-script-busy.txt.gz'));
  const result = page.getByTestId('import-result');
  await expect(result).toBeVisible({ timeout: 30_000 });
  await result.getByRole('link').click();
  await waitReady(page, 'flamegraph');
  const total = page.getByTestId('snapshot-total');
  await expect(total).toHaveAttribute('data-value', '9880');
  await expect(total).toContainText(/9[,.\u202f\u00a0]?880/);
  await shot(page, 'import-perf-script');
});

/** Counts clearly red and clearly blue pixels of the flame graph canvas. */
async function diffColours(page: import('@playwright/test').Page): Promise<{ red: number; blue: number }> {
  return page
    .getByTestId('flamegraph')
    .first()
    .locator('canvas')
    .first()
    .evaluate((c: HTMLCanvasElement) => {
      const ctx = c.getContext('2d')!;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let red = 0;
      let blue = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
        if (r > 180 && r - b > 60 && r - g > 40) red++;
        else if (b > 180 && b - r > 60 && b - g > 20) blue++;
      }
      return { red, blue };
    });
}

test('compare two snapshots: red where it grew, blue where it shrank', async ({ page, baseURL }) => {
  const before = await uploadSnapshot(baseURL!, 'app;main;parse 300\napp;main;render 300\napp;main;io 100\n', 'name=cmp-before&format=folded');
  const after = await uploadSnapshot(baseURL!, 'app;main;parse 600\napp;main;render 50\napp;main;cache 60\n', 'name=cmp-after&format=folded');
  await page.goto(`/compare/${before}/${after}`);
  await waitReady(page, 'flamegraph');
  await expect(page.getByTestId('compare-delta-table')).toContainText('parse');
  await expect(page.getByTestId('compare-only-target')).toContainText('cache');
  await expect(page.getByTestId('compare-only-base')).toContainText('io');
  await expect.poll(() => diffColours(page)).toMatchObject({ red: expect.any(Number), blue: expect.any(Number) });
  const c = await diffColours(page);
  expect(c.red, 'grown frames are drawn red').toBeGreaterThan(200);
  expect(c.blue, 'shrunk frames are drawn blue').toBeGreaterThan(200);
  await shot(page, 'compare-diff');
});
