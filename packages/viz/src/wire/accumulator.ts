/**
 * The one accumulator of a capture's wire deltas: the hub mirrors a collector's capture with it
 * (and answers a late subscriber with `fullDelta()`), the browser builds its live Profile with it.
 *
 * Frames and stacks are interned per capture by the collector: a delta defines the ids it uses for
 * the first time, `counts` adds weight by stack id, and a `full: true` delta restates everything
 * (what a late subscriber receives first). State is kept dense (profile indices), so `toProfile()`
 * is cheap enough to call several times a second during a long capture.
 *
 * Nothing is dropped for arriving out of order or incomplete:
 * - a stack that names a frame id never defined gets a placeholder frame `[unknown frame N]`
 *   (kind `unknown`), replaced in place if the definition arrives later;
 * - counts and timeline entries for a stack id not defined yet are kept; until its definition
 *   arrives the stack is shown as one frame `[unknown stack N]`.
 * Source lines (protocol 3: `lines`, `stackLines`) become Profile.lines and Stack.lines; a line id
 * used before its definition reads as unknown (0).
 *
 * Sequence numbers (docs/protocol.md): a capture's intervals are numbered 1, 2, 3…; `seq` 0 means
 * "no interval yet" and only a full delta carries it (the full delta of a capture that has not
 * delivered an interval). `seq` here is the last interval included, 0 before any, and
 * `fullDelta()` reports exactly it, so a consumer that starts from a producer's full delta is in
 * the producer's state, whatever the moment it joined:
 * - a full delta is a reset, whatever its seq;
 * - an incremental delta is applied when its seq is above the last one included, ignored (false)
 *   otherwise (duplicates after a reconnect, what a full delta already holds);
 * - an incremental delta with seq < 1 is refused with an error: its producer breaks the protocol
 *   (a consumer that joined with the full delta of nothing could not tell it from what it holds).
 */
import type { Frame, FrameKind, HistogramInterval, LossStats, Profile, ProfileMeta, SourceLine, Stack, Timeline, ToolName, Unit } from '../model/types.js';
import type { DeltaMessage, EndMessage } from './messages.js';

export type DeltaProgress = DeltaMessage['progress'];

/** The unit of a tool's weights when the collector has not said (its `end` message does). */
export function unitOfTool(tool: ToolName): Unit {
  if (tool === 'profile') return 'samples';
  if (tool === 'biolatency') return 'count';
  return 'microseconds';
}

/** Name of the placeholder for a frame id a stack used but no delta defined. */
export const unknownFrameName = (id: number): string => `[unknown frame ${id}]`;
/** Name of the placeholder for a stack id that has counts but no definition yet. */
export const unknownStackName = (id: number): string => `[unknown stack ${id}]`;

export class DeltaAccumulator {
  readonly tool: ToolName;
  /** collector frame id → index in `frames`. */
  private frameIndex = new Map<number, number>();
  private frames: Frame[] = [];
  /** collector frame id per frame index. */
  private frameIds: number[] = [];
  /** frame indices that are placeholders (used before being defined). */
  private unknownFrames = new Set<number>();
  /** collector stack id → index in `stackFrames` / `weights`. */
  private stackIndex = new Map<number, number>();
  private stackFrames: (readonly number[])[] = [];
  private stackIds: number[] = [];
  private weights: number[] = [];
  /** stack indices that have counts but no definition yet. */
  private undefinedStacks = new Set<number>();
  /** collector line id → index in `lineTable` (0: unknown). */
  private lineIndex = new Map<number, number>();
  private lineTable: SourceLine[] = [{ file: '', line: 0 }];
  /** collector line id per lineTable index. */
  private lineIds: number[] = [0];
  /** per stack index: line indices aligned to its frames, or undefined. */
  private stackLineIdx: (readonly number[] | undefined)[] = [];
  private tOffset: number[] = [];
  private tStack: number[] = [];
  private tCount: number[] = [];
  private resolutionMs: number | undefined;
  private histIntervals: HistogramInterval[] = [];
  private histUnit: 'usecs' | 'msecs' | undefined;
  private histKeyKind: 'none' | 'disk' | 'flags' | 'pid' | 'tid' | 'function' | undefined;
  /** the collector's last `end` message, when it came. */
  private endMsg: EndMessage | undefined;

  progress: DeltaProgress;
  loss: LossStats | undefined;
  /** seq of the last interval included: 0 before any (intervals are numbered from 1). */
  seq = 0;
  /** bumped on every applied delta and on `end`: tells a reader whether to rebuild. */
  version = 0;

  constructor(tool: ToolName, durationMs = 0) {
    this.tool = tool;
    this.progress = { elapsedMs: 0, durationMs, samples: 0, events: 0 };
  }

  /** number of distinct stacks (defined or with counts) so far. */
  get stackCount(): number {
    return this.stackFrames.length;
  }

  /** whether any stack weight or histogram interval arrived. */
  get hasData(): boolean {
    return this.weights.some((w) => w > 0) || this.histIntervals.length > 0;
  }

  get endMessage(): EndMessage | undefined {
    return this.endMsg;
  }

  /**
   * Apply one delta. Returns false when it was ignored (a seq already included). Throws on an
   * incremental delta numbered below 1 (see the header: only a full delta may say seq 0).
   */
  apply(d: DeltaMessage): boolean {
    if (d.full) this.reset();
    else if (!(d.seq >= 1))
      throw new RangeError(
        `delta seq ${d.seq} of capture ${d.captureId} is not a full delta: intervals are numbered from 1 (seq 0 is only the full delta of a capture with no interval yet); the program that sent it breaks docs/protocol.md`,
      );
    else if (d.seq <= this.seq) return false;
    this.seq = d.seq;
    for (const [id, name, kind] of d.frames ?? []) this.defineFrame(id, name, kind);
    for (const [id, file, line] of d.lines ?? []) {
      if (!this.lineIndex.has(id)) {
        this.lineIndex.set(id, this.lineTable.length);
        this.lineTable.push({ file, line });
        this.lineIds.push(id);
      }
    }
    for (const [id, frameIds] of d.stacks ?? []) this.defineStack(id, frameIds);
    for (const [id, ls] of d.stackLines ?? []) {
      const idx = this.stackOf(id);
      // lines that do not align with the stack's frames (a collector bug) are not guessed at
      if (ls.length === this.stackFrames[idx].length && !this.undefinedStacks.has(idx)) this.stackLineIdx[idx] = ls.map((l) => this.lineIndex.get(l) ?? 0);
    }
    for (const [id, w] of d.counts ?? []) this.weights[this.stackOf(id)] += w;
    if (d.timelineResolutionMs !== undefined) this.resolutionMs = d.timelineResolutionMs;
    for (const [off, id, c] of d.timeline ?? []) {
      this.tOffset.push(off);
      this.tStack.push(this.stackOf(id));
      this.tCount.push(c);
    }
    if (d.histUnit) this.histUnit = d.histUnit;
    if (d.histKeyKind) this.histKeyKind = d.histKeyKind;
    for (const h of d.histograms ?? []) this.histIntervals.push({ start: h.start, end: h.end, key: h.key, slots: h.slots.slice() });
    this.progress = { ...d.progress };
    if (d.loss) this.loss = { ...d.loss };
    this.version++;
    return true;
  }

  /** The collector's final message: unit, totals, loss and metadata for `toProfile()`. */
  finish(e: EndMessage): void {
    this.endMsg = e;
    if (e.loss) this.loss = { ...e.loss };
    this.progress = { ...this.progress, samples: e.samples, events: e.events, elapsedMs: e.meta.durationMs };
    this.version++;
  }

  private defineFrame(id: number, name: string, kind: FrameKind): void {
    const idx = this.frameIndex.get(id);
    if (idx === undefined) {
      this.frameIndex.set(id, this.frames.length);
      this.frames.push({ name, kind });
      this.frameIds.push(id);
    } else if (this.unknownFrames.delete(idx)) {
      // a placeholder handed out earlier: profiles already built keep their copy of the table
      this.frames[idx] = { name, kind };
    }
  }

  private frameOf(id: number): number {
    let idx = this.frameIndex.get(id);
    if (idx === undefined) {
      idx = this.frames.length;
      this.frameIndex.set(id, idx);
      this.frames.push({ name: unknownFrameName(id), kind: 'unknown' });
      this.frameIds.push(id);
      this.unknownFrames.add(idx);
    }
    return idx;
  }

  private defineStack(id: number, frameIds: readonly number[]): void {
    const mapped = frameIds.map((f) => this.frameOf(f));
    const idx = this.stackIndex.get(id);
    if (idx === undefined) {
      this.stackIndex.set(id, this.stackFrames.length);
      this.stackFrames.push(mapped);
      this.stackIds.push(id);
      this.weights.push(0);
      this.stackLineIdx.push(undefined);
    } else if (this.undefinedStacks.delete(idx)) {
      this.stackFrames[idx] = mapped;
    }
  }

  /** The stack index of a collector stack id; a placeholder stack when it was not defined yet. */
  private stackOf(id: number): number {
    let idx = this.stackIndex.get(id);
    if (idx === undefined) {
      idx = this.stackFrames.length;
      this.stackIndex.set(id, idx);
      this.stackFrames.push([]);
      this.stackIds.push(id);
      this.weights.push(0);
      this.stackLineIdx.push(undefined);
      this.undefinedStacks.add(idx);
    }
    return idx;
  }

  private reset(): void {
    // new arrays, not truncation: profiles handed out earlier keep their data
    this.frameIndex = new Map();
    this.frames = [];
    this.frameIds = [];
    this.unknownFrames = new Set();
    this.stackIndex = new Map();
    this.stackFrames = [];
    this.stackIds = [];
    this.weights = [];
    this.undefinedStacks = new Set();
    this.lineIndex = new Map();
    this.lineTable = [{ file: '', line: 0 }];
    this.lineIds = [0];
    this.stackLineIdx = [];
    this.tOffset = [];
    this.tStack = [];
    this.tCount = [];
    this.histIntervals = [];
    this.seq = 0;
  }

  /**
   * Everything so far as one `full` delta (what a subscriber that joins late receives first); its
   * seq is the last interval included (0 when none yet), so the next delta the subscriber gets
   * from the same producer is above it.
   */
  fullDelta(captureId: string): DeltaMessage {
    const frames: [number, string, FrameKind][] = [];
    for (let i = 0; i < this.frames.length; i++) {
      if (!this.unknownFrames.has(i)) frames.push([this.frameIds[i], this.frames[i].name, this.frames[i].kind]);
    }
    const stacks: [number, number[]][] = [];
    const counts: [number, number][] = [];
    for (let i = 0; i < this.stackFrames.length; i++) {
      const id = this.stackIds[i];
      if (!this.undefinedStacks.has(i)) stacks.push([id, this.stackFrames[i].map((f) => this.frameIds[f])]);
      if (this.weights[i] !== 0) counts.push([id, this.weights[i]]);
    }
    const d: DeltaMessage = { type: 'delta', captureId, seq: this.seq, full: true, frames, stacks, counts, progress: { ...this.progress } };
    if (this.lineTable.length > 1) {
      d.lines = [];
      for (let i = 1; i < this.lineTable.length; i++) d.lines.push([this.lineIds[i], this.lineTable[i].file, this.lineTable[i].line]);
      const sl: [number, number[]][] = [];
      for (let i = 0; i < this.stackLineIdx.length; i++) {
        const ls = this.stackLineIdx[i];
        if (ls) sl.push([this.stackIds[i], ls.map((l) => this.lineIds[l])]);
      }
      if (sl.length) d.stackLines = sl;
    }
    if (this.tOffset.length || this.resolutionMs !== undefined) {
      d.timeline = this.tOffset.map((o, i) => [o, this.stackIds[this.tStack[i]], this.tCount[i]] as [number, number, number]);
      if (this.resolutionMs !== undefined) d.timelineResolutionMs = this.resolutionMs;
    }
    if (this.histIntervals.length || this.histUnit) {
      d.histograms = this.histIntervals.map((h) => ({ start: h.start, end: h.end, key: h.key, slots: h.slots.slice() }));
      if (this.histUnit) d.histUnit = this.histUnit;
      if (this.histKeyKind) d.histKeyKind = this.histKeyKind;
    }
    if (this.loss) d.loss = { ...this.loss };
    return d;
  }

  /**
   * An immutable Profile of everything so far. `meta` (name, notes, what the `started` message
   * said…) is the base; the `end` message, when it came, sets the unit, totals, loss, host,
   * kernel, options and times. `startTime` (epoch ms) anchors the timeline until `end` tells it.
   */
  toProfile(opts: { meta?: ProfileMeta; startTime?: number; histUnit?: 'usecs' | 'msecs' } = {}): Profile {
    const end = this.endMsg;
    let frames = this.frames;
    const stacks: Stack[] = new Array(this.stackFrames.length);
    let total = 0;
    for (let i = 0; i < stacks.length; i++) {
      let fr = this.stackFrames[i];
      if (this.undefinedStacks.has(i)) {
        if (frames === this.frames) frames = this.frames.slice();
        fr = [frames.length];
        frames.push({ name: unknownStackName(this.stackIds[i]), kind: 'unknown' });
      }
      const ls = this.stackLineIdx[i];
      stacks[i] = ls ? { frames: fr, weight: this.weights[i], lines: ls } : { frames: fr, weight: this.weights[i] };
      total += this.weights[i];
    }
    if (frames === this.frames) frames = this.frames.slice();
    const startTime = end?.meta.startTime || opts.startTime || opts.meta?.startTime || 0;
    const meta: ProfileMeta = {
      tool: this.tool,
      ...opts.meta,
      ...(end ? { host: end.meta.host, kernel: end.meta.kernel, options: end.meta.options, durationMs: end.meta.durationMs } : {}),
      startTime,
    };
    const loss = this.loss && Object.keys(this.loss).length ? { ...this.loss } : undefined;
    if (loss) meta.loss = loss;
    const p: { -readonly [K in keyof Profile]: Profile[K] } = {
      unit: (end?.unit as Unit | undefined) ?? unitOfTool(this.tool),
      frames,
      stacks,
      total: stacks.length ? total : (end?.total ?? 0),
      meta,
    };
    if (this.lineTable.length > 1) p.lines = this.lineTable.slice();
    if (this.tOffset.length) {
      const timeline: Timeline = {
        resolutionMs: this.resolutionMs ?? 10,
        startTime,
        // shared, not copied: these only grow (appends never change what a reader already saw),
        // and copying millions of entries 4×/s during a long capture costs more than drawing them
        offsetMs: this.tOffset,
        stack: this.tStack,
        count: this.tCount,
      };
      p.timeline = timeline;
    }
    if (this.histIntervals.length || this.tool === 'biolatency') {
      p.histograms = { unit: this.histUnit ?? opts.histUnit ?? 'usecs', keyKind: this.histKeyKind ?? 'none', intervals: this.histIntervals.slice() };
      if (!stacks.length) {
        let n = 0;
        for (const h of this.histIntervals) for (const s of h.slots) n += s;
        p.total = end?.total ?? n;
      }
    }
    return p;
  }
}
