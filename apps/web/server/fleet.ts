/**
 * Fleet captures: one capture run on several hosts at once. Each host's collector interns frames
 * and stacks in its own id space; FleetMerge rewrites every host delta into one fleet id space in
 * which every stack starts with the host's name as its root frame, so viz's one DeltaAccumulator
 * (in the hub and in the browser) holds each host's data apart, the merged view is the same tree
 * without its root level, and the stored Profile keeps the hosts with no change to the snapshot
 * store. Frames with the same name and kind are shared between hosts.
 */
import type { FrameKind, LossStats } from '@bpfscope/viz';
import type { DeltaMessage } from '@bpfscope/viz/wire';

/** Name of the stack that takes the weight of new stacks past the fleet's stack limit (as the collector's). */
export const OTHER_STACKS = '[other stacks]';

export type HostState = 'starting' | 'running' | 'done' | 'failed';

export interface FleetHost {
  name: string;
  labels: Record<string, string>;
  state: HostState;
  error?: string;
  /** the collector's capture id once started. */
  remoteId?: string;
  samples: number;
  events: number;
  elapsedMs: number;
  loss?: LossStats;
  /** collector frame id → fleet frame id */
  frameMap: Map<number, number>;
  /** collector stack id → fleet stack id */
  stackMap: Map<number, number>;
  /** fleet frame id of this host's root frame. */
  rootFrame: number;
  /** whether the root frame's definition was sent. */
  rootSent: boolean;
  otherStack?: number;
  /** placeholder fleet frame ids (used before defined) whose definition was sent. */
  definedLate: Set<number>;
}

export class FleetMerge {
  readonly hosts = new Map<string, FleetHost>();
  private frameByKey = new Map<string, number>();
  private nextFrame = 0;
  private nextStack = 0;
  /** seq of the last fleet delta, 0 before the first: fleet deltas are intervals numbered from 1 as a
   * collector's (docs/protocol.md; 0 is what the full delta of a capture with no interval yet says). */
  private seq = 0;
  /** distinct fleet stacks so far (the limit counts these). */
  stackCount = 0;

  constructor(
    hosts: { name: string; labels?: Record<string, string> }[],
    readonly durationMs: number,
    readonly maxStacks: number,
  ) {
    for (const h of hosts) {
      this.hosts.set(h.name, {
        name: h.name,
        labels: { ...(h.labels ?? {}) },
        state: 'starting',
        samples: 0,
        events: 0,
        elapsedMs: 0,
        frameMap: new Map(),
        stackMap: new Map(),
        rootFrame: this.nextFrame++,
        rootSent: false,
        definedLate: new Set(),
      });
    }
  }

  private frame(name: string, kind: FrameKind, out: [number, string, FrameKind][]): number {
    const key = `${kind}\u0000${name}`;
    let id = this.frameByKey.get(key);
    if (id === undefined) {
      id = this.nextFrame++;
      this.frameByKey.set(key, id);
      out.push([id, name, kind]);
    }
    return id;
  }

  private mapFrame(h: FleetHost, id: number): number {
    let f = h.frameMap.get(id);
    if (f === undefined) {
      // used before defined: a fleet id without definition (the accumulator shows a placeholder)
      f = this.nextFrame++;
      h.frameMap.set(id, f);
    }
    return f;
  }

  private other(h: FleetHost, out: DeltaMessage): number {
    if (h.otherStack === undefined) {
      h.otherStack = this.nextStack++;
      const frames = (out.frames ??= []);
      const of = this.frame(OTHER_STACKS, 'unknown', frames);
      (out.stacks ??= []).push([h.otherStack, [h.rootFrame, of]]);
    }
    return h.otherStack;
  }

  private mapStack(h: FleetHost, id: number, out: DeltaMessage): number {
    let s = h.stackMap.get(id);
    if (s === undefined) {
      if (this.stackCount >= this.maxStacks) s = this.other(h, out);
      else {
        s = this.nextStack++;
        this.stackCount++;
      }
      h.stackMap.set(id, s);
    }
    return s;
  }

  /** Rewrites one host delta into a fleet delta (the hub applies and broadcasts it). */
  remap(hostName: string, d: DeltaMessage, captureId: string): DeltaMessage {
    const h = this.hosts.get(hostName);
    if (!h) throw new Error(`host ${hostName} is not part of this capture`);
    const frames: [number, string, FrameKind][] = [];
    const out: DeltaMessage = { type: 'delta', captureId, seq: ++this.seq, frames, progress: { elapsedMs: 0, durationMs: 0, samples: 0, events: 0 } };
    if (!h.rootSent) {
      frames.push([h.rootFrame, h.name, 'unknown']);
      h.rootSent = true;
    }
    for (const [id, name, kind] of d.frames ?? []) {
      const key = `${kind}\u0000${name}`;
      const known = this.frameByKey.get(key);
      const placeholder = h.frameMap.get(id);
      if (placeholder !== undefined && placeholder !== known) {
        // defined after use: the placeholder id takes the definition (also when another host
        // defined the same frame meanwhile: stacks already sent name the placeholder id)
        if (known === undefined) this.frameByKey.set(key, placeholder);
        if (h.definedLate.has(placeholder)) continue;
        h.definedLate.add(placeholder);
        frames.push([placeholder, name, kind]);
      } else if (placeholder === undefined) h.frameMap.set(id, this.frame(name, kind, frames));
    }
    const stacks: [number, number[]][] = (out.stacks ??= []);
    for (const [id, fids] of d.stacks ?? []) {
      const s = this.mapStack(h, id, out);
      if (s === h.otherStack) continue;
      stacks.push([s, [h.rootFrame, ...fids.map((f) => this.mapFrame(h, f))]]);
    }
    if (d.counts?.length) out.counts = d.counts.map(([id, w]) => [this.mapStack(h, id, out), w]);
    if (d.timeline?.length) out.timeline = d.timeline.map(([off, id, c]) => [off, this.mapStack(h, id, out), c]);
    if (d.timelineResolutionMs !== undefined) out.timelineResolutionMs = d.timelineResolutionMs;
    if (d.histograms?.length) out.histograms = d.histograms;
    if (d.histUnit) out.histUnit = d.histUnit;
    if (d.histKeyKind) out.histKeyKind = d.histKeyKind;
    if (d.intervalEnd !== undefined) out.intervalEnd = d.intervalEnd;
    if (!out.stacks?.length) delete out.stacks;
    h.samples = d.progress.samples;
    h.events = d.progress.events;
    h.elapsedMs = d.progress.elapsedMs;
    if (d.loss) {
      h.loss = d.loss;
      out.loss = this.loss();
    }
    out.progress = this.progress();
    return out;
  }

  /** Sum of every host's samples and events; the longest elapsed time. */
  progress(): DeltaMessage['progress'] {
    let samples = 0;
    let events = 0;
    let elapsedMs = 0;
    for (const h of this.hosts.values()) {
      samples += h.samples;
      events += h.events;
      elapsedMs = Math.max(elapsedMs, h.elapsedMs);
    }
    return { elapsedMs, durationMs: this.durationMs, samples, events };
  }

  /** Every host's loss counters added up. */
  loss(): LossStats | undefined {
    const out: Record<string, number> = {};
    let any = false;
    for (const h of this.hosts.values()) {
      for (const [k, v] of Object.entries(h.loss ?? {})) {
        if (typeof v !== 'number') continue;
        out[k] = (out[k] ?? 0) + v;
        any = true;
      }
    }
    return any ? (out as LossStats) : undefined;
  }

  get finished(): boolean {
    for (const h of this.hosts.values()) if (h.state === 'starting' || h.state === 'running') return false;
    return true;
  }

  /** The per-host breakdown (API, notices, snapshot metadata). */
  summary(): { name: string; labels: Record<string, string>; state: HostState; error?: string; samples: number; events: number }[] {
    return [...this.hosts.values()].map((h) => ({
      name: h.name,
      labels: h.labels,
      state: h.state,
      ...(h.error ? { error: h.error } : {}),
      samples: h.samples,
      events: h.events,
    }));
  }
}
