/** A 200k-stack snapshot stores, loads and draws (the load time is printed, not asserted). */
import { test, expect } from '@playwright/test';
import { shot, uploadSnapshot, waitReady } from '../helpers.js';

test('a 200k-stack snapshot opens and draws', async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(`svc${i % 7};main;loop${i % 13};handler${i % 101};parse${i % 997};step${i % 4999};fn${i} ${1 + (i % 9)}`);
  let t = Date.now();
  const id = await uploadSnapshot(baseURL!, lines.join('\n') + '\n', 'name=large-200k&format=folded');
  console.log(`[e2e] upload + import + store of 200k stacks: ${Date.now() - t} ms`);
  t = Date.now();
  await page.goto(`/s/${id}`);
  await waitReady(page, 'flamegraph', 60_000);
  console.log(`[e2e] snapshot page load for a 200k-stack profile (navigation → flame graph ready): ${Date.now() - t} ms`);
  await expect(page.getByTestId('snapshot-total')).toHaveAttribute(
    'data-value',
    String(lines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)),
  );
  await shot(page, 'large-200k');
  await page.request.delete(`/api/snapshots/${id}`);
});
