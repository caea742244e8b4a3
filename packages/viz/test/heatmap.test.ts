import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  subsecondGrid,
  selectRange,
  gridCellRange,
  latencyGrid,
  histogramPercentile,
  slotRange,
  slotOf,
  importPerfScript,
  type HistogramSeries,
} from '@bpfscope/viz';
import { corpusText, profileFromText, stackMap } from './helpers.js';

test('subsecondGrid: column = second, row = subsecond offset (FlameScope)', () => {
  const t0 = 1_700_000_000_000;
  const p = profileFromText('a;x 1\na;y 1\na;x 1\na;z 1', { times: [t0 + 5, t0 + 25, t0 + 1999, t0 + 3010] });
  const g = subsecondGrid(p);
  assert.equal(g.rows, 50);
  assert.equal(g.rowMs, 20);
  assert.equal(g.columns, 4);
  assert.equal(g.startTime, t0);
  assert.equal(g.values[0 * 50 + 0], 1); // 5 ms
  assert.equal(g.values[0 * 50 + 1], 1); // 25 ms
  assert.equal(g.values[1 * 50 + 49], 1); // 1999 ms
  assert.equal(g.values[3 * 50 + 0], 1); // 3010 ms
  assert.equal(g.total, 4);
  assert.equal(g.max, 1);
  assert.equal(subsecondGrid(p, { rows: 10 }).values[0], 2);
  assert.throws(() => subsecondGrid(profileFromText('a 1')), /no timeline/);
});

test('selectRange gives the sub-profile of a time range; grid cells map to ranges', () => {
  const t0 = 1_700_000_000_000;
  const p = profileFromText('a;x 1\na;y 1\na;x 1\na;z 1', { times: [t0 + 5, t0 + 25, t0 + 1999, t0 + 3010] });
  const [s, e] = gridCellRange({ rowMs: 20 }, { col: 0, row: 1 }, { col: 1, row: 49 });
  assert.deepEqual([s, e], [20, 2000]);
  const sub = selectRange(p, s, e);
  assert.deepEqual(Object.fromEntries(stackMap(sub)), { 'a;x': 1, 'a;y': 1 });
  assert.equal(sub.meta.startTime, t0 + 20);
  assert.equal(sub.meta.durationMs, 1980);
  assert.throws(() => selectRange(p, 5, 5), /startMs < endMs/);
});

test('corpus perf script: 10 s of samples on the subsecond grid; a 1 s selection', () => {
  const p = importPerfScript(corpusText('perf-script-busy.txt.gz'));
  const g = subsecondGrid(p);
  assert.ok(g.columns >= 10 && g.columns <= 12, `${g.columns} columns`);
  assert.equal(g.total, 9880);
  // two CPUs at 499 Hz: ~20 samples per 20 ms cell when busy
  assert.ok(g.max >= 15 && g.max <= 24, `max ${g.max}`);
  const off0 = Math.min(...p.timeline!.offsetMs);
  const sec = selectRange(p, off0 + 2000, off0 + 3000);
  assert.ok(sec.total > 900 && sec.total < 1050, `1 s has ${sec.total} samples`);
});

test('latencyGrid: time × log2 buckets with percentiles; keys', () => {
  const h: HistogramSeries = {
    unit: 'usecs',
    keyKind: 'disk',
    intervals: [
      { start: 0, end: 1000, key: 'sda', slots: [0, 0, 10, 80, 10] },
      { start: 0, end: 1000, key: 'nvme0n1', slots: [5, 5] },
      { start: 1000, end: 2000, key: 'sda', slots: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100] },
    ],
  };
  const all = latencyGrid(h);
  assert.equal(all.columns.length, 2);
  assert.equal(all.buckets, 11);
  assert.deepEqual([...all.values.slice(0, 5)], [5, 5, 10, 80, 10]);
  assert.equal(all.stats[0].count, 110);
  const sda = latencyGrid(h, { key: 'sda' });
  assert.equal(sda.stats[0].count, 100);
  // p50 of sda interval 0 lies in slot 3 = [8, 15]
  assert.ok(sda.stats[0].p50 >= 8 && sda.stats[0].p50 <= 16);
  assert.ok(sda.stats[1].p99 >= 1024 && sda.stats[1].p99 <= 2048);
  assert.deepEqual(sda.bucketRanges[3], [8, 15]);
  assert.throws(() => latencyGrid(h, { key: 'sdz' }), /no intervals with key "sdz"/);
  assert.deepEqual(slotRange(0), [0, 1]);
  assert.equal(slotOf(1), 0);
  assert.equal(slotOf(8), 3);
  assert.ok(Number.isNaN(histogramPercentile([0, 0], 50)));
});
