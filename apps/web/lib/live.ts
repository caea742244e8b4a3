/**
 * Accumulates the collector's wire deltas (relayed by the hub over SSE) into a Profile.
 * Pure data, no DOM and no React: unit-tested in Node (test/live.test.ts).
 *
 * Frames and stacks are interned per capture by the collector: a delta defines the ids it uses
 * for the first time and adds weights by stack id. A `full: true` delta replaces everything
 * (sent first to a late subscriber). The accumulator mutates in place (cheap per delta) and
 * materializes an immutable Profile on demand (at most every ~250 ms, see stores/capture.ts).
 */
import type { DeltaMessage, EndMessage } from '@bpfscope/viz/wire';
import type {
  Frame,
  FrameKind,
  HistogramInterval,
  HistogramSeries,
  LossStats,
  Profile,
  ProfileMeta,
  Stack,
  ToolName,
  Unit,
} from '@bpfscope/viz';

export interface LiveProgress {
  elapsedMs: number;
  durationMs: number;
  samples: number;
  events: number;
}

export class LiveAccumulator {
  readonly tool: ToolName;
  /** frame id (collector) → index in `frames` */
  private frameIndex = new Map<number, number>();
  private frames: Frame[] = [];
  /** stack id (collector) → index in `stackFrames` / `weights` */
  private stackIndex = new Map<number, number>();
  private stackFrames: number[][] = [];
  private weights: number[] = [];
  /** counts for stacks whose definition has not arrived yet (should not happen; kept, not lost). */
  private pendingCounts = new Map<number, number>();
  private tOffset: number[] = [];
  private tStack: number[] = [];
  private tCount: number[] = [];
  private resolutionMs = 10;
  private histIntervals: HistogramInterval[] = [];
  private histUnit: 'usecs' | 'msecs' = 'usecs';
  private histKeyKind: 'none' | 'disk' | 'flags' = 'none';
  startTime = 0;
  progress: LiveProgress = { elapsedMs: 0, durationMs: 0, samples: 0, events: 0 };
  loss: LossStats = {};
  lastSeq = -1;
  /** bumped on every applied delta: lets a store know whether to rebuild. */
  version = 0;
  meta: ProfileMeta;

  constructor(tool: ToolName, meta: ProfileMeta = {}) {
    this.tool = tool;
    this.meta = { tool, ...meta };
  }

  get stackCount(): number {
    return this.stackFrames.length;
  }

  apply(d: DeltaMessage): void {
    if (d.full) this.reset();
    else if (d.seq <= this.lastSeq) return; // duplicate after a reconnect
    this.lastSeq = d.seq;
    for (const [id, name, kind] of d.frames ?? []) {
      if (this.frameIndex.has(id)) continue;
      this.frameIndex.set(id, this.frames.length);
      this.frames.push({ name, kind: kind as FrameKind });
    }
    for (const [id, frameIds] of d.stacks ?? []) {
      if (this.stackIndex.has(id)) continue;
      const mapped: number[] = [];
      for (const f of frameIds) {
        const fi = this.frameIndex.get(f);
        if (fi === undefined) throw new Error(`delta ${d.seq}: stack ${id} uses frame ${f}, which was never defined`);
        mapped.push(fi);
      }
      const idx = this.stackFrames.length;
      this.stackIndex.set(id, idx);
      this.stackFrames.push(mapped);
      this.weights.push(this.pendingCounts.get(id) ?? 0);
      this.pendingCounts.delete(id);
    }
    for (const [id, w] of d.counts ?? []) {
      const idx = this.stackIndex.get(id);
      if (idx === undefined) this.pendingCounts.set(id, (this.pendingCounts.get(id) ?? 0) + w);
      else this.weights[idx] += w;
    }
    if (d.timelineResolutionMs) this.resolutionMs = d.timelineResolutionMs;
    for (const [off, id, c] of d.timeline ?? []) {
      const idx = this.stackIndex.get(id);
      if (idx === undefined) continue;
      this.tOffset.push(off);
      this.tStack.push(idx);
      this.tCount.push(c);
    }
    if (d.histUnit) this.histUnit = d.histUnit;
    if (d.histKeyKind) this.histKeyKind = d.histKeyKind;
    for (const h of d.histograms ?? []) this.histIntervals.push({ start: h.start, end: h.end, key: h.key, slots: h.slots.slice() });
    this.progress = { ...d.progress };
    if (d.loss) this.loss = { ...d.loss };
    this.version++;
  }

  /** The final message: totals and metadata from the collector. */
  end(e: EndMessage): void {
    if (e.loss) this.loss = { ...e.loss };
    this.meta = {
      ...this.meta,
      host: e.meta.host,
      kernel: e.meta.kernel,
      options: e.meta.options,
      startTime: e.meta.startTime,
      durationMs: e.meta.durationMs,
    };
    this.startTime = e.meta.startTime || this.startTime;
    this.progress = { ...this.progress, samples: e.samples, events: e.events, elapsedMs: e.meta.durationMs };
    this.version++;
  }

  private reset(): void {
    // new arrays (not truncation): profiles handed out earlier keep their data
    this.frameIndex.clear();
    this.frames = [];
    this.stackIndex.clear();
    this.stackFrames = [];
    this.weights = [];
    this.pendingCounts.clear();
    this.tOffset = [];
    this.tStack = [];
    this.tCount = [];
    this.histIntervals = [];
    this.lastSeq = -1;
  }

  unit(): Unit {
    if (this.tool === 'profile') return 'samples';
    if (this.tool === 'biolatency') return 'count';
    return 'microseconds';
  }

  /** An immutable snapshot of everything so far. */
  toProfile(): Profile {
    const stacks: Stack[] = new Array(this.stackFrames.length);
    let total = 0;
    for (let i = 0; i < stacks.length; i++) {
      stacks[i] = { frames: this.stackFrames[i], weight: this.weights[i] };
      total += this.weights[i];
    }
    const loss = Object.keys(this.loss).length ? { ...this.loss } : undefined;
    const p: { -readonly [K in keyof Profile]: Profile[K] } = {
      unit: this.unit(),
      frames: this.frames.slice(),
      stacks,
      total,
      meta: { ...this.meta, startTime: this.meta.startTime ?? this.startTime, ...(loss ? { loss } : {}) },
    };
    if (this.tOffset.length) {
      p.timeline = {
        resolutionMs: this.resolutionMs,
        startTime: this.startTime,
        // shared, not copied: these only grow (appends never change what a reader already saw),
        // and copying millions of entries 4×/s during a long capture would cost more than drawing
        offsetMs: this.tOffset,
        stack: this.tStack,
        count: this.tCount,
      };
    }
    if (this.histIntervals.length || this.tool === 'biolatency') {
      const h: HistogramSeries = { unit: this.histUnit, keyKind: this.histKeyKind, intervals: this.histIntervals.slice() };
      p.histograms = h;
      if (this.tool === 'biolatency') {
        let n = 0;
        for (const iv of this.histIntervals) for (const s of iv.slots) n += s;
        p.total = n;
      }
    }
    return p;
  }
}

/** Total of the loss counters (0 when nothing was missed). */
export function lossTotal(loss: LossStats | undefined): number {
  if (!loss) return 0;
  let n = 0;
  for (const v of Object.values(loss)) if (typeof v === 'number') n += v;
  return n;
}

const LOSS_WORDS: Record<keyof LossStats, string> = {
  userStackMissing: 'user stacks missing',
  kernelStackMissing: 'kernel stacks missing',
  stackCollisions: 'stack id collisions (raise the stack storage size)',
  stackNoMem: 'stack map full',
  mapFull: 'updates dropped (map full)',
  truncatedStacks: 'stacks truncated at max depth',
  lostEvents: 'events lost (buffer overflow)',
  otherStacks: 'stacks folded into [other stacks] (unique-stack limit)',
};

/** "12 user stacks missing, 3 stack id collisions …" for the non-zero counters. */
export function describeLoss(loss: LossStats | undefined): string[] {
  if (!loss) return [];
  const out: string[] = [];
  for (const k of Object.keys(LOSS_WORDS) as (keyof LossStats)[]) {
    const v = loss[k];
    if (typeof v === 'number' && v > 0) out.push(`${v.toLocaleString('en-US')} ${LOSS_WORDS[k]}`);
  }
  return out;
}
