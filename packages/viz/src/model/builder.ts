/**
 * ProfileBuilder: interns frames by (name, kind), merges identical stacks, collects timeline
 * samples, and builds an immutable Profile.
 */
import type { Frame, FrameKind, HistogramSeries, SourceLine, Milliseconds, Profile, ProfileMeta, Samples, Stack, Timeline, Unit } from './types.js';
import { FRAME_KINDS } from './kinds.js';

export interface FrameInput {
  readonly name: string;
  readonly kind: FrameKind;
  /** the source line this frame was at (see Stack.lines): kept when both are given and line > 0. */
  readonly file?: string;
  readonly line?: number;
}

/** The key of a stack in the builder's index: its frame ids, and its line ids when it has any. */
export function stackKey(ids: readonly number[], lines?: readonly number[]): string {
  return lines ? ids.join(',') + '|' + lines.join(',') : ids.join(',');
}

export interface TimelineOptions {
  /** bucket width in ms (default 1). */
  resolutionMs?: number;
  /** ms of offset 0 (epoch ms, or ms since boot for perf script); default: the first sample's bucket, floored to the second. */
  startTime?: number;
}

export class ProfileBuilder {
  readonly unit: Unit;
  meta: ProfileMeta;
  private readonly frames: Frame[] = [];
  private readonly frameIndex: Map<string, number>[] = FRAME_KINDS.map(() => new Map());
  private readonly stackIds: number[][] = [];
  /** per stack: its line ids (aligned to stackIds), or undefined when it has none. */
  private readonly stackLines: (number[] | undefined)[] = [];
  private readonly lines: SourceLine[] = [{ file: '', line: 0 }];
  private readonly lineIndex = new Map<string, number>();
  private readonly weights: number[] = [];
  private readonly stackIndex = new Map<string, number>();
  /** stacks [0, indexedUpTo) are in stackIndex (addUniqueStackIds defers indexing). */
  private indexedUpTo = 0;
  private histograms?: HistogramSeries;
  private timelineOpts?: Required<Pick<TimelineOptions, 'resolutionMs'>> & { startTime?: number };
  /** time samples: absolute ms, stack index, weight */
  private tTime: number[] = [];
  private tStack: number[] = [];
  private tCount: number[] = [];
  private built = false;

  constructor(unit: Unit = 'samples', meta: ProfileMeta = {}) {
    this.unit = unit;
    this.meta = { ...meta };
  }

  /** Id of a frame, interning it on first use. */
  frameId(name: string, kind: FrameKind): number {
    const k = FRAME_KINDS.indexOf(kind);
    if (k < 0) throw new Error(`ProfileBuilder: unknown frame kind ${JSON.stringify(kind)}`);
    if (typeof name !== 'string') throw new Error('ProfileBuilder: frame name must be a string');
    const m = this.frameIndex[k];
    let id = m.get(name);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(Object.freeze({ name, kind }));
      m.set(name, id);
    }
    return id;
  }

  /** Id of a source line (index into Profile.lines), interning it on first use; 0 (unknown) without a file or a line > 0. */
  lineId(file: string | undefined, line: number | undefined): number {
    if (!file || !(typeof line === 'number' && Number.isInteger(line) && line > 0)) return 0;
    const k = line + '\0' + file;
    let id = this.lineIndex.get(k);
    if (id === undefined) {
      id = this.lines.length;
      this.lines.push(Object.freeze({ file, line }));
      this.lineIndex.set(k, id);
    }
    return id;
  }

  /** Number of frames interned so far. */
  get frameCount(): number {
    return this.frames.length;
  }

  /** Number of unique stacks so far. */
  get stackCount(): number {
    return this.stackIds.length;
  }

  /**
   * Add `weight` to a stack given as frames, root first. Identical stacks merge.
   * With `timeMs` the sample is also recorded on the timeline (see enableTimeline).
   * Returns the stack's index.
   */
  addStack(frames: readonly FrameInput[], weight: number, timeMs?: number): number {
    const ids = new Array<number>(frames.length);
    let lines: number[] | undefined;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      ids[i] = this.frameId(f.name, f.kind);
      if (f.line !== undefined) {
        const l = this.lineId(f.file, f.line);
        if (l) (lines ??= new Array<number>(frames.length).fill(0))[i] = l;
      }
    }
    return this.addStackIds(ids, weight, timeMs, undefined, lines);
  }

  /**
   * Like addStack, with frame ids from frameId(). The array is copied. `lines` (line ids from
   * lineId(), aligned to `ids`, 0 where unknown) is part of the stack's identity.
   */
  addStackIds(ids: readonly number[], weight: number, timeMs?: number, key?: string, lines?: readonly number[]): number {
    if (this.built) throw new Error('ProfileBuilder: build() was already called');
    if (!Number.isFinite(weight) || weight < 0) throw new Error(`ProfileBuilder: stack weight must be a finite number >= 0, got ${weight}`);
    // `key` (internal fast path): a string that identifies the id sequence uniquely, e.g. the folded text.
    if (lines) {
      if (lines.length !== ids.length) throw new Error(`ProfileBuilder: a stack's lines (${lines.length}) must align with its frames (${ids.length})`);
      if (lines.every((l) => l === 0)) lines = undefined;
    }
    if (key === undefined) key = stackKey(ids, lines);
    else if (lines) key += '|' + lines.join(',');
    if (this.indexedUpTo < this.stackIds.length) this.indexPending();
    let s = this.stackIndex.get(key);
    if (s === undefined) {
      for (const id of ids) {
        if (!(id >= 0 && id < this.frames.length && Number.isInteger(id))) throw new Error(`ProfileBuilder: frame id ${id} out of range`);
      }
      if (lines) {
        for (const l of lines) {
          if (!(l >= 0 && l < this.lines.length && Number.isInteger(l))) throw new Error(`ProfileBuilder: line id ${l} out of range`);
        }
      }
      s = this.stackIds.length;
      this.stackIds.push(ids.slice());
      this.stackLines.push(lines?.slice());
      this.weights.push(weight);
      this.stackIndex.set(key, s);
      this.indexedUpTo = this.stackIds.length;
    } else {
      this.weights[s] += weight;
    }
    if (timeMs !== undefined) {
      if (!this.timelineOpts) this.timelineOpts = { resolutionMs: 1 };
      if (!Number.isFinite(timeMs)) throw new Error(`ProfileBuilder: sample time must be finite, got ${timeMs}`);
      this.tTime.push(timeMs);
      this.tStack.push(s);
      this.tCount.push(weight);
    }
    return s;
  }

  /**
   * Fast path for importers that keep their own index of unique stacks: append a stack the caller
   * guarantees is not present yet (no hashing). Returns its index; add more weight with addWeight.
   */
  addUniqueStackIds(ids: number[], weight: number, lines?: number[]): number {
    if (this.built) throw new Error('ProfileBuilder: build() was already called');
    if (!Number.isFinite(weight) || weight < 0) throw new Error(`ProfileBuilder: stack weight must be a finite number >= 0, got ${weight}`);
    const s = this.stackIds.length;
    this.stackIds.push(ids);
    this.stackLines.push(lines);
    this.weights.push(weight);
    return s;
  }

  /** Add weight to an existing stack. */
  addWeight(stackIndex: number, weight: number): void {
    if (!Number.isFinite(weight) || weight < 0) throw new Error(`ProfileBuilder: stack weight must be a finite number >= 0, got ${weight}`);
    this.weights[stackIndex] += weight;
  }

  private indexPending(): void {
    for (let i = this.indexedUpTo; i < this.stackIds.length; i++) this.stackIndex.set(stackKey(this.stackIds[i], this.stackLines[i]), i);
    this.indexedUpTo = this.stackIds.length;
  }

  /** Record `count` on the timeline for an existing stack at absolute time `timeMs`, without adding to its weight. */
  addTimelineSample(stackIndex: number, timeMs: Milliseconds, count: Samples): void {
    if (!(stackIndex >= 0 && stackIndex < this.stackIds.length)) throw new Error(`ProfileBuilder: stack index ${stackIndex} out of range`);
    if (!this.timelineOpts) this.timelineOpts = { resolutionMs: 1 };
    this.tTime.push(timeMs);
    this.tStack.push(stackIndex);
    this.tCount.push(count);
  }

  /** Record samples on a FlameScope-style timeline with this resolution (call before adding timed samples or any time before build). */
  enableTimeline(opts: TimelineOptions = {}): this {
    const resolutionMs = opts.resolutionMs ?? 1;
    if (!(resolutionMs > 0)) throw new Error('ProfileBuilder: timeline resolutionMs must be > 0');
    this.timelineOpts = { resolutionMs, startTime: opts.startTime };
    return this;
  }

  setHistograms(h: HistogramSeries | undefined): this {
    this.histograms = h;
    return this;
  }

  setMeta(meta: ProfileMeta): this {
    this.meta = { ...this.meta, ...meta };
    return this;
  }

  build(): Profile {
    if (this.built) throw new Error('ProfileBuilder: build() was already called');
    this.built = true;
    const stacks: Stack[] = new Array(this.stackIds.length);
    let total = 0;
    for (let i = 0; i < stacks.length; i++) {
      // The profile, its frame table, its stack list and each frame are frozen; the per-stack objects
      // are readonly by type only: freezing 2 × 200k small objects costs ~100 ms on large profiles.
      const l = this.stackLines[i];
      stacks[i] = l ? { frames: this.stackIds[i], weight: this.weights[i], lines: l } : { frames: this.stackIds[i], weight: this.weights[i] };
      total += this.weights[i];
    }
    const p: { -readonly [K in keyof Profile]: Profile[K] } = {
      unit: this.unit,
      frames: Object.freeze(this.frames),
      stacks: Object.freeze(stacks),
      total,
      meta: deepFreeze({ ...this.meta }),
    };
    const tl = this.buildTimeline();
    if (tl) p.timeline = tl;
    if (this.histograms) p.histograms = deepFreeze(this.histograms);
    if (this.lines.length > 1) p.lines = Object.freeze(this.lines);
    return Object.freeze(p);
  }

  private buildTimeline(): Timeline | undefined {
    const o = this.timelineOpts;
    if (!o || this.tTime.length === 0) return undefined;
    const res = o.resolutionMs;
    let minT = Infinity;
    for (const t of this.tTime) if (t < minT) minT = t;
    const startTime = o.startTime ?? Math.floor(minT / 1000) * 1000;
    // aggregate (bucket, stack)
    const agg = new Map<string, number>();
    const order: [number, number][] = [];
    for (let i = 0; i < this.tTime.length; i++) {
      const b = Math.floor((this.tTime[i] - startTime) / res) * res;
      const key = b + ':' + this.tStack[i];
      const prev = agg.get(key);
      if (prev === undefined) {
        agg.set(key, order.length);
        order.push([b, this.tStack[i]]);
      }
    }
    const counts = new Array<number>(order.length).fill(0);
    for (let i = 0; i < this.tTime.length; i++) {
      const b = Math.floor((this.tTime[i] - startTime) / res) * res;
      counts[agg.get(b + ':' + this.tStack[i])!] += this.tCount[i];
    }
    const idx = order.map((_, i) => i).sort((a, b) => order[a][0] - order[b][0] || order[a][1] - order[b][1]);
    return Object.freeze({
      resolutionMs: res,
      startTime,
      offsetMs: Object.freeze(idx.map((i) => order[i][0])),
      stack: Object.freeze(idx.map((i) => order[i][1])),
      count: Object.freeze(idx.map((i) => counts[i])),
    });
  }
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Build a profile directly from frames and stacks (copying), e.g. in operations. Merges duplicates. */
export function profileFrom(unit: Unit, meta: ProfileMeta, stacks: Iterable<{ frames: readonly FrameInput[]; weight: number }>): Profile {
  const b = new ProfileBuilder(unit, meta);
  for (const s of stacks) b.addStack(s.frames, s.weight);
  return b.build();
}
