/**
 * Heat maps in headless Debian chromium: the subsecond (FlameScope) map draws, shows cell counts on
 * hover, and delivers the selected range to onSelect for click-click and for drag; the latency
 * map draws log2 rows, shows interval/bucket/count on hover, draws percentile lines and reports a
 * clicked column.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { NO_CHROMIUM, screenshotPath, withTestPage, type Rect } from './harness.js';

describe('heat maps in chromium', { skip: NO_CHROMIUM }, () => {
  let page: Page;
  let dialogs: string[];
  let errors: string[];
  withTestPage((p) => ({ page, dialogs, errors } = p));

  async function subsecond() {
    await page.evaluate(() => {
      const w = window as any;
      document.getElementById('app')!.replaceChildren();
      w.selected = [];
      // 12 s × 50 rows; a busy burst in seconds 3-5, rows 10-30; cell (s, r) gets s*100+r in second 7
      const seconds = 12;
      const rows = 50;
      const counts = new Array(seconds * rows).fill(0);
      for (let s = 0; s < seconds; s++)
        for (let r = 0; r < rows; r++) {
          let v = (s * 7 + r * 3) % 5;
          if (s >= 3 && s <= 5 && r >= 10 && r <= 30) v += 40 + ((r * 13) % 20);
          counts[s * rows + r] = v;
        }
      w.grid = { seconds, rows, counts, startTime: Date.UTC(2026, 0, 1, 12, 0, 0) };
      w.hm = w.bpfs.createSubsecondHeatmap(document.getElementById('app'), w.grid, {
        title: 'CPU samples (subsecond offset)',
        onSelect: (r: unknown) => w.selected.push(r),
      });
    });
    await page.waitForSelector('[data-testid="subsecond-heatmap"][data-state="ready"]');
  }
  const cell = (s: number, r: number) => page.evaluate(([s, r]) => (window as any).hm.cellRect(s, r) as Rect, [s, r] as const);
  const center = (c: Rect) => [c.x + c.width / 2, c.y + c.height / 2] as const;

  it('subsecond: click a start cell then an end cell delivers the range', async () => {
    await subsecond();
    assert.equal(await page.getAttribute('[data-testid="subsecond-heatmap"]', 'data-cells'), '600');
    const a = await cell(3, 10);
    await page.mouse.click(...center(a));
    assert.deepEqual(JSON.parse((await page.getAttribute('[data-testid="subsecond-heatmap"]', 'data-pending'))!), { second: 3, row: 10 });
    assert.equal(await page.evaluate(() => (window as any).selected.length), 0, 'no callback after the first click');
    const b = await cell(5, 30);
    await page.mouse.click(...center(b));
    const sel = await page.evaluate(() => (window as any).selected);
    assert.equal(sel.length, 1);
    assert.equal(sel[0].startMs, 3200, 'start of cell (3 s, row 10 × 20 ms)');
    assert.equal(sel[0].endMs, 5620, 'end of cell (5 s, row 30): 5000 + 30×20 + 20');
    assert.deepEqual(sel[0].start, { second: 3, row: 10 });
    assert.deepEqual(sel[0].end, { second: 5, row: 30 });
    const expected = await page.evaluate(() => {
      const g = (window as any).grid;
      let s = 0;
      for (let i = 3 * 50 + 10; i <= 5 * 50 + 30; i++) s += g.counts[i];
      return s;
    });
    assert.equal(sel[0].samples, expected);
    assert.equal(await page.textContent('[data-testid="subsecond-heatmap-status"]'), `Selected 3.200 s – 5.620 s (2420 ms): ${expected} samples. Esc clears.`);
    await page.screenshot({ path: screenshotPath('subsecond-selected.png') });
  });

  it('subsecond: drag from an end cell back to a start cell delivers the range in time order', async () => {
    await subsecond();
    const a = await cell(8, 49);
    const b = await cell(6, 5);
    await page.mouse.move(...center(a));
    await page.mouse.down();
    await page.mouse.move(center(a)[0] - 20, center(a)[1] - 50, { steps: 4 });
    await page.mouse.move(...center(b), { steps: 4 });
    await page.mouse.up();
    const sel = await page.evaluate(() => (window as any).selected);
    assert.equal(sel.length, 1);
    assert.equal(sel[0].startMs, 6100);
    assert.equal(sel[0].endMs, 9000);
    // hover shows the cell's time and count as text
    await page.mouse.move(...center(await cell(7, 0)));
    const tip = await page.textContent('[data-testid="subsecond-heatmap-tooltip"]');
    const c70 = await page.evaluate(() => (window as any).grid.counts[7 * 50]);
    assert.equal(tip, `7.000 s – 7.020 s (12:00:07.000)\n${c70} ${c70 === 1 ? 'sample' : 'samples'}`);
    // programmatic selection does not call onSelect; Escape clears
    await page.evaluate(() => (window as any).hm.select({ start: { second: 1, row: 0 }, end: { second: 1, row: 49 } }));
    assert.equal(await page.evaluate(() => (window as any).selected.length), 1);
    assert.deepEqual(
      await page.evaluate(() => {
        const s = (window as any).hm.selection();
        return [s.startMs, s.endMs];
      }),
      [1000, 2000],
    );
    const bad = await page.evaluate(() => {
      try {
        (window as any).hm.select({ start: { second: 99, row: 0 }, end: { second: 1, row: 0 } });
        return '';
      } catch (e) {
        return String(e);
      }
    });
    assert.match(bad, /outside the grid/);
  });

  it('subsecond: a malformed grid is rejected with a clear error', async () => {
    const err = await page.evaluate(() => {
      try {
        (window as any).bpfs.createSubsecondHeatmap(document.getElementById('app'), { seconds: 2, rows: 50, counts: [1, 2, 3] });
        return '';
      } catch (e) {
        return String(e);
      }
    });
    assert.match(err, /counts must have seconds × rows = 100 entries/);
  });

  async function latency(percentiles: number[]) {
    await page.evaluate((percentiles) => {
      const w = window as any;
      document.getElementById('app')!.replaceChildren();
      w.clicked = [];
      w.hovered = [];
      const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
      const intervals = [];
      for (let i = 0; i < 30; i++) {
        const slots = new Array(20).fill(0);
        if (i === 4) {
          slots[7] = 100; // every I/O in 128..255 µs
        } else {
          // a log-normal-ish bump around 2^(8 + i%5 / 2) µs, plus a slow tail
          for (let s = 0; s < 20; s++) slots[s] = Math.round(200 * Math.exp(-((s - 8 - (i % 5) / 2) ** 2) / 2));
          slots[16] = i % 7 === 0 ? 3 : 0;
        }
        intervals.push({ start: t0 + i * 1000, end: t0 + (i + 1) * 1000, key: 'sda', slots });
        intervals.push({ start: t0 + i * 1000, end: t0 + (i + 1) * 1000, key: 'nvme0n1', slots: slots.map((v: number) => (v ? 1 : 0)) });
      }
      w.series = { unit: 'usecs', keyKind: 'disk', intervals };
      w.lh = w.bpfs.createLatencyHeatmap(document.getElementById('app'), w.series, {
        title: 'block I/O latency (sda)',
        key: 'sda',
        percentiles,
        onColumnClick: (c: unknown) => w.clicked.push(c),
        onHover: (h: unknown) => w.hovered.push(h),
      });
    }, percentiles);
    await page.waitForSelector('[data-testid="latency-heatmap"][data-state="ready"]');
  }

  it('latency: draws log2 rows, hover shows interval, bucket and count', async () => {
    await latency([50, 99]);
    assert.equal(await page.getAttribute('[data-testid="latency-heatmap"]', 'data-columns'), '30');
    const c = (await page.evaluate(() => (window as any).lh.cellRect(4, 7)))!;
    await page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
    const tip = await page.textContent('[data-testid="latency-heatmap-tooltip"]');
    assert.equal(tip, 'interval 12:00:04.000 – 12:00:05.000\nbucket 128 – 255 µs\ncount 100');
    const h = await page.evaluate(() => (window as any).hovered.at(-1));
    assert.deepEqual(
      { ...h },
      { column: 4, slot: 7, start: Date.UTC(2026, 0, 1, 12, 0, 4), end: Date.UTC(2026, 0, 1, 12, 0, 5), low: 128, high: 255, count: 100 },
    );
    // the sda key only: the nvme counts (1 per slot) are not added
    const col = await page.evaluate(() => (window as any).lh.grid().counts[4 * 20 + 7]);
    assert.equal(col, 100);
    // percentile lines: one path per percentile, with a point per non-empty column
    assert.equal(await page.locator('[data-testid="latency-heatmap"] path[data-percentile="50"]').count(), 1);
    assert.equal(await page.locator('[data-testid="latency-heatmap"] path[data-percentile="99"]').count(), 1);
    const d = (await page.getAttribute('[data-testid="latency-heatmap"] path[data-percentile="50"]', 'd'))!;
    assert.equal((d.match(/[ML]/g) ?? []).length, 30);
    // column 4 has all 100 I/Os in slot 7: p50 is halfway through it in log space, 128·√2
    const p50 = await page.evaluate(() => (window as any).lh.percentile(50)[4]);
    assert.ok(Math.abs(p50 - 128 * Math.SQRT2) < 1e-9, `p50 ${p50}`);
    await page.screenshot({ path: screenshotPath('latency-heatmap.png') });
  });

  it('latency: clicking a column reports it; all keys are summed without a key', async () => {
    await latency([]);
    assert.equal(await page.locator('[data-testid="latency-heatmap"] path[data-percentile]').count(), 0);
    const c = (await page.evaluate(() => (window as any).lh.cellRect(9, 8)))!;
    await page.mouse.click(c.x + c.width / 2, c.y + c.height / 2);
    const clicked = await page.evaluate(() => (window as any).clicked);
    assert.equal(clicked.length, 1);
    assert.equal(clicked[0].index, 9);
    assert.equal(clicked[0].start, Date.UTC(2026, 0, 1, 12, 0, 9));
    const sum = await page.evaluate(() => (window as any).series.intervals[18].slots.reduce((a: number, b: number) => a + b, 0));
    assert.equal(clicked[0].total, sum);
    const merged = await page.evaluate(() => {
      const w = window as any;
      const g = w.bpfs.latencyGridFromSeries(w.series);
      return g.counts[4 * 20 + 7];
    });
    assert.equal(merged, 101, 'sda 100 + nvme0n1 1');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  });
});
