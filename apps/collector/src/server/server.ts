/**
 * The collector's WebSocket server: auth + origin on upgrade, protocol v1 message handling,
 * capture registry with limits, /healthz. Each connection (rate limiting, slow-client coalescing) is a ClientConn (client.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  CLIENT_MESSAGE_TYPES,
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  TOOL_NAMES,
  clientMessageSchema,
  describeZodError,
  type ClientMessage,
  type WelcomeMessage,
} from '@bpfscope/viz/wire';
import { checkUpgrade } from './auth.js';
import { Capture } from './capture.js';
import { ClientConn } from './client.js';
import type { ServerConfig } from './config.js';
import { listProcesses, pidExists } from './processes.js';
import { inapplicableOptions } from '@bpfscope/viz/tools';
import { OptionError, type CaptureEngine } from '../engine.js';

export const COLLECTOR_VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
})();

export interface CollectorServer {
  readonly port: number;
  readonly host: string;
  /** Running captures (for tests and /healthz). */
  readonly captures: ReadonlyMap<string, Capture>;
  /** With --hub: whether the hub connection is up, and the last reason it was not. */
  joinStatus(): { hub: string; name: string; connected: boolean; lastError?: string } | null;
  /** Per-connection send state (for /healthz-style diagnostics and tests). */
  clientStats(): Array<{ id: string; bufferedAmount: number; coalescing: number; captures: number }>;
  /** End every capture with reason `shutdown`, tell clients, close sockets and the listener. */
  shutdown(): Promise<void>;
}

export interface CollectorServerDeps {
  config: ServerConfig;
  engine: CaptureEngine;
  log: Logger;
}

class CollectorImpl implements CollectorServer {
  readonly captures = new Map<string, Capture>();
  readonly clients = new Set<ClientConn>();
  readonly config: ServerConfig;
  readonly engine: CaptureEngine;
  readonly log: Logger;
  readonly http: Server;
  readonly wss: WebSocketServer;
  private nextClient = 1;
  private shuttingDown = false;
  private joinWs: WebSocket | null = null;
  private joinTimer: NodeJS.Timeout | null = null;
  private joinAttempt = 0;
  private joinConnected = false;
  private joinError: string | undefined;

  constructor(deps: CollectorServerDeps) {
    this.config = deps.config;
    this.engine = deps.engine;
    this.log = deps.log;
    this.http = createServer((req, res) => this.onHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.config.limits.maxMessageBytes, perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => socket.destroy());
  }

  get host(): string {
    return this.config.host;
  }

  get port(): number {
    const a = this.http.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
  }

  private health() {
    const s = this.engine.system();
    return {
      status: 'ok',
      version: COLLECTOR_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      hostname: s.host,
      kernel: s.kernel,
      btf: s.btf,
      privileged: s.privileged,
      ...(s.privilegeProblem ? { privilegeProblem: s.privilegeProblem } : {}),
      tools: s.tools,
      cpus: s.cpus,
      activeCaptures: this.captures.size,
      clients: this.clients.size,
      authRequired: this.config.token !== undefined,
      ...(this.config.join ? { hub: this.joinStatus() } : {}),
    };
  }

  joinStatus() {
    const j = this.config.join;
    if (!j) return null;
    return { hub: j.url, name: j.name, connected: this.joinConnected, ...(this.joinError ? { lastError: this.joinError } : {}) };
  }

  /**
   * --hub: dial out to the hub and serve it over that connection exactly like an inbound client
   * (it says hello, starts captures…). Reconnects with exponential backoff (250 ms doubling to
   * 5 s, times a random 0.5-1 jitter) until shutdown or until the hub removes this host (4410).
   */
  startJoin(): void {
    const j = this.config.join;
    if (!j || this.shuttingDown) return;
    this.joinTimer = null;
    const ws = new WebSocket(j.url, {
      headers: { authorization: `Bearer ${j.token}`, 'x-bpfscope-name': j.name, 'x-bpfscope-labels': JSON.stringify(j.labels) },
      handshakeTimeout: 5000,
      maxPayload: this.config.limits.maxMessageBytes,
      perMessageDeflate: false,
    });
    this.joinWs = ws;
    let again = true;
    let refused = false;
    let idle: NodeJS.Timeout | undefined;
    // the hub pings every 10 s; a hub silent for 35 s is gone (a half-open TCP connection)
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.terminate(), 35_000);
      idle.unref();
    };
    ws.on('unexpected-response', (_req, res) => {
      refused = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 2000) body += c;
      });
      res.on('end', () => {
        let why = `HTTP ${res.statusCode}`;
        try {
          const e = JSON.parse(body).error;
          if (typeof e === 'string') why += `: ${e}`;
        } catch {
          // not JSON: the status says enough
        }
        this.joinError = `the hub refused to let "${j.name}" join (${why})`;
        this.log.error({ hub: j.url, status: res.statusCode }, this.joinError);
        ws.terminate();
      });
    });
    ws.on('error', (e) => {
      if (refused) return; // terminate() after a refusal: the refusal is the reason
      this.joinError = `cannot reach the hub at ${j.url}: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
      this.log.warn({ hub: j.url, err: e.message }, 'hub connection error');
    });
    ws.on('open', () => {
      this.joinAttempt = 0;
      this.joinConnected = true;
      this.joinError = undefined;
      this.log.info({ hub: j.url, name: j.name, labels: j.labels }, 'joined the hub');
      alive();
      ws.on('ping', alive);
      ws.on('message', alive);
      this.onConnection(ws, `hub ${j.url}`);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(idle);
      const wasUp = this.joinConnected;
      this.joinConnected = false;
      if (this.joinWs === ws) this.joinWs = null;
      if (wasUp) {
        this.joinError = `the hub closed the connection (${code}${reason.length ? `: ${reason.toString()}` : ''})`;
        this.log.warn({ hub: j.url, code, reason: reason.toString() }, 'lost the hub');
      }
      if (code === CLOSE_CODES.removed) {
        again = false;
        this.log.error({ hub: j.url, name: j.name }, 'the hub operator removed this host: not rejoining (restart the collector to join again)');
      }
      if (again && !this.shuttingDown) {
        const delay = Math.min(5000, 250 * 2 ** this.joinAttempt++) * (0.5 + Math.random() / 2);
        this.joinTimer = setTimeout(() => this.startJoin(), delay);
        this.joinTimer.unref();
      }
    });
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      try {
        json(200, this.health());
      } catch (e) {
        json(500, { status: 'error', message: (e as Error).message });
      }
      return;
    }
    if (path === '/healthz') return json(405, { error: 'use GET /healthz' });
    json(404, { error: `no such endpoint ${JSON.stringify(path.slice(0, 100))}: use GET /healthz or a WebSocket upgrade on /` });
  }

  private refuse(socket: Duplex, status: number, text: string, reason: string): void {
    const body = JSON.stringify({ error: reason });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    setTimeout(() => socket.destroy(), 500).unref();
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (this.shuttingDown) return this.refuse(socket, 503, 'Service Unavailable', 'collector shutting down');
    const auth = checkUpgrade(req, this.config.token, this.config.allowedOrigins);
    if (!auth.ok) {
      this.log.warn({ remote, status: auth.status, reason: auth.reason, origin: req.headers.origin }, 'connection refused');
      return this.refuse(socket, auth.status, auth.status === 401 ? 'Unauthorized' : 'Forbidden', auth.reason);
    }
    if (this.clients.size >= this.config.limits.maxClients)
      return this.refuse(socket, 503, 'Service Unavailable', `too many connections (limit ${this.config.limits.maxClients})`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, remote));
  }

  private onConnection(ws: WebSocket, remote: string): void {
    const id = this.nextClient++;
    const client = new ClientConn(ws, id, this, this.log.child({ client: `k${id}` }));
    this.clients.add(client);
    client.log.info({ remote }, 'client connected');
    ws.on('message', (data, isBinary) => {
      try {
        this.onMessage(client, data, isBinary);
      } catch (e) {
        client.log.error({ err: (e as Error).stack }, 'internal error handling a message');
        client.error({ code: 'internal', message: `internal error: ${(e as Error).message}` });
      }
    });
    ws.on('error', (e) => client.log.warn({ err: e.message }, 'socket error'));
    ws.on('close', (code) => {
      client.log.info({ code }, 'client disconnected');
      client.release();
    });
  }

  private onMessage(c: ClientConn, data: RawData, isBinary: boolean): void {
    if (c.closed || !c.admit()) return;
    if (isBinary) return c.error({ code: 'bad_message', message: 'binary frames are not accepted: send one JSON object per text frame' });
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return c.error({ code: 'bad_json', message: `malformed JSON: ${(e as Error).message}` });
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      return c.error({ code: 'bad_message', message: 'a message must be a JSON object with a "type" field' });
    const obj = raw as Record<string, unknown>;
    const requestId = typeof obj.requestId === 'string' && obj.requestId.length <= 100 ? obj.requestId : undefined;
    if (typeof obj.type !== 'string') return c.error({ code: 'bad_message', field: 'type', requestId, message: 'type: missing or not a string' });
    if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(obj.type))
      return c.error({
        code: 'unknown_type',
        field: 'type',
        requestId,
        message: `type: unknown message type ${JSON.stringify(obj.type.slice(0, 40))}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}`,
      });
    if (!c.helloDone && obj.type !== 'hello')
      return c.error({ code: 'no_hello', field: 'type', requestId, message: `send {"type":"hello","version":${PROTOCOL_VERSION}} before "${obj.type}"` });
    const parsed = clientMessageSchema.safeParse(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const d = describeZodError(parsed.error);
      const top = issue?.path[0];
      const code = top === 'tool' ? 'unknown_tool' : top === 'options' ? 'bad_option' : 'bad_message';
      let message = d.message;
      if (top === 'tool' && typeof obj.tool === 'string')
        message = `tool: unknown tool ${JSON.stringify(obj.tool.slice(0, 40))}; expected one of ${TOOL_NAMES.join(', ')}`;
      return c.error({ code, field: d.field, requestId, message });
    }
    this.handle(c, parsed.data);
  }

  private handle(c: ClientConn, m: ClientMessage): void {
    switch (m.type) {
      case 'hello': {
        if (!SUPPORTED_PROTOCOL_VERSIONS.includes(m.version)) {
          c.error({
            code: 'bad_version',
            field: 'version',
            message: `version: this collector speaks protocol ${SUPPORTED_PROTOCOL_VERSIONS.slice(0, -1).join(', ')} or ${SUPPORTED_PROTOCOL_VERSIONS.at(-1)}, not ${m.version}`,
          });
          c.drop(CLOSE_CODES.badVersion, `protocol version ${m.version} not supported`);
          return;
        }
        c.helloDone = true;
        c.version = m.version;
        const s = this.engine.system();
        const l = this.config.limits;
        const w: WelcomeMessage = {
          type: 'welcome',
          version: m.version,
          collectorVersion: COLLECTOR_VERSION,
          host: s.host,
          kernel: s.kernel,
          btf: s.btf,
          privileged: s.privileged,
          tools: s.tools,
          cpus: s.cpus,
          limits: {
            maxDurationSec: l.maxDurationSec,
            maxFrequency: l.maxFrequency,
            maxConcurrentCaptures: l.maxConcurrentCaptures,
            maxUniqueStacks: l.maxUniqueStacks,
            minIntervalSec: l.minIntervalSec,
            maxIntervalSec: l.maxIntervalSec,
            maxMessageBytes: l.maxMessageBytes,
          },
        };
        c.log.info({ clientName: m.client?.slice(0, 60) }, 'hello');
        return c.send(w);
      }
      case 'ping':
        return c.send(m.id !== undefined ? { type: 'pong', id: m.id } : { type: 'pong' });
      case 'processes':
        return c.send({ type: 'processes', requestId: m.requestId, processes: listProcesses() });
      case 'probes': {
        if (!this.engine.searchProbes)
          return c.send({ type: 'probes', requestId: m.requestId, matches: [], total: 0, error: 'this collector cannot search probes' });
        try {
          const r = this.engine.searchProbes(m.query, { pid: m.pid, limit: m.limit });
          return c.send({ type: 'probes', requestId: m.requestId, scope: r.scope, matches: r.matches, total: r.total });
        } catch (e) {
          return c.send({ type: 'probes', requestId: m.requestId, matches: [], total: 0, error: (e as Error).message });
        }
      }
      case 'captures':
        return c.send({ type: 'captures', requestId: m.requestId, captures: [...this.captures.values()].map((x) => x.info()) });
      case 'start':
        return this.start(c, m);
      case 'stop':
      case 'cancel':
      case 'subscribe':
      case 'unsubscribe': {
        const cap = this.captures.get(m.captureId);
        if (!cap)
          return c.error({
            code: 'no_such_capture',
            field: 'captureId',
            captureId: m.captureId,
            message: `captureId: no running capture ${JSON.stringify(m.captureId)}`,
          });
        if (m.type === 'stop') return void cap.finish('stopped');
        if (m.type === 'cancel') return void cap.finish('cancelled');
        if (m.type === 'subscribe') {
          if (cap.subscribers.has(c)) return;
          c.captures.add(cap);
          cap.subscribe(c, true);
          c.log.info({ captureId: cap.id }, 'subscribed');
          return;
        }
        if (!cap.subscribers.has(c))
          return c.error({ code: 'not_subscribed', field: 'captureId', captureId: cap.id, message: 'captureId: not subscribed to this capture' });
        c.captures.delete(cap);
        if (cap.unsubscribe(c)) void cap.finish('cancelled');
        return;
      }
    }
  }

  private start(c: ClientConn, m: Extract<ClientMessage, { type: 'start' }>): void {
    const rid = m.requestId;
    const err = (code: string, field: string | undefined, message: string) => c.error({ code, field, requestId: rid, message });
    const l = this.config.limits;
    const o = m.options;
    const sys = this.engine.system();
    const bad = inapplicableOptions(m.tool, o);
    if (bad.length) return err('bad_option', `options.${bad[0]}`, `options.${bad[0]}: does not apply to ${m.tool}`);
    if (m.durationSec > l.maxDurationSec)
      return err('limit', 'durationSec', `durationSec: ${m.durationSec} s is longer than this collector allows (${l.maxDurationSec} s)`);
    if (o.frequency !== undefined && o.frequency > l.maxFrequency)
      return err('limit', 'options.frequency', `options.frequency: ${o.frequency} Hz is above this collector's limit (${l.maxFrequency} Hz)`);
    const intervalSec = o.intervalSec ?? this.config.defaultIntervalSec;
    if (intervalSec < l.minIntervalSec || intervalSec > l.maxIntervalSec)
      return err('limit', 'options.intervalSec', `options.intervalSec: must be between ${l.minIntervalSec} and ${l.maxIntervalSec} s`);
    for (const key of ['pid', 'tid'] as const) {
      const v = o[key];
      const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
      for (let i = 0; i < list.length; i++) {
        if (!pidExists(list[i]!))
          return err('no_such_pid', Array.isArray(v) ? `options.${key}.${i}` : `options.${key}`, `options.${key}: no process ${list[i]} (not in /proc)`);
      }
    }
    if (!sys.privileged)
      return err('privileges', undefined, `the collector cannot load BPF programs: ${sys.privilegeProblem ?? 'needs root or CAP_BPF+CAP_PERFMON'}`);
    if (!sys.tools.includes(m.tool)) return err('unavailable', 'tool', `tool: ${m.tool} is not available on this host`);
    if (this.shuttingDown) return err('shutdown', undefined, 'the collector is shutting down');
    if (this.captures.size >= l.maxConcurrentCaptures)
      return err('limit', undefined, `too many captures: ${this.captures.size} running, limit ${l.maxConcurrentCaptures}; stop one or wait`);
    const id = 'c_' + randomBytes(6).toString('hex');
    let source;
    try {
      source = this.engine.open(m.tool, o);
    } catch (e) {
      this.log.error({ captureId: id, tool: m.tool, err: (e as Error).message }, 'cannot start capture');
      // an option the engine rejected (a probe pattern that matches nothing, a missing binary): name it
      if (e instanceof OptionError) return err('bad_option', e.field, e.message);
      return err('bpf', undefined, `cannot start ${m.tool}: ${(e as Error).message}`);
    }
    const cap = new Capture({
      id,
      tool: m.tool,
      options: o,
      durationSec: m.durationSec,
      intervalMs: Math.round(intervalSec * 1000),
      source,
      host: sys.host,
      kernel: sys.kernel,
      maxUniqueStacks: l.maxUniqueStacks,
      maxTimelineEntries: l.maxTimelineEntries,
      log: this.log,
      onEnded: (x) => this.captures.delete(x.id),
    });
    this.captures.set(id, cap);
    c.captures.add(cap);
    cap.subscribe(c, false);
    this.log.info({ captureId: id, tool: m.tool, options: o, durationSec: m.durationSec, client: c.id }, 'capture started');
    c.send(cap.started(rid));
    cap.run();
  }

  clientStats() {
    return [...this.clients].map((c) => ({ id: c.id, bufferedAmount: c.ws.bufferedAmount, coalescing: c.coalescing, captures: c.captures.size }));
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    if (this.joinWs && this.joinWs.readyState === WebSocket.CONNECTING) this.joinWs.terminate();
    this.log.info({ captures: this.captures.size, clients: this.clients.size }, 'shutting down');
    // each waits for its drain in flight and drains once more: the end messages go out before the sockets close
    await Promise.all([...this.captures.values()].map((cap) => cap.finish('shutdown')));
    const closes = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(CLOSE_CODES.shutdown, 'collector shutting down');
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closes);
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/** Create and start listening. Resolves once bound (port 0 → an ephemeral port, see `.port`). */
export async function createCollectorServer(deps: CollectorServerDeps): Promise<CollectorServer> {
  const s = new CollectorImpl(deps);
  await s.listen();
  s.startJoin();
  return s;
}
