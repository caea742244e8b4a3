/** Subsecond grid and range selection from a timeline, as the console uses them (viz's subsecondGrid, selectRange). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectRange, subsecondGrid, type Profile } from '@bpfscope/viz';

const p: Profile = {
  unit: 'samples',
  frames: [
    { name: 'a', kind: 'user' },
    { name: 'b', kind: 'user' },
  ],
  stacks: [
    { frames: [0], weight: 3 },
    { frames: [1], weight: 4 },
  ],
  total: 7,
  meta: { tool: 'profile' },
  timeline: { resolutionMs: 10, startTime: 1000, offsetMs: [0, 15, 990, 1500, 2010], stack: [0, 0, 1, 1, 0], count: [1, 1, 2, 2, 1] },
};

test('grid: one column per second, 50 rows of 20 ms, column-major', () => {
  const g = subsecondGrid({ timeline: p.timeline });
  assert.equal(g.columns, 3);
  assert.equal(g.rows, 50);
  assert.equal(g.values.length, 150);
  assert.equal(g.values[0], 2); // 0 and 15 ms share the first 20 ms cell
  assert.equal(g.values[49], 2); // 990 ms
  assert.equal(g.values[50 + 25], 2); // 1500 ms
  assert.equal(g.values[100 + 0], 1); // 2010 ms
  assert.equal(
    g.values.reduce((a, b) => a + b, 0),
    7,
  );
  assert.equal(g.startTime, 1000);
});

test('selectRange sums only the samples inside [start, end), keeps the frame table and that part of the timeline', () => {
  const r = selectRange(p, 0, 1000);
  assert.equal(r.total, 4);
  assert.deepEqual(
    r.stacks.map((s) => [r.frames[s.frames[0]].name, s.weight]),
    [
      ['a', 2],
      ['b', 2],
    ],
  );
  assert.equal(r.frames, p.frames);
  assert.deepEqual(r.timeline?.offsetMs, [0, 15, 990]);
  assert.equal(selectRange(p, 1000, 1500).total, 0);
  assert.equal(selectRange(p, 1500, 3000).total, 3);
  assert.equal(r.meta.startTime, 1000);
  assert.equal(r.meta.durationMs, 1000);
});
