/** Helpers for bcc-style log2 histograms (HistogramSeries) and timelines. */
import type { HistogramInterval, HistogramSeries, Timeline } from './types.js';

/** Inclusive value range of log2 slot i: slot 0 is [0, 1], slot i >= 1 is [2^i, 2^(i+1) - 1]. */
export function slotRange(i: number): [number, number] {
  if (i <= 0) return [0, 1];
  return [2 ** i, 2 ** (i + 1) - 1];
}

/** The log2 slot a value falls in (bcc's log2l): 0 and 1 → 0, 2..3 → 1, 4..7 → 2, ... */
export function slotOf(value: number): number {
  if (value < 2) return 0;
  return Math.floor(Math.log2(value));
}

export function sumSlots(slots: readonly number[]): number {
  let s = 0;
  for (const v of slots) s += v;
  return s;
}

/**
 * Estimate the p-th percentile (0 < p <= 100) of a log2 histogram, interpolating linearly inside
 * the slot that holds it. Returns NaN for an empty histogram.
 */
export function histogramPercentile(slots: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const total = sumSlots(slots);
  if (total <= 0) return NaN;
  const target = (p / 100) * total;
  let acc = 0;
  for (let i = 0; i < slots.length; i++) {
    const c = slots[i];
    if (c <= 0) continue;
    if (acc + c >= target) {
      const [lo, hi] = slotRange(i);
      const frac = (target - acc) / c;
      return lo + frac * (hi + 1 - lo);
    }
    acc += c;
  }
  const [, hi] = slotRange(slots.length - 1);
  return hi;
}

/** Sum several histograms slot by slot. */
export function addSlots(into: number[], slots: readonly number[]): number[] {
  for (let i = 0; i < slots.length; i++) into[i] = (into[i] ?? 0) + slots[i];
  return into;
}

/** The distinct keys of a histogram series, in first-seen order. */
export function histogramKeys(h: HistogramSeries): string[] {
  const seen = new Set<string>();
  for (const iv of h.intervals) seen.add(iv.key);
  return [...seen];
}

/** Intervals of one key (or all keys summed per start time when key is undefined). */
export function intervalsFor(h: HistogramSeries, key?: string): HistogramInterval[] {
  if (key !== undefined) return h.intervals.filter((iv) => iv.key === key).sort((a, b) => a.start - b.start);
  const byStart = new Map<number, { start: number; end: number; key: string; slots: number[] }>();
  for (const iv of h.intervals) {
    let e = byStart.get(iv.start);
    if (!e) {
      e = { start: iv.start, end: iv.end, key: '', slots: [] };
      byStart.set(iv.start, e);
    }
    e.end = Math.max(e.end, iv.end);
    addSlots(e.slots, iv.slots);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** First and last+resolution offsets of a timeline in ms (relative to startTime); [0, 0] when empty. */
export function timelineExtent(t: Timeline): [number, number] {
  if (t.offsetMs.length === 0) return [0, 0];
  let lo = Infinity,
    hi = -Infinity;
  for (const o of t.offsetMs) {
    if (o < lo) lo = o;
    if (o > hi) hi = o;
  }
  return [lo, hi + t.resolutionMs];
}

/** Total weight per stack index over [startMs, endMs) offsets. */
export function timelineWeights(t: Timeline, nStacks: number, startMs = -Infinity, endMs = Infinity): Float64Array {
  const w = new Float64Array(nStacks);
  for (let i = 0; i < t.offsetMs.length; i++) {
    const o = t.offsetMs[i];
    if (o >= startMs && o < endMs) w[t.stack[i]] += t.count[i];
  }
  return w;
}
