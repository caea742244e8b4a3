/**
 * FlameScope-style subsecond grid from a profile's timeline, and the profile of a time range.
 * Pure (test/subsecond.test.ts).
 */
import type { Profile, Stack, Timeline } from '@bpfscope/viz';

/** rows per second: 50 rows = 20 ms per cell, FlameScope's default. */
export const SUBSECOND_ROWS = 50;

export interface SubsecondGrid {
  seconds: number;
  rows: number;
  /** column-major: counts[second * rows + row] */
  counts: Float64Array;
  startTime: number;
}

export function subsecondGrid(t: Timeline, rows = SUBSECOND_ROWS): SubsecondGrid {
  let maxOff = 0;
  for (const o of t.offsetMs) if (o > maxOff) maxOff = o;
  const seconds = t.offsetMs.length ? Math.floor(maxOff / 1000) + 1 : 0;
  const counts = new Float64Array(seconds * rows);
  const rowMs = 1000 / rows;
  for (let i = 0; i < t.offsetMs.length; i++) {
    const o = t.offsetMs[i];
    if (o < 0) continue;
    const s = Math.floor(o / 1000);
    const r = Math.min(rows - 1, Math.floor((o - s * 1000) / rowMs));
    counts[s * rows + r] += t.count[i];
  }
  return { seconds, rows, counts, startTime: t.startTime };
}

/**
 * The profile restricted to timeline samples in [startMs, endMs) (offsets from the timeline
 * start). Stacks keep their indices (zero weight outside the range) so the timeline stays valid.
 */
export function profileInRange(p: Profile, startMs: number, endMs: number): Profile {
  const t = p.timeline;
  if (!t) return p;
  const w = new Float64Array(p.stacks.length);
  for (let i = 0; i < t.offsetMs.length; i++) {
    const o = t.offsetMs[i];
    if (o >= startMs && o < endMs) w[t.stack[i]] += t.count[i];
  }
  let total = 0;
  const stacks: Stack[] = new Array(p.stacks.length);
  for (let i = 0; i < stacks.length; i++) {
    stacks[i] = { frames: p.stacks[i].frames, weight: w[i] };
    total += w[i];
  }
  return { ...p, stacks, total };
}
