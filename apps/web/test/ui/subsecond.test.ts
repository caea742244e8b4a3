/** Subsecond grid and range selection from a timeline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '@bpfscope/viz';
import { profileInRange, subsecondGrid } from '../../lib/subsecond';

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
  const g = subsecondGrid(p.timeline!);
  assert.equal(g.seconds, 3);
  assert.equal(g.rows, 50);
  assert.equal(g.counts.length, 150);
  assert.equal(g.counts[0], 2); // 0 and 15 ms share the first 20 ms cell
  assert.equal(g.counts[49], 2); // 990 ms
  assert.equal(g.counts[50 + 25], 2); // 1500 ms
  assert.equal(g.counts[100 + 0], 1); // 2010 ms
  assert.equal(g.counts.reduce((a, b) => a + b, 0), 7);
});

test('profileInRange keeps stack indices and sums only the samples inside [start, end)', () => {
  const r = profileInRange(p, 0, 1000);
  assert.equal(r.total, 4);
  assert.deepEqual(r.stacks.map((s) => s.weight), [2, 2]);
  assert.equal(profileInRange(p, 1000, 1500).total, 0);
  assert.equal(profileInRange(p, 1500, 3000).total, 3);
  assert.equal(r.timeline, p.timeline);
});
