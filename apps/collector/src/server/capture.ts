/**
 * One running capture: drains its tool every interval, interns frames and stacks (a stack is sent
 * once, then referred to by id), keeps cumulative state for late subscribers, and fans deltas out
 * to every subscriber.
 */
import type { HistogramDelta, LossStats, StackDelta } from '@bpfscope/bpf';
import { TOOLS, type ToolDef, type ToolName } from '@bpfscope/viz/tools';
import type { CaptureInfo, CaptureOptions, DeltaMessage, EndMessage, ServerMessage, StartedMessage } from '@bpfscope/viz/wire';
import type { FrameKind } from '@bpfscope/viz';
import type { Logger } from 'pino';
import { foldRecord } from '../fold.js';
import type { CaptureSource } from '../engine.js';

export type LossCounts = Partial<Record<keyof LossStats | 'otherStacks' | 'timelineDropped', number>>;
type Hist = { start: number; end: number; key: string; slots: number[] };

/** The content of one (or, coalesced, several) intervals, before it becomes a wire message. */
export interface DeltaParts {
  seq: number;
  full?: boolean;
  frames: Array<[number, string, FrameKind]>;
  stacks: Array<[number, number[]]>;
  /** source lines first seen: [lineId, file, line] (ids from 1) */
  lines: Array<[number, string, number]>;
  /** the lines of stacks defined in `stacks` that have any: [stackId, lineIds aligned to its frames] */
  stackLines: Array<[number, number[]]>;
  counts: Map<number, number>;
  timeline: Array<[number, number, number]>;
  histograms: Hist[];
  progress: DeltaMessage['progress'];
  loss: LossCounts;
  intervalEnd: number;
  intervals: number;
}

export interface Subscriber {
  readonly id: string;
  /** Hand one interval's delta to the subscriber (it may send or coalesce); `encode` gives the shared JSON. */
  deliver(capture: Capture, parts: DeltaParts, encode: () => string): void;
  /** Send anything pending for this capture now, then `msg` (end/notice). */
  sendAfterPending(captureId: string, msg: ServerMessage): void;
  /** The capture is gone: drop pending state. */
  forget(captureId: string): void;
}

export type EndReason = EndMessage['reason'];

export interface CaptureInit {
  id: string;
  tool: ToolName;
  options: CaptureOptions;
  durationSec: number;
  intervalMs: number;
  source: CaptureSource;
  host: string;
  kernel: string;
  maxUniqueStacks: number;
  maxTimelineEntries: number;
  log: Logger;
  onEnded(capture: Capture): void;
}

const OTHER_STACKS = '[other stacks]';

export function mergeParts(into: DeltaParts, p: DeltaParts): DeltaParts {
  into.frames.push(...p.frames);
  into.stacks.push(...p.stacks);
  into.lines.push(...p.lines);
  into.stackLines.push(...p.stackLines);
  for (const [id, w] of p.counts) into.counts.set(id, (into.counts.get(id) ?? 0) + w);
  for (const t of p.timeline) into.timeline.push(t);
  into.histograms.push(...p.histograms);
  into.seq = p.seq;
  into.progress = p.progress;
  into.loss = p.loss;
  into.intervalEnd = p.intervalEnd;
  into.intervals += p.intervals;
  return into;
}

export function cloneParts(p: DeltaParts): DeltaParts {
  return {
    ...p,
    frames: [...p.frames],
    stacks: [...p.stacks],
    lines: [...p.lines],
    stackLines: [...p.stackLines],
    counts: new Map(p.counts),
    timeline: [...p.timeline],
    histograms: [...p.histograms],
  };
}

export class Capture {
  readonly id: string;
  readonly tool: ToolName;
  readonly options: CaptureOptions;
  readonly durationMs: number;
  readonly intervalMs: number;
  startTime: number;
  readonly subscribers = new Set<Subscriber>();
  private readonly source: CaptureSource;
  private readonly init: CaptureInit;
  private readonly log: Logger;

  private readonly frameIds = new Map<string, number>();
  private readonly frameDefs: Array<[number, string, FrameKind]> = [];
  private readonly stackIds = new Map<string, number>();
  private readonly stackDefs: Array<[number, number[]]> = [];
  /** source lines: `line\0file` → id (from 1; 0 is unknown) */
  private readonly lineIds = new Map<string, number>();
  private readonly lineDefs: Array<[number, string, number]> = [];
  private readonly stackLineDefs: Array<[number, number[]]> = [];
  private cum: number[] = [];
  private timeline: number[] = [];
  private timelineFull = false;
  private readonly histories: Hist[] = [];
  private otherStackId = -1;
  private seq = 0;
  private total = 0;
  private samples = 0;
  private events = 0;

  /** ns per run of the capture's BPF programs (bpf_stats), when the source reports them and the kernel counts */
  private bpfCost(): number | undefined {
    try {
      const s = this.source.programStats?.();
      return s && s.runCount > 0 ? Math.round(s.runTimeNs / s.runCount) : undefined;
    } catch {
      return undefined;
    }
  }
  private readonly loss: LossCounts = {};
  private lastDrain: number;
  /** when the current interval was due to end (scheduled boundary). */
  private dueAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  /** the drain in flight (source.drainAsync): ticks never overlap, finish waits for it */
  private inflight: Promise<void> | undefined;
  /** finish() waiting for the drain in flight and the final drain */
  private finishing: Promise<void> | undefined;
  /** why a drain failed while finish() was waiting: the capture ends as failed */
  private failure: string | undefined;
  histUnit: 'usecs' | 'msecs' | undefined;
  histKeyKind: 'none' | 'disk' | 'flags' | 'pid' | 'tid' | 'function' | undefined;
  private resolutionMs: number | undefined;

  constructor(init: CaptureInit) {
    this.init = init;
    this.id = init.id;
    this.tool = init.tool;
    this.options = init.options;
    this.durationMs = Math.round(init.durationSec * 1000);
    this.intervalMs = init.intervalMs;
    this.source = init.source;
    this.startTime = init.source.startTime || Date.now();
    this.lastDrain = this.startTime;
    this.log = init.log.child({ captureId: init.id, tool: init.tool });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  get uniqueStacks(): number {
    return this.stackDefs.length;
  }

  /** What the started message and the capture list both say about the capture. */
  private settings(): Omit<CaptureInfo, 'subscribers'> {
    return {
      captureId: this.id,
      tool: this.tool,
      options: this.options as Record<string, unknown>,
      durationSec: this.durationMs / 1000,
      intervalMs: this.intervalMs,
      startTime: this.startTime,
    };
  }

  started(requestId: string): StartedMessage {
    return { type: 'started', requestId, ...this.settings(), host: this.init.host, kernel: this.init.kernel };
  }

  info(): CaptureInfo {
    return { ...this.settings(), subscribers: this.subscribers.size };
  }

  /** Start the interval timer (deadlines computed from startTime, so intervals do not drift). */
  run(): void {
    const ready = this.source.ready;
    if (!ready) return this.schedule();
    // the CFI walker's tools start sampling once the unwind tables are loaded (bounded): the
    // capture's start time and duration count from then
    ready.then(
      () => {
        if (this.ended || this.finishing) return;
        this.startTime = this.source.startTime || this.startTime;
        this.lastDrain = this.startTime;
        this.schedule();
      },
      (e: unknown) => {
        if (this.ended) return;
        this.log.error({ err: (e as Error).message }, 'cannot start sampling');
        this.finish('failed', `cannot start sampling: ${(e as Error).message}`);
      },
    );
  }

  private schedule(): void {
    if (this.ended || this.finishing) return;
    const now = Date.now();
    const endAt = this.startTime + this.durationMs;
    const n = Math.floor((now - this.startTime) / this.intervalMs) + 1;
    const nextTick = this.startTime + n * this.intervalMs;
    const at = Math.min(nextTick, endAt);
    this.dueAt = at;
    this.timer = setTimeout(
      () => {
        if (this.ended || this.finishing) return;
        if (Date.now() >= endAt - 1) void this.finish('completed');
        else void this.tick().then(() => this.schedule());
      },
      Math.max(0, at - now),
    );
  }

  private frameId(name: string, kind: FrameKind, newFrames: Array<[number, string, FrameKind]>): number {
    const key = kind + '\0' + name;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frameDefs.length;
      this.frameIds.set(key, id);
      const def: [number, string, FrameKind] = [id, name, kind];
      this.frameDefs.push(def);
      newFrames.push(def);
    }
    return id;
  }

  private lineId(file: string | undefined, line: number | undefined, newLines: Array<[number, string, number]>): number {
    if (!file || !(line !== undefined && Number.isInteger(line) && line > 0)) return 0;
    const key = line + '\0' + file;
    let id = this.lineIds.get(key);
    if (id === undefined) {
      id = this.lineDefs.length + 1;
      this.lineIds.set(key, id);
      const def: [number, string, number] = [id, file, line];
      this.lineDefs.push(def);
      newLines.push(def);
    }
    return id;
  }

  /**
   * The stack id of folded frames. Source lines are a side table (not part of frame identity): the
   * same frames at other lines are another stack over the same frame ids, so call trees merge them.
   */
  private stackId(frames: Array<{ name: string; kind: FrameKind; file?: string; line?: number }>, parts: DeltaParts): number {
    const atLimit = this.stackDefs.length >= this.init.maxUniqueStacks;
    let ids: number[];
    if (atLimit) {
      // past the limit nothing new is interned (neither frames nor stacks): a stack with an unseen
      // frame, or an unseen combination, goes to the catch-all
      ids = new Array(frames.length);
      let known = true;
      for (let i = 0; i < frames.length && known; i++) {
        const id = this.frameIds.get(frames[i]!.kind + '\0' + frames[i]!.name);
        if (id === undefined) known = false;
        else ids[i] = id;
      }
      let found: number | undefined;
      if (known) {
        // lines are not interned past the limit either: a stack known with these lines, else the
        // same frames known without lines, else the catch-all
        let lines: number[] | undefined;
        for (let i = 0; i < frames.length; i++) {
          const f = frames[i]!;
          if (f.line === undefined || !f.file) continue;
          const l = this.lineIds.get(f.line + '\0' + f.file) ?? 0;
          if (l) (lines ??= new Array<number>(frames.length).fill(0))[i] = l;
        }
        found = this.stackIds.get(lines ? ids.join(',') + '|' + lines.join(',') : ids.join(',')) ?? (lines ? this.stackIds.get(ids.join(',')) : undefined);
      }
      if (found !== undefined) return found;
      if (this.otherStackId < 0) {
        // the first overflow creates the catch-all stack (not counted against the limit)
        const fid = this.frameId(OTHER_STACKS, 'unknown', parts.frames);
        this.otherStackId = this.stackDefs.length;
        const def: [number, number[]] = [this.otherStackId, [fid]];
        this.stackDefs.push(def);
        parts.stacks.push(def);
        this.notice('stack_limit', `more than ${this.init.maxUniqueStacks} distinct stacks: further new stacks are counted in "${OTHER_STACKS}"`);
      }
      return this.otherStackId;
    }
    ids = frames.map((f) => this.frameId(f.name, f.kind, parts.frames));
    let lines: number[] | undefined;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.line === undefined) continue;
      const l = this.lineId(f.file, f.line, parts.lines);
      if (l) (lines ??= new Array<number>(frames.length).fill(0))[i] = l;
    }
    const key = lines ? ids.join(',') + '|' + lines.join(',') : ids.join(',');
    const id = this.stackIds.get(key);
    if (id !== undefined) return id;
    const nid = this.stackDefs.length;
    this.stackIds.set(key, nid);
    const def: [number, number[]] = [nid, ids];
    this.stackDefs.push(def);
    parts.stacks.push(def);
    if (lines) {
      const ldef: [number, number[]] = [nid, lines];
      this.stackLineDefs.push(ldef);
      parts.stackLines.push(ldef);
    }
    return nid;
  }

  private notice(code: string, message: string): void {
    this.log.warn({ code }, message);
    for (const s of this.subscribers) s.sendAfterPending(this.id, { type: 'notice', captureId: this.id, code, message });
  }

  private addLoss(l: LossStats): void {
    for (const [k, v] of Object.entries(l) as Array<[keyof LossStats, number]>) if (v) this.loss[k] = (this.loss[k] ?? 0) + v;
  }

  /** Turn one drained tool delta into DeltaParts, updating cumulative state. */
  private absorb(d: StackDelta | HistogramDelta, intervalStart: number, intervalEnd: number): DeltaParts {
    const parts: DeltaParts = {
      seq: ++this.seq,
      frames: [],
      stacks: [],
      lines: [],
      stackLines: [],
      counts: new Map(),
      timeline: [],
      histograms: [],
      progress: { elapsedMs: 0, durationMs: this.durationMs, samples: 0, events: 0 },
      loss: this.loss,
      intervalEnd,
      intervals: 1,
    };
    this.events += d.events || 0;
    this.addLoss(d.loss);
    if (d.kind === 'stacks') {
      const recStack: number[] = new Array(d.records.length);
      for (let i = 0; i < d.records.length; i++) {
        const rec = d.records[i]!;
        const id = this.stackId(foldRecord(this.tool, rec), parts);
        recStack[i] = id;
        const w = rec.value;
        if (!(w > 0)) continue;
        parts.counts.set(id, (parts.counts.get(id) ?? 0) + w);
        this.cum[id] = (this.cum[id] ?? 0) + w;
        this.total += w;
        if (id === this.otherStackId) this.loss.otherStacks = (this.loss.otherStacks ?? 0) + w;
      }
      this.samples += TOOLS[this.tool].unit === 'samples' ? d.records.reduce((a, r) => a + Math.max(r.value, 0), 0) : d.records.length;
      if (d.timeline) {
        this.resolutionMs = d.timeline.resolutionMs;
        const agg = new Map<string, [number, number, number]>();
        for (const e of d.timeline.entries) {
          const sid = recStack[e.record];
          if (sid === undefined) continue;
          const k = e.offsetMs + ':' + sid;
          const a = agg.get(k);
          if (a) a[2] += e.count;
          else agg.set(k, [e.offsetMs, sid, e.count]);
        }
        for (const t of agg.values()) {
          parts.timeline.push(t);
          if (!this.timelineFull) {
            if (this.timeline.length / 3 >= this.init.maxTimelineEntries) {
              this.timelineFull = true;
              this.notice('timeline_limit', `timeline history passed ${this.init.maxTimelineEntries} entries: late subscribers get no earlier timeline`);
            } else this.timeline.push(t[0], t[1], t[2]);
          }
          if (this.timelineFull) this.loss.timelineDropped = (this.loss.timelineDropped ?? 0) + 1;
        }
      }
    } else {
      this.histUnit = d.unit;
      this.histKeyKind = d.keyKind;
      for (const h of d.histograms) {
        const entry: Hist = { start: intervalStart, end: intervalEnd, key: h.key, slots: h.slots };
        parts.histograms.push(entry);
        this.histories.push(entry);
        const n = h.slots.reduce((a, b) => a + b, 0);
        this.total += n;
        this.samples += n;
      }
    }
    parts.progress = {
      elapsedMs: Math.min(intervalEnd - this.startTime, this.durationMs),
      durationMs: this.durationMs,
      samples: this.samples,
      events: this.events,
    };
    const cost = this.bpfCost();
    if (cost !== undefined) parts.progress.bpfNsPerRun = cost;
    parts.loss = { ...this.loss };
    return parts;
  }

  /** Wire message for parts (shared encoding for all non-coalescing subscribers). */
  message(p: DeltaParts): DeltaMessage {
    const m: DeltaMessage = { type: 'delta', captureId: this.id, seq: p.seq, progress: p.progress, intervalEnd: p.intervalEnd };
    if (p.full) m.full = true;
    if (p.intervals > 1) m.intervals = p.intervals;
    if (p.frames.length) m.frames = p.frames;
    if (p.stacks.length) m.stacks = p.stacks;
    if (p.lines.length) m.lines = p.lines;
    if (p.stackLines.length) m.stackLines = p.stackLines;
    if (p.counts.size) m.counts = [...p.counts];
    const def: ToolDef = TOOLS[this.tool];
    if (def.timeline) {
      m.timeline = p.timeline;
      if (this.resolutionMs !== undefined) m.timelineResolutionMs = this.resolutionMs;
    }
    if (def.kind === 'histogram') {
      m.histograms = p.histograms;
      if (this.histUnit) m.histUnit = this.histUnit;
      if (this.histKeyKind) m.histKeyKind = this.histKeyKind;
    }
    if (Object.keys(p.loss).length) m.loss = p.loss as DeltaMessage['loss'];
    return m;
  }

  /** Everything so far (for a late subscriber): every definition, cumulative counts, whole timeline. */
  fullParts(): DeltaParts {
    const counts = new Map<number, number>();
    this.cum.forEach((w, id) => {
      if (w) counts.set(id, w);
    });
    const timeline: Array<[number, number, number]> = [];
    for (let i = 0; i < this.timeline.length; i += 3) timeline.push([this.timeline[i]!, this.timeline[i + 1]!, this.timeline[i + 2]!]);
    return {
      seq: this.seq,
      full: true,
      frames: [...this.frameDefs],
      stacks: [...this.stackDefs],
      lines: [...this.lineDefs],
      stackLines: [...this.stackLineDefs],
      counts,
      timeline,
      histograms: [...this.histories],
      progress: {
        elapsedMs: Math.min(this.lastDrain - this.startTime, this.durationMs),
        durationMs: this.durationMs,
        samples: this.samples,
        events: this.events,
      },
      loss: { ...this.loss },
      intervalEnd: this.lastDrain,
      intervals: this.seq,
    };
  }

  /**
   * Drain the tool and fan the delta out. With source.drainAsync the wait for running BPF programs
   * runs off the event loop; a tick while one is in flight returns that one (ticks never overlap).
   */
  tick(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.inflight) return this.inflight;
    const start = this.lastDrain;
    const t0 = Date.now();
    const src = this.source;
    if (!src.drainAsync) {
      let d: StackDelta | HistogramDelta;
      try {
        d = src.drain();
      } catch (e) {
        this.drainFailed(e);
        return Promise.resolve();
      }
      this.deliverDelta(d, start, t0);
      return Promise.resolve();
    }
    const p = src.drainAsync().then(
      (d) => {
        this.inflight = undefined;
        if (!this.ended) this.deliverDelta(d, start, t0);
      },
      (e: unknown) => {
        this.inflight = undefined;
        if (!this.ended) this.drainFailed(e);
      },
    );
    this.inflight = p;
    return p;
  }

  private drainFailed(e: unknown): void {
    this.log.error({ err: (e as Error).message }, 'drain failed');
    this.failure = `drain failed: ${(e as Error).message}`;
    void this.finish('failed', this.failure);
  }

  private deliverDelta(d: StackDelta | HistogramDelta, start: number, t0: number): void {
    // the interval ends when the drain begins (the kernel data it reads is up to then); the delay a
    // client sees from intervalEnd therefore includes draining, symbolizing, interning and sending
    const end = t0;
    const drained = Date.now();
    this.lastDrain = end;
    const parts = this.absorb(d, start, end);
    let encoded: string | undefined;
    const encode = () => (encoded ??= JSON.stringify(this.message(parts)));
    for (const s of [...this.subscribers]) s.deliver(this, parts, encode);
    if (this.log.isLevelEnabled('debug'))
      this.log.debug(
        {
          seq: parts.seq,
          lateMs: t0 - this.dueAt,
          drainMs: drained - t0,
          sendMs: Date.now() - drained,
          bytes: encoded?.length,
          newStacks: parts.stacks.length,
        },
        'interval',
      );
  }

  subscribe(s: Subscriber, late: boolean): void {
    this.subscribers.add(s);
    if (late) {
      const parts = this.fullParts();
      s.deliver(this, parts, () => JSON.stringify(this.message(parts)));
    }
  }

  /** Remove a subscriber; returns true when nobody watches any more. */
  unsubscribe(s: Subscriber): boolean {
    this.subscribers.delete(s);
    s.forget(this.id);
    return this.subscribers.size === 0;
  }

  endMessage(reason: EndReason, error?: string): EndMessage {
    const unit = TOOLS[this.tool].unit;
    const m: EndMessage = {
      type: 'end',
      captureId: this.id,
      reason,
      unit,
      total: this.total,
      samples: this.samples,
      events: this.events,
      meta: {
        tool: this.tool,
        host: this.init.host,
        kernel: this.init.kernel,
        options: this.options as Record<string, unknown>,
        startTime: this.startTime,
        durationMs: Math.max(0, this.lastDrain - this.startTime),
      },
    };
    if (Object.keys(this.loss).length) m.loss = { ...this.loss } as EndMessage['loss'];
    if (error) m.error = error;
    return m;
  }

  /**
   * End the capture: a final drain (unless cancelled/failed), detach the programs, send `end` to
   * every subscriber. Idempotent. Synchronous unless a drain is in flight or the source drains
   * asynchronously: then it first waits for that drain (the programs are never detached between a
   * drain's switch and read) and the final one; the promise resolves once the capture has ended.
   */
  finish(reason: EndReason, error?: string): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.finishing) return this.finishing;
    if (this.timer) clearTimeout(this.timer);
    const finalDrain = reason === 'completed' || reason === 'stopped' || reason === 'shutdown';
    if (this.inflight || (finalDrain && this.source.drainAsync)) {
      this.finishing = (async () => {
        if (this.inflight) await this.inflight;
        if (finalDrain && !this.failure) await this.tick();
        this.end(reason, error);
      })();
      return this.finishing;
    }
    if (finalDrain) void this.tick(); // synchronous source: drained (or failed and ended) now
    this.end(reason, error);
    return Promise.resolve();
  }

  private end(reason: EndReason, error?: string): void {
    if (this.ended) return; // a drain failed and ended it
    if (this.failure && reason !== 'failed') {
      reason = 'failed';
      error = this.failure;
    }
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.source.close();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'close failed');
    }
    const end = this.endMessage(reason, error);
    this.log.info({ reason, total: this.total, samples: this.samples, stacks: this.stackDefs.length, subscribers: this.subscribers.size }, 'capture ended');
    for (const s of this.subscribers) {
      s.sendAfterPending(this.id, end);
      s.forget(this.id);
    }
    this.subscribers.clear();
    this.init.onEnded(this);
  }
}
