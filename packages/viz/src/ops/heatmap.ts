/**
 * Heat-map binning.
 * - subsecondGrid: FlameScope's view of a profile's timeline: one column per second, `rows` rows per
 *   second (row r covers subsecond offsets [r, r+1) * 1000/rows ms), cell = samples.
 * - selectRange: the sub-profile of a time range (e.g. cells selected on the subsecond grid).
 * - latencyGrid: biolatency intervals → time × log2 bucket counts, with percentiles per interval.
 */
import type { HistogramSeries, Milliseconds, Profile, Stack } from '../model/types.js';
import { histogramPercentile, intervalsFor, slotRange, sumSlots } from '../model/histogram.js';

export interface SubsecondGrid {
  /** ms of column 0's start (the timeline's startTime: epoch ms, or ms since boot for perf script). */
  readonly startTime: number;
  readonly columns: number;
  readonly rows: number;
  /** ms per row (1000 / rows). */
  readonly rowMs: number;
  /** values[col * rows + row]: weight in that cell. */
  readonly values: Float64Array;
  readonly max: number;
  readonly total: number;
}

/** The grid of a profile's timeline (a profile, or just `{ timeline }`). */
export function subsecondGrid(p: Pick<Profile, 'timeline'>, opts: { rows?: number } = {}): SubsecondGrid {
  const rows = opts.rows ?? 50;
  if (!(Number.isInteger(rows) && rows >= 1 && rows <= 1000)) throw new Error(`subsecondGrid: rows must be an integer 1..1000, got ${rows}`);
  const tl = p.timeline;
  if (!tl) throw new Error('subsecondGrid: this profile has no timeline (capture with timestamps, or import perf script output)');
  const rowMs = 1000 / rows;
  let maxSec = -1;
  for (const o of tl.offsetMs) {
    if (o < 0) throw new Error(`subsecondGrid: timeline offset ${o} is negative`);
    const s = Math.floor(o / 1000);
    if (s > maxSec) maxSec = s;
  }
  const columns = maxSec + 1;
  const values = new Float64Array(columns * rows);
  let max = 0,
    total = 0;
  for (let i = 0; i < tl.offsetMs.length; i++) {
    const o = tl.offsetMs[i];
    const col = Math.floor(o / 1000);
    const row = Math.min(rows - 1, Math.floor((o - col * 1000) / rowMs));
    const v = (values[col * rows + row] += tl.count[i]);
    if (v > max) max = v;
    total += tl.count[i];
  }
  return { startTime: tl.startTime, columns, rows, rowMs, values, max, total };
}

/** Time range [startMs, endMs) (offsets from the grid's startTime) covered by a selection from cell (col1,row1) to (col2,row2), inclusive, in either order. */
export function gridCellRange(grid: Pick<SubsecondGrid, 'rowMs'>, a: { col: number; row: number }, b: { col: number; row: number }): [number, number] {
  const t = (c: { col: number; row: number }) => c.col * 1000 + c.row * grid.rowMs;
  const ta = t(a),
    tb = t(b);
  return ta <= tb ? [ta, tb + grid.rowMs] : [tb, ta + grid.rowMs];
}

/**
 * The sub-profile of samples whose timeline offset lies in [startMs, endMs): the same frame table,
 * the stacks with samples in the range (re-weighted), that part of the timeline. One pass over
 * the timeline and the stacks, no hashing: cheap enough to redo on every live update.
 */
export function selectRange(p: Profile, startMs: Milliseconds, endMs: Milliseconds): Profile {
  const tl = p.timeline;
  if (!tl) throw new Error('selectRange: this profile has no timeline to select from');
  if (!(Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs))
    throw new Error(`selectRange: expected startMs < endMs, got ${startMs} and ${endMs}`);
  const w = new Float64Array(p.stacks.length);
  let inRange = 0;
  for (let i = 0; i < tl.offsetMs.length; i++) {
    const o = tl.offsetMs[i];
    if (o >= startMs && o < endMs) {
      w[tl.stack[i]] += tl.count[i];
      inRange++;
    }
  }
  const newIndex = new Int32Array(p.stacks.length).fill(-1);
  const stacks: Stack[] = [];
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    if (!(w[i] > 0)) continue;
    newIndex[i] = stacks.length;
    const ls = p.stacks[i].lines;
    stacks.push(ls ? { frames: p.stacks[i].frames, weight: w[i], lines: ls } : { frames: p.stacks[i].frames, weight: w[i] });
    total += w[i];
  }
  const offsetMs = new Array<number>(inRange);
  const stack = new Array<number>(inRange);
  const count = new Array<number>(inRange);
  let j = 0;
  for (let i = 0; i < tl.offsetMs.length; i++) {
    const o = tl.offsetMs[i];
    if (o < startMs || o >= endMs || newIndex[tl.stack[i]] < 0) continue;
    offsetMs[j] = o;
    stack[j] = newIndex[tl.stack[i]];
    count[j] = tl.count[i];
    j++;
  }
  offsetMs.length = stack.length = count.length = j;
  return {
    unit: p.unit,
    frames: p.frames,
    stacks,
    total,
    meta: { ...p.meta, startTime: tl.startTime + startMs, durationMs: endMs - startMs },
    timeline: { resolutionMs: tl.resolutionMs, startTime: tl.startTime, offsetMs, stack, count },
    ...(p.lines ? { lines: p.lines } : {}),
  };
}

export interface LatencyGrid {
  readonly unit: 'usecs' | 'msecs';
  /** the key shown ('' = all keys summed). */
  readonly key: string;
  readonly columns: readonly { start: number; end: number }[];
  /** number of log2 buckets (rows); bucket i covers slotRange(i). */
  readonly buckets: number;
  /** values[col * buckets + bucket] */
  readonly values: Float64Array;
  readonly max: number;
  /** per column: the count and estimated percentiles (in `unit`; NaN for empty intervals). */
  readonly stats: readonly { count: number; p50: number; p90: number; p99: number }[];
  /** inclusive [lo, hi] value range of each bucket. */
  readonly bucketRanges: readonly [number, number][];
}

export function latencyGrid(h: HistogramSeries, opts: { key?: string } = {}): LatencyGrid {
  if (opts.key !== undefined && !h.intervals.some((iv) => iv.key === opts.key))
    throw new Error(
      `latencyGrid: no intervals with key ${JSON.stringify(opts.key)}; keys are ${[...new Set(h.intervals.map((i) => JSON.stringify(i.key)))].join(', ')}`,
    );
  const ivs = intervalsFor(h, opts.key);
  let buckets = 0;
  for (const iv of ivs) {
    let last = iv.slots.length - 1;
    while (last >= 0 && !iv.slots[last]) last--;
    if (last + 1 > buckets) buckets = last + 1;
  }
  const values = new Float64Array(ivs.length * buckets);
  let max = 0;
  const stats = ivs.map((iv, c) => {
    for (let i = 0; i < buckets; i++) {
      const v = iv.slots[i] ?? 0;
      values[c * buckets + i] = v;
      if (v > max) max = v;
    }
    const count = sumSlots(iv.slots);
    return {
      count,
      p50: histogramPercentile(iv.slots, 50),
      p90: histogramPercentile(iv.slots, 90),
      p99: histogramPercentile(iv.slots, 99),
    };
  });
  return {
    unit: h.unit,
    key: opts.key ?? '',
    columns: ivs.map((iv) => ({ start: iv.start, end: iv.end })),
    buckets,
    values,
    max,
    stats,
    bucketRanges: Array.from({ length: buckets }, (_, i) => slotRange(i)),
  };
}
