/**
 * Capture relay. The hub starts a capture on a collector, mirrors it from the wire deltas with
 * viz's DeltaAccumulator (the browser uses the same one), fans every message out
 * to Server-Sent-Events subscribers (a late subscriber first gets one `full` delta), and when the
 * capture ends builds a Profile and, unless asked not to, stores it as a snapshot.
 */
import type { LossStats, Profile, ToolName } from '@bpfscope/viz';
import { DeltaAccumulator, type CaptureOptions, type DeltaMessage, type EndMessage, type ServerMessage, type StartedMessage } from '@bpfscope/viz/wire';
import { collectorConfigs, type CollectorConfig } from './config';
import { CollectorClient, CollectorRequestError, CollectorUnavailableError } from './collector-client';
import { HttpError } from './http';
import { newId } from './ids';
import { getSnapshotStore, type SnapshotStore } from './snapshots';

export type CaptureState = 'running' | 'done' | 'failed';

export interface CaptureRequest {
  tool: ToolName;
  durationSec: number;
  options: CaptureOptions;
  collector: string;
  save: boolean;
  name?: string;
  notes?: string;
}

/** Notice code the hub broadcasts after a capture's last message; SSE handlers close on it. */
export const STREAM_END = 'stream_end';

export type Subscriber = (msg: ServerMessage) => void;

/** Finished captures are kept this long (for late viewers and "save as snapshot"). */
const KEEP_FINISHED_MS = 60 * 60 * 1000;
const KEEP_FINISHED_MAX = 10;

export class HubCapture {
  readonly id = newId();
  readonly req: CaptureRequest;
  readonly createdAt = Date.now();
  state: CaptureState = 'running';
  error: string | null = null;
  snapshotId: string | null = null;
  collectorCaptureId: string | null = null;
  started: StartedMessage | null = null;
  end: EndMessage | null = null;
  endedAt: number | null = null;
  /** true while the hub is storing the snapshot after `end`. */
  saving = false;

  /** the capture's data, mirrored from the collector's deltas. */
  readonly data: DeltaAccumulator;
  readonly notices: ServerMessage[] = [];
  private readonly subs = new Set<Subscriber>();

  constructor(req: CaptureRequest) {
    this.req = req;
    this.data = new DeltaAccumulator(req.tool, req.durationSec * 1000);
  }

  get progress(): DeltaMessage['progress'] {
    return this.data.progress;
  }

  get loss(): LossStats | undefined {
    return this.data.loss;
  }

  get finished(): boolean {
    return this.state !== 'running';
  }

  /** Applies one delta from the collector to the mirrored state (false: a seq already applied). */
  apply(d: DeltaMessage): boolean {
    return this.data.apply(d);
  }

  /** Everything so far as one delta (what a new subscriber receives first). */
  fullDelta(): DeltaMessage {
    return this.data.fullDelta(this.id);
  }

  /** Messages a subscriber gets on joining: started, notices, the full delta, and the end if over. */
  replay(): ServerMessage[] {
    const out: ServerMessage[] = [];
    if (this.started) out.push({ ...this.started, captureId: this.id });
    out.push(...this.notices);
    out.push(this.fullDelta());
    if (this.finished) out.push(...this.closingMessages());
    return out;
  }

  private closingMessages(): ServerMessage[] {
    const out: ServerMessage[] = [];
    if (this.end) out.push({ ...this.end, captureId: this.id });
    if (this.state === 'failed' && (!this.end || this.end.reason !== 'failed'))
      out.push({ type: 'error', captureId: this.id, code: 'capture_failed', message: this.error ?? 'capture failed' });
    return out;
  }

  subscribe(fn: Subscriber): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  broadcast(msg: ServerMessage): void {
    for (const s of [...this.subs]) {
      try {
        s(msg);
      } catch {
        this.subs.delete(s);
      }
    }
  }

  /** The API view of this capture (`GET /api/captures/<id>`). */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      tool: this.req.tool,
      collector: this.req.collector,
      state: this.state,
      ...(this.error ? { error: this.error } : {}),
      ...(this.snapshotId ? { snapshotId: this.snapshotId, snapshotUrl: `/s/${this.snapshotId}` } : {}),
      progress: this.progress,
      durationSec: this.req.durationSec,
      options: this.started?.options ?? this.req.options,
      startTime: this.started?.startTime ?? null,
      createdAt: this.createdAt,
      endedAt: this.endedAt,
      host: this.started?.host ?? null,
      kernel: this.started?.kernel ?? null,
      intervalMs: this.started?.intervalMs ?? null,
      endReason: this.end?.reason ?? null,
      loss: this.end?.loss ?? this.loss ?? null,
      stacks: this.data.stackCount,
      save: this.req.save,
      saving: this.saving,
    };
  }

  /** Builds the Profile of what was gathered (dense frame/stack indices, timeline remapped). */
  toProfile(name?: string, notes?: string): Profile {
    const started = this.started;
    return this.data.toProfile({
      meta: {
        name: name ?? this.req.name,
        notes: notes ?? this.req.notes,
        options: started?.options ?? (this.req.options as Record<string, unknown>),
        host: started?.host,
        kernel: started?.kernel,
        durationMs: this.progress.elapsedMs,
      },
      startTime: started?.startTime ?? this.createdAt,
      histUnit: this.req.options.milliseconds ? 'msecs' : 'usecs',
    });
  }
}

/** Maps collector error codes to HTTP statuses for the start request. */
function statusForCode(code: string): number {
  switch (code) {
    case 'bad_option':
    case 'unknown_tool':
    case 'bad_message':
    case 'no_such_pid':
      return 400;
    case 'limit':
    case 'rate_limited':
      return 429;
    case 'privileges':
    case 'bpf':
      return 502;
    default:
      return 502;
  }
}

export class Hub {
  private clients = new Map<string, CollectorClient>();
  readonly captures = new Map<string, HubCapture>();
  /** collector id + collector capture id → hub capture */
  private byRemote = new Map<string, HubCapture>();
  private storeFactory: () => SnapshotStore;
  private configs: () => CollectorConfig[];

  constructor(opts: { store?: () => SnapshotStore; configs?: () => CollectorConfig[] } = {}) {
    this.storeFactory = opts.store ?? getSnapshotStore;
    this.configs = opts.configs ?? (() => collectorConfigs());
  }

  collectorList(): CollectorConfig[] {
    return this.configs();
  }

  /** The client for a configured collector, or null when the id is not configured. */
  client(id: string): CollectorClient | null {
    const cfg = this.configs().find((c) => c.id === id);
    if (!cfg) return null;
    let c = this.clients.get(id);
    if (c && (c.cfg.url !== cfg.url || c.cfg.token !== cfg.token || c.cfg.tokenFile !== cfg.tokenFile)) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = new CollectorClient(cfg);
      c.on('message', (m: ServerMessage) => this.onMessage(id, m));
      c.on('disconnect', (why: string) => this.onDisconnect(id, why));
      this.clients.set(id, c);
    }
    return c;
  }

  /** Every capture the hub remembers, newest first (running ones and recently finished ones). */
  list(): HubCapture[] {
    return [...this.captures.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): HubCapture | null {
    return this.captures.get(id) ?? null;
  }

  /** Starts a capture; resolves once the collector has started it (or rejects with an HttpError: status and field). */
  async start(req: CaptureRequest): Promise<HubCapture> {
    const client = this.client(req.collector);
    if (!client) {
      const ids = this.configs().map((c) => c.id);
      throw new HttpError(400, `collector: "${req.collector}" is not configured (configured: ${ids.join(', ')})`, { field: 'collector' });
    }
    this.prune();
    const cap = new HubCapture(req);
    this.captures.set(cap.id, cap);
    let started: StartedMessage;
    try {
      started = await client.request(
        { type: 'start', requestId: cap.id, tool: req.tool, durationSec: req.durationSec, options: req.options },
        (m): m is StartedMessage => {
          if (m.type !== 'started' || m.requestId !== cap.id) return false;
          // register synchronously: ws may emit the first delta in the same tick as `started`
          cap.started = m;
          cap.collectorCaptureId = m.captureId;
          this.byRemote.set(`${req.collector}\u0000${m.captureId}`, cap);
          return true;
        },
        30000,
      );
    } catch (e) {
      this.captures.delete(cap.id);
      if (cap.collectorCaptureId) this.byRemote.delete(`${req.collector}\u0000${cap.collectorCaptureId}`);
      if (e instanceof CollectorRequestError) {
        const field = e.field ? (e.field.startsWith('options') || e.field === 'tool' || e.field === 'durationSec' ? e.field : `options.${e.field}`) : undefined;
        // a limit on one field (durationSec above the collector's maximum…) is a bad request;
        // a limit without a field (too many concurrent captures) means "try again later"
        const status = e.code === 'limit' && field ? 400 : statusForCode(e.code);
        throw new HttpError(status, e.message, field ? { field } : {});
      }
      if (e instanceof CollectorUnavailableError) throw new HttpError(503, e.message);
      throw e;
    }
    cap.broadcast({ ...started, captureId: cap.id });
    return cap;
  }

  private onMessage(collectorId: string, m: ServerMessage): void {
    if (!('captureId' in m) || !m.captureId) return;
    const cap = this.byRemote.get(`${collectorId}\u0000${m.captureId}`);
    if (!cap || cap.finished) return;
    switch (m.type) {
      case 'delta':
        cap.apply(m);
        cap.broadcast({ ...m, captureId: cap.id });
        break;
      case 'notice': {
        const n = { ...m, captureId: cap.id };
        if (cap.notices.length < 100) cap.notices.push(n);
        cap.broadcast(n);
        break;
      }
      case 'error':
        // an error about a running capture ends it
        this.finish(cap, null, `${m.code}: ${m.message}`);
        break;
      case 'end':
        cap.end = m;
        cap.data.finish(m);
        if (m.reason === 'completed' || m.reason === 'stopped') void this.complete(cap);
        else this.finish(cap, m, m.reason === 'cancelled' ? 'cancelled' : m.error ?? `capture ended: ${m.reason}`);
        break;
      default:
        break;
    }
  }

  private onDisconnect(collectorId: string, why: string): void {
    for (const cap of this.captures.values()) {
      if (cap.req.collector === collectorId && !cap.finished && cap.started)
        this.finish(cap, null, `lost the connection to collector ${collectorId}: ${why}`);
    }
  }

  /** A capture that ended normally: build the profile, store it if asked, then tell subscribers. */
  private async complete(cap: HubCapture): Promise<void> {
    if (cap.req.save) {
      cap.saving = true;
      try {
        const meta = await this.storeFactory().save(cap.toProfile());
        cap.snapshotId = meta.id;
        const n: ServerMessage = { type: 'notice', captureId: cap.id, code: 'snapshot_saved', message: `Saved as snapshot ${meta.id} (/s/${meta.id})` };
        cap.notices.push(n);
        cap.broadcast(n);
      } catch (e) {
        cap.saving = false;
        this.finish(cap, cap.end, `the capture ended but saving the snapshot failed: ${(e as Error).message}`);
        return;
      }
      cap.saving = false;
    }
    cap.state = 'done';
    cap.endedAt = Date.now();
    if (cap.end) cap.broadcast({ ...cap.end, captureId: cap.id });
    this.release(cap);
  }

  private finish(cap: HubCapture, end: EndMessage | null, error: string): void {
    if (cap.finished) return;
    cap.state = 'failed';
    cap.error = error;
    cap.endedAt = Date.now();
    if (end) cap.broadcast({ ...end, captureId: cap.id });
    if (!end || end.reason !== 'failed') cap.broadcast({ type: 'error', captureId: cap.id, code: end?.reason === 'cancelled' ? 'cancelled' : 'capture_failed', message: error });
    else cap.broadcast({ type: 'error', captureId: cap.id, code: 'capture_failed', message: error });
    this.release(cap);
  }

  private release(cap: HubCapture): void {
    if (cap.collectorCaptureId) this.byRemote.delete(`${cap.req.collector}\u0000${cap.collectorCaptureId}`);
    // internal marker: SSE streams close on it (it is not forwarded to browsers)
    cap.broadcast({ type: 'notice', captureId: cap.id, code: STREAM_END, message: cap.state });
  }

  /** Ends a running capture early, keeping its data (it is saved like a completed one). */
  stop(cap: HubCapture): void {
    if (cap.finished) throw new HttpError(409, `capture ${cap.id} is already ${cap.state}`);
    const c = this.client(cap.req.collector);
    if (!c || !cap.collectorCaptureId) throw new HttpError(503, `collector ${cap.req.collector} is not connected`);
    try {
      c.send({ type: 'stop', captureId: cap.collectorCaptureId });
    } catch (e) {
      throw new HttpError(503, (e as Error).message);
    }
  }

  /** Cancels a running capture: nothing is saved. */
  cancel(cap: HubCapture): void {
    if (cap.finished) return;
    const c = this.client(cap.req.collector);
    try {
      if (c && cap.collectorCaptureId) c.send({ type: 'cancel', captureId: cap.collectorCaptureId });
    } catch {
      // the connection is gone: the capture is over anyway
    }
    this.finish(cap, null, 'cancelled');
  }

  /** Saves a finished capture as a (new) snapshot with a name and notes. */
  async saveSnapshot(cap: HubCapture, name: string, notes?: string): Promise<string> {
    if (!cap.finished || cap.saving) throw new HttpError(409, `capture ${cap.id} is still running; stop it or wait for it to end before saving`);
    if (!cap.end && !cap.data.hasData) throw new HttpError(409, `capture ${cap.id} gathered no data to save`);
    const meta = await this.storeFactory().save(cap.toProfile(name, notes), { name, notes });
    if (!cap.snapshotId) cap.snapshotId = meta.id;
    return meta.id;
  }

  private prune(): void {
    const now = Date.now();
    const done = [...this.captures.values()].filter((c) => c.finished).sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    done.forEach((c, i) => {
      if (now - (c.endedAt ?? now) > KEEP_FINISHED_MS || done.length - i > KEEP_FINISHED_MAX) this.captures.delete(c.id);
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

const G = globalThis as typeof globalThis & { __bpfscopeHub?: Hub };

/** The process-wide hub (on globalThis: Next may load route modules more than once). */
export function getHub(): Hub {
  if (!G.__bpfscopeHub) G.__bpfscopeHub = new Hub();
  return G.__bpfscopeHub;
}
