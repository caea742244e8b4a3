/**
 * Capture relay. The hub starts a capture on a collector, mirrors it from the wire deltas with
 * viz's DeltaAccumulator (the browser uses the same one), fans every message out
 * to Server-Sent-Events subscribers (a late subscriber first gets one `full` delta), and when the
 * capture ends builds a Profile and, unless asked not to, stores it as a snapshot.
 */
import type { FleetHostMeta, LossStats, Profile, ToolName } from '@bpfscope/viz';
import { DeltaAccumulator, type CaptureOptions, type DeltaMessage, type EndMessage, type ServerMessage, type StartedMessage } from '@bpfscope/viz/wire';
import { collectorConfigs, fleetLimits, type CollectorConfig } from './config';
import { FleetMerge } from './fleet';
import { CollectorClient, CollectorRequestError, CollectorUnavailableError } from './collector-client';
import type WebSocket from 'ws';
import { HttpError } from './http';
import { newId } from './ids';
import { getSnapshotStore, type SnapshotStore } from './snapshots';

export type CaptureState = 'running' | 'done' | 'failed';

export interface CaptureRequest {
  tool: ToolName;
  durationSec: number;
  options: CaptureOptions;
  collector: string;
  /** a fleet capture: these hosts (collector ids / joined names)… */
  hosts?: string[];
  /** …or every host whose labels match all of these. */
  selector?: Record<string, string>;
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
  /** a fleet capture (several hosts): the per-host state and the id rewriting. */
  fleet: FleetMerge | null = null;
  /** stop was asked (a fleet capture ends `stopped`). */
  stopRequested = false;

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
    if (this.state === 'failed' && this.end?.reason !== 'failed')
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
      collector: this.fleet ? null : this.req.collector,
      ...(this.fleet ? { hosts: this.fleet.summary(), partial: this.fleet.summary().some((h) => h.state === 'failed') } : {}),
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
    const p = this.data.toProfile({
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
    if (!this.fleet) return p;
    const hosts: FleetHostMeta[] = this.fleet.summary().map((h) => ({
      name: h.name,
      ...(Object.keys(h.labels).length ? { labels: h.labels } : {}),
      state: h.state === 'done' ? 'done' : 'failed',
      ...(h.state !== 'done' ? { error: h.error ?? `ended while ${h.state}` } : {}),
      samples: h.samples,
    }));
    const partial = hosts.some((h) => h.state === 'failed');
    return { ...p, meta: { ...p.meta, hosts, ...(partial ? { partial } : {}) } };
  }
}

/** Most hosts one hub keeps (joined); the join endpoint refuses more. */
const MAX_JOINED = 5000;

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
  /** hosts that joined (`bpfscope serve --hub`), by name; kept after a disconnect until removed. */
  private joined = new Map<string, CollectorClient>();
  readonly captures = new Map<string, HubCapture>();
  /** collector id + collector capture id → hub capture */
  private byRemote = new Map<string, HubCapture>();
  private storeFactory: () => SnapshotStore;
  private configs: () => CollectorConfig[];

  constructor(opts: { store?: () => SnapshotStore; configs?: () => CollectorConfig[] } = {}) {
    this.storeFactory = opts.store ?? getSnapshotStore;
    this.configs = opts.configs ?? (() => collectorConfigs());
  }

  /** Static collectors (BPFSCOPE_COLLECTOR_URL, BPFSCOPE_COLLECTORS) then hosts that joined, by name. */
  collectorList(): CollectorConfig[] {
    const statics = this.configs();
    return [...statics, ...[...this.joined.values()].filter((c) => !statics.some((s) => s.id === c.cfg.id)).map((c) => c.cfg)];
  }

  /**
   * A collector that dialled the hub's join endpoint (already authenticated by the join token).
   * Refused with an HttpError (409 or 503: the status and words the collector logs) when the name is a static collector's id or a connected host's.
   * Resolves once it answered hello with its welcome.
   */
  /** Why a host of this name may not join now (name in use…) as the HTTP refusal, or null. */
  joinClash(name: string): HttpError | null {
    if (this.configs().some((c) => c.id === name))
      return new HttpError(409, `the name "${name}" is a statically configured collector (BPFSCOPE_COLLECTORS / local) on this hub: pick another --name`);
    const prev = this.joined.get(name);
    if (prev && (prev.connected || prev.attaching))
      return new HttpError(
        409,
        `a host named "${name}" is already connected to this hub (from ${prev.cfg.url.replace(/^joined from /, '')}): give this collector another --name, or remove the other host first`,
      );
    if (!prev && this.joined.size >= MAX_JOINED) return new HttpError(503, `this hub already has ${MAX_JOINED} hosts; remove some first`);
    return null;
  }

  async registerJoined(name: string, labels: Record<string, string>, ws: WebSocket, remote: string): Promise<CollectorClient> {
    const clash = this.joinClash(name);
    if (clash) throw clash;
    this.joined.get(name)?.close();
    const c = new CollectorClient({ id: name, name, url: `joined from ${remote}`, joined: true, labels });
    c.on('message', (m: ServerMessage) => this.onMessage(name, m));
    c.on('disconnect', (why: string) => this.onDisconnect(name, why));
    this.joined.set(name, c);
    c.attaching = true;
    try {
      await c.attach(ws);
    } finally {
      c.attaching = false;
    }
    return c;
  }

  /** Forgets a joined host; a connected one is closed with 4410 and does not rejoin until restarted. */
  removeHost(id: string): void {
    const c = this.joined.get(id);
    if (!c) {
      if (this.configs().some((x) => x.id === id))
        throw new HttpError(409, `collector "${id}" is configured statically (BPFSCOPE_COLLECTOR_URL / BPFSCOPE_COLLECTORS): remove it from the configuration`);
      throw new HttpError(404, `no host "${id.slice(0, 64)}"`);
    }
    this.joined.delete(id);
    this.onDisconnect(id, 'removed by the operator');
    c.closeWith(4410, 'removed by the hub operator');
  }

  /** The client for a configured or joined collector, or null when the id is neither. */
  client(id: string): CollectorClient | null {
    const cfg = this.configs().find((c) => c.id === id);
    if (!cfg) return this.joined.get(id) ?? null;
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
    if (req.hosts || req.selector) return this.startFleet(req);
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

  /** The hosts a fleet request names (checked) or selects by labels; 400 naming the field otherwise. */
  private fleetHosts(req: CaptureRequest): CollectorConfig[] {
    const all = this.collectorList();
    if (req.selector) {
      const sel = Object.entries(req.selector);
      const picked = all.filter((c) => sel.every(([k, v]) => c.labels?.[k] === v));
      if (!picked.length)
        throw new HttpError(
          400,
          `selector: no host has the labels ${sel.map(([k, v]) => `${k}=${v}`).join(', ')} (GET /api/collectors lists hosts and labels)`,
          { field: 'selector' },
        );
      return picked;
    }
    const out: CollectorConfig[] = [];
    (req.hosts ?? []).forEach((name, i) => {
      const c = all.find((x) => x.id === name);
      if (!c)
        throw new HttpError(
          400,
          `hosts.${i}: no host "${name.slice(0, 64)}" (known: ${all
            .map((x) => x.id)
            .slice(0, 20)
            .join(', ')})`,
          { field: `hosts.${i}` },
        );
      if (!out.includes(c)) out.push(c);
    });
    return out;
  }

  /** Starts the same capture on every host in parallel; resolves once at least one has started. */
  private async startFleet(req: CaptureRequest): Promise<HubCapture> {
    const hosts = this.fleetHosts(req);
    const limits = fleetLimits();
    if (hosts.length > limits.maxHosts)
      throw new HttpError(
        400,
        `${req.selector ? 'selector' : 'hosts'}: ${hosts.length} hosts, more than one capture may use (BPFSCOPE_FLEET_MAX_HOSTS=${limits.maxHosts})`,
        {
          field: req.selector ? 'selector' : 'hosts',
        },
      );
    this.prune();
    const cap = new HubCapture(req);
    const fleet = new FleetMerge(
      hosts.map((h) => ({ name: h.id, labels: h.labels as Record<string, string> | undefined })),
      req.durationSec * 1000,
      limits.maxStacks,
    );
    cap.fleet = fleet;
    this.captures.set(cap.id, cap);
    const starts = await Promise.all(
      hosts.map(async (cfg, i) => {
        const h = fleet.hosts.get(cfg.id)!;
        const client = this.client(cfg.id);
        const requestId = `${cap.id}-${i}`;
        try {
          if (!client) throw new Error('not configured');
          return await client.request(
            { type: 'start', requestId, tool: req.tool, durationSec: req.durationSec, options: req.options },
            (m): m is StartedMessage => {
              if (m.type !== 'started' || m.requestId !== requestId) return false;
              h.remoteId = m.captureId;
              h.state = 'running';
              this.byRemote.set(`${cfg.id}\u0000${m.captureId}`, cap);
              return true;
            },
            30000,
          );
        } catch (e) {
          h.state = 'failed';
          h.error = `could not start: ${(e as Error).message}`;
          return null;
        }
      }),
    );
    const first = starts.find((x) => x !== null);
    if (!first) {
      this.captures.delete(cap.id);
      const why = fleet
        .summary()
        .map((h) => `${h.name}: ${h.error}`)
        .join('; ');
      // every host refused the options alike → a bad request; otherwise the hosts are unavailable
      const allBad = hosts.length > 0 && fleet.summary().every((h) => /bad_option|no_such_pid|unknown_tool/.test(h.error ?? ''));
      throw new HttpError(allBad ? 400 : 503, `no host could start the capture: ${why}`.slice(0, 4000));
    }
    cap.started = { ...first, captureId: cap.id, requestId: cap.id, host: `${hosts.length} hosts` };
    cap.broadcast(cap.started);
    for (const h of fleet.summary()) if (h.state === 'failed') this.noteHost(cap, h.name, 'host_failed', `${h.name}: ${h.error}`);
    this.maybeEndFleet(cap);
    return cap;
  }

  private noteHost(cap: HubCapture, host: string, code: string, message: string): void {
    const n: ServerMessage = { type: 'notice', captureId: cap.id, code, message };
    if (cap.notices.length < 1000) cap.notices.push(n);
    cap.broadcast(n);
    void host;
  }

  /** One host of a fleet capture failed or went away: the others go on. */
  private hostFailed(cap: HubCapture, name: string, why: string): void {
    const h = cap.fleet?.hosts.get(name);
    if (!h || h.state === 'done' || h.state === 'failed') return;
    h.state = 'failed';
    h.error = why;
    if (h.remoteId) this.byRemote.delete(`${name}\u0000${h.remoteId}`);
    this.noteHost(cap, name, 'host_failed', `${name}: ${why}`);
    this.maybeEndFleet(cap);
  }

  private readonly fleetEnds = new WeakMap<HubCapture, EndMessage[]>();

  private onFleetMessage(cap: HubCapture, host: string, m: ServerMessage): void {
    const fleet = cap.fleet!;
    const h = fleet.hosts.get(host);
    if (!h) return;
    switch (m.type) {
      case 'delta': {
        const d = fleet.remap(host, m, cap.id);
        cap.apply(d);
        cap.broadcast(d);
        break;
      }
      case 'notice':
        this.noteHost(cap, host, m.code, `${host}: ${m.message}`);
        break;
      case 'error':
        this.hostFailed(cap, host, `${m.code}: ${m.message}`);
        break;
      case 'end': {
        h.samples = m.samples;
        h.events = m.events;
        if (m.loss) h.loss = m.loss;
        if (m.reason === 'completed' || m.reason === 'stopped') {
          h.state = 'done';
          if (h.remoteId) this.byRemote.delete(`${host}\u0000${h.remoteId}`);
          const ends = this.fleetEnds.get(cap) ?? [];
          ends.push(m);
          this.fleetEnds.set(cap, ends);
          this.noteHost(cap, host, 'host_done', `${host}: done (${m.samples} samples)`);
          this.maybeEndFleet(cap);
        } else this.hostFailed(cap, host, m.error ?? `capture ended: ${m.reason}`);
        break;
      }
      default:
        break;
    }
  }

  /** When no host is running any more: the fleet capture ends (saved, partial if a host failed). */
  private maybeEndFleet(cap: HubCapture): void {
    const fleet = cap.fleet!;
    if (cap.finished || !fleet.finished || !cap.started) return;
    const ends = this.fleetEnds.get(cap) ?? [];
    const hosts = fleet.summary();
    if (!ends.length) {
      this.finish(cap, null, `every host failed: ${hosts.map((h) => `${h.name}: ${h.error}`).join('; ')}`.slice(0, 4000));
      return;
    }
    const p = fleet.progress();
    const kernels = [...new Set(ends.map((e) => e.meta.kernel))];
    const end: EndMessage = {
      type: 'end',
      captureId: cap.id,
      reason: cap.stopRequested ? 'stopped' : 'completed',
      unit: ends[0]!.unit,
      total: ends.reduce((a, e) => a + e.total, 0),
      samples: p.samples,
      events: p.events,
      ...(fleet.loss() ? { loss: fleet.loss() } : {}),
      meta: {
        tool: cap.req.tool,
        host: `${hosts.length} hosts`,
        kernel: kernels.length === 1 ? kernels[0]! : `${kernels.length} kernels`,
        options: ends[0]!.meta.options,
        startTime: Math.min(...ends.map((e) => e.meta.startTime)),
        durationMs: Math.max(...ends.map((e) => e.meta.durationMs)),
      },
    };
    cap.end = end;
    cap.data.finish(end);
    void this.complete(cap);
  }

  private onMessage(collectorId: string, m: ServerMessage): void {
    if (!('captureId' in m) || !m.captureId) return;
    const cap = this.byRemote.get(`${collectorId}\u0000${m.captureId}`);
    if (!cap || cap.finished) return;
    if (cap.fleet) return this.onFleetMessage(cap, collectorId, m);
    switch (m.type) {
      case 'delta':
        try {
          cap.apply(m);
        } catch (e) {
          // a delta the protocol does not allow (the accumulator says why): what follows cannot be trusted
          try {
            if (cap.collectorCaptureId) this.client(collectorId)?.send({ type: 'cancel', captureId: cap.collectorCaptureId });
          } catch {
            // the connection is gone: the capture is over anyway
          }
          this.finish(cap, null, `collector ${collectorId} sent an invalid delta: ${(e as Error).message}`);
          break;
        }
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
        else this.finish(cap, m, m.reason === 'cancelled' ? 'cancelled' : (m.error ?? `capture ended: ${m.reason}`));
        break;
      default:
        break;
    }
  }

  private onDisconnect(collectorId: string, why: string): void {
    for (const cap of this.captures.values()) {
      if (cap.fleet) {
        if (!cap.finished) this.hostFailed(cap, collectorId, `lost the connection: ${why}`);
        continue;
      }
      if (cap.req.collector === collectorId && !cap.finished && cap.started) this.finish(cap, null, `lost the connection to collector ${collectorId}: ${why}`);
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
    if (end?.reason !== 'failed')
      cap.broadcast({ type: 'error', captureId: cap.id, code: end?.reason === 'cancelled' ? 'cancelled' : 'capture_failed', message: error });
    else cap.broadcast({ type: 'error', captureId: cap.id, code: 'capture_failed', message: error });
    this.release(cap);
  }

  private release(cap: HubCapture): void {
    for (const h of cap.fleet?.hosts.values() ?? []) if (h.remoteId) this.byRemote.delete(`${h.name}\u0000${h.remoteId}`);
    if (cap.collectorCaptureId) this.byRemote.delete(`${cap.req.collector}\u0000${cap.collectorCaptureId}`);
    // internal marker: SSE streams close on it (it is not forwarded to browsers)
    cap.broadcast({ type: 'notice', captureId: cap.id, code: STREAM_END, message: cap.state });
  }

  /** Ends a running capture early, keeping its data (it is saved like a completed one). */
  stop(cap: HubCapture): void {
    if (cap.finished) throw new HttpError(409, `capture ${cap.id} is already ${cap.state}`);
    if (cap.fleet) {
      cap.stopRequested = true;
      for (const h of cap.fleet.hosts.values()) {
        if (h.state !== 'running' || !h.remoteId) continue;
        try {
          this.client(h.name)?.send({ type: 'stop', captureId: h.remoteId });
        } catch (e) {
          this.hostFailed(cap, h.name, (e as Error).message);
        }
      }
      return;
    }
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
    for (const h of cap.fleet?.hosts.values() ?? []) {
      try {
        if (h.state === 'running' && h.remoteId) this.client(h.name)?.send({ type: 'cancel', captureId: h.remoteId });
      } catch {
        // gone already
      }
    }
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
    for (const c of this.joined.values()) c.close();
    this.joined.clear();
  }
}

const G = globalThis as typeof globalThis & { __bpfscopeHub?: Hub };

/** The process-wide hub (on globalThis: Next may load route modules more than once). */
export function getHub(): Hub {
  if (!G.__bpfscopeHub) G.__bpfscopeHub = new Hub();
  return G.__bpfscopeHub;
}
