/**
 * The hub's connection to one collector: a `ws` client that authenticates with the collector's
 * token on the upgrade (the browser never sees it), says hello, validates every message with the
 * wire schemas and hands them to listeners. Connections are made on demand and re-made after a
 * failure (not more often than once a second), so a collector that comes back is picked up.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { BrandedError } from '@bpfscope/viz/errors';
import { PROTOCOL_VERSION, serverMessageSchema } from '@bpfscope/viz/wire';
import type { ClientMessage, ServerMessage, WelcomeMessage } from '@bpfscope/viz/wire';
import { readCollectorToken, type CollectorConfig } from './config';

/** The collector cannot be reached (or the connection went) before it answered. */
export class CollectorUnavailableError extends BrandedError {
  static override readonly brand = 'CollectorUnavailableError';
}

/** An `error` message from the collector in reply to a request. */
export class CollectorRequestError extends BrandedError {
  static override readonly brand = 'CollectorRequestError';
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface CollectorHealth {
  healthy: boolean;
  health: Record<string, unknown> | null;
  error?: string;
}

const CONNECT_TIMEOUT_MS = 4000;
const RETRY_MIN_MS = 1000;
const PING_MS = 10_000;

function describeCloseCode(code: number, reason: string): string {
  const r = reason ? `: ${reason}` : '';
  switch (code) {
    case 4401:
      return `the collector refused the token (close 4401${r}); check BPFSCOPE_TOKEN / BPFSCOPE_TOKEN_FILE`;
    case 4403:
      return `the collector refused this origin (close 4403${r})`;
    case 4400:
      return `the collector does not speak protocol v${PROTOCOL_VERSION}, which this console needs (the unwind option came with v2, source lines with v3): upgrade the collector (close 4400${r})`;
    case 4408:
      return `the collector dropped the hub for reading too slowly (close 4408${r})`;
    case 4429:
      return `the collector rate-limited the hub (close 4429${r})`;
    case 1001:
      return `the collector shut down${r}`;
    case 1006:
      return 'the connection dropped (1006)';
    default:
      return `connection closed (code ${code}${r})`;
  }
}

export class CollectorClient extends EventEmitter {
  readonly cfg: CollectorConfig;
  private ws: WebSocket | null = null;
  private opening: Promise<WelcomeMessage> | null = null;
  private lastAttempt = 0;
  welcome: WelcomeMessage | null = null;
  lastError: string | null = null;
  /** epoch ms of the last message or pong from the collector (0: never). */
  lastSeen = 0;
  /** true while a joined host's hello/welcome is under way. */
  attaching = false;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private reqSeq = 0;

  constructor(cfg: CollectorConfig) {
    super();
    this.cfg = cfg;
    this.setMaxListeners(0);
  }

  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.welcome !== null;
  }

  /** Connects (or reuses the connection) and resolves with the collector's welcome. */
  connect(): Promise<WelcomeMessage> {
    if (this.connected) return Promise.resolve(this.welcome!);
    if (this.opening) return this.opening;
    const since = Date.now() - this.lastAttempt;
    if (since < RETRY_MIN_MS && this.lastError)
      return Promise.reject(new CollectorUnavailableError(`collector ${this.cfg.id} (${this.cfg.url}) is unavailable: ${this.lastError}`));
    this.lastAttempt = Date.now();
    this.opening = this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private open(): Promise<WelcomeMessage> {
    if (this.cfg.joined) {
      const why = this.lastError ?? 'it has not joined since the hub started';
      return Promise.reject(new CollectorUnavailableError(`host ${this.cfg.id} is not connected to the hub: ${why}`));
    }
    const token = readCollectorToken(this.cfg);
    if (!token) {
      this.lastError = `no token: set BPFSCOPE_TOKEN or create ${this.cfg.tokenFile ?? 'the token file'} (the collector writes it on first start)`;
      return Promise.reject(new CollectorUnavailableError(`collector ${this.cfg.id}: ${this.lastError}`));
    }
    const ws = new WebSocket(this.cfg.url, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      maxPayload: 256 * 1024 * 1024,
      perMessageDeflate: false,
    });
    return this.bind(ws);
  }

  /**
   * A collector that dialled the hub (`bpfscope serve --hub`): the connection is already open; the
   * hub speaks first (hello) exactly as on a connection it made itself.
   */
  attach(ws: WebSocket): Promise<WelcomeMessage> {
    this.lastAttempt = Date.now();
    this.opening = this.bind(ws).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** Wires a (connecting or open) socket: hello on open, welcome resolves, later messages are emitted. */
  private bind(ws: WebSocket): Promise<WelcomeMessage> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const where = this.cfg.joined ? 'host' : 'collector';
      const fail = (msg: string) => {
        this.lastError = msg;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new CollectorUnavailableError(`${where} ${this.cfg.id} (${this.cfg.url}) is unavailable: ${msg}`));
        }
      };
      const timer = setTimeout(() => {
        fail(`no welcome within ${CONNECT_TIMEOUT_MS} ms`);
        ws.terminate();
      }, CONNECT_TIMEOUT_MS + 500);
      ws.on('unexpected-response', (_req, res) => {
        fail(
          res.statusCode === 401
            ? 'the collector refused the token (HTTP 401); check BPFSCOPE_TOKEN / BPFSCOPE_TOKEN_FILE'
            : `the collector answered the upgrade with HTTP ${res.statusCode}`,
        );
        ws.terminate();
      });
      ws.on('error', (err: NodeJS.ErrnoException) => {
        fail(err.code === 'ECONNREFUSED' ? `nothing listens at ${this.cfg.url} (ECONNREFUSED); is the collector running?` : err.message);
      });
      const hello = () => ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, client: 'bpfscope-web' } satisfies ClientMessage));
      if (ws.readyState === WebSocket.OPEN) hello();
      else ws.on('open', hello);
      ws.on('pong', () => {
        this.lastSeen = Date.now();
      });
      ws.on('message', (data, isBinary) => {
        this.lastSeen = Date.now();
        if (isBinary) return;
        let msg: ServerMessage;
        try {
          const parsed = serverMessageSchema.safeParse(JSON.parse(data.toString()));
          if (!parsed.success) {
            this.emit('invalid', parsed.error.message);
            return;
          }
          msg = parsed.data;
        } catch {
          this.emit('invalid', 'not JSON');
          return;
        }
        if (msg.type === 'welcome' && !settled) {
          settled = true;
          clearTimeout(timer);
          this.welcome = msg;
          this.lastError = null;
          resolve(msg);
          return;
        }
        if (msg.type === 'error' && !settled && !msg.requestId && !msg.captureId) {
          fail(`${msg.code}: ${msg.message}`);
          ws.close();
          return;
        }
        this.emit('message', msg);
      });
      ws.on('close', (code, reasonBuf) => {
        clearInterval(this.pinger);
        const why = describeCloseCode(code, reasonBuf.toString());
        fail(why);
        if (this.ws === ws) {
          this.ws = null;
          this.welcome = null;
          this.lastError = why;
          this.emit('disconnect', why);
        }
      });
      if (this.cfg.joined) {
        // joined hosts are kept alive (and their last-seen time fresh) by pings; the collector drops a silent hub after 35 s
        clearInterval(this.pinger);
        this.pinger = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) ws.ping();
        }, PING_MS);
        this.pinger.unref?.();
      }
      this.ws = ws;
    });
  }

  send(msg: ClientMessage): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new CollectorUnavailableError(`collector ${this.cfg.id} is not connected`);
    this.ws.send(JSON.stringify(msg));
  }

  nextRequestId(prefix = 'r'): string {
    return `${prefix}${++this.reqSeq}-${Date.now().toString(36)}`;
  }

  /**
   * Sends a request and resolves with the first message `match` accepts; an `error` with the same
   * requestId rejects with CollectorRequestError.
   */
  async request<T extends ServerMessage>(msg: ClientMessage & { requestId: string }, match: (m: ServerMessage) => m is T, timeoutMs = 10000): Promise<T> {
    await this.connect();
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('message', onMsg);
        this.off('disconnect', onDisc);
      };
      const onMsg = (m: ServerMessage) => {
        if (m.type === 'error' && m.requestId === msg.requestId) {
          cleanup();
          reject(new CollectorRequestError(m.code, m.message, m.field));
        } else if (match(m)) {
          cleanup();
          resolve(m);
        }
      };
      const onDisc = (why: string) => {
        cleanup();
        reject(new CollectorUnavailableError(`lost the connection to collector ${this.cfg.id}: ${why}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new CollectorUnavailableError(`collector ${this.cfg.id} did not answer ${msg.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('message', onMsg);
      this.on('disconnect', onDisc);
      try {
        this.send(msg);
      } catch (e) {
        cleanup();
        reject(e);
      }
    });
  }

  async processes(): Promise<{ pid: number; comm: string; cmdline: string }[]> {
    const requestId = this.nextRequestId('p');
    const m = await this.request(
      { type: 'processes', requestId },
      (x): x is Extract<ServerMessage, { type: 'processes' }> => x.type === 'processes' && x.requestId === requestId,
    );
    return m.processes;
  }

  async probes(query: string, pid?: number): Promise<{ matches: string[]; total: number; scope?: string; error?: string }> {
    const requestId = this.nextRequestId('q');
    const m = await this.request(
      { type: 'probes', requestId, query, ...(pid ? { pid } : {}), limit: 50 },
      (x): x is Extract<ServerMessage, { type: 'probes' }> => x.type === 'probes' && x.requestId === requestId,
    );
    return { matches: m.matches, total: m.total, scope: m.scope, error: m.error };
  }

  /** GET <collector>/healthz (http URL derived from the ws URL), with a short timeout. */
  async health(timeoutMs = 1500): Promise<CollectorHealth> {
    if (this.cfg.joined) {
      // a joined host has no reachable /healthz: its health is its connection and what it said on hello
      const w = this.welcome;
      if (!this.connected) return { healthy: false, health: null, error: `not connected: ${this.lastError ?? 'never joined'}` };
      return { healthy: true, health: w ? { status: 'ok', hostname: w.host, kernel: w.kernel, privileged: w.privileged, tools: w.tools, cpus: w.cpus } : null };
    }
    const u = new URL(this.cfg.url);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/healthz';
    u.search = '';
    const token = readCollectorToken(this.cfg);
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), headers: token ? { Authorization: `Bearer ${token}` } : {} });
      const text = await res.text();
      let body: Record<string, unknown> | null = null;
      try {
        const v = JSON.parse(text);
        body = v && typeof v === 'object' ? v : null;
      } catch {
        body = null;
      }
      if (!res.ok) return { healthy: false, health: body, error: `${u.href} answered HTTP ${res.status}` };
      const flag = typeof body?.status === 'string' ? body.status === 'ok' : typeof body?.ok === 'boolean' ? body.ok : true;
      if (!flag)
        return {
          healthy: false,
          health: body,
          error: typeof body?.message === 'string' ? body.message : `the collector reports status ${JSON.stringify(body?.status)}`,
        };
      if (body && typeof body.privilegeProblem === 'string') return { healthy: true, health: body, error: body.privilegeProblem };
      return { healthy: true, health: body };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why =
        err.name === 'TimeoutError'
          ? `no answer from ${u.href} within ${timeoutMs} ms`
          : err.cause?.code === 'ECONNREFUSED'
            ? `nothing listens at ${u.host} (ECONNREFUSED); is the collector running?`
            : `${u.href}: ${err.cause?.code ?? err.cause?.message ?? err.message}`;
      return { healthy: false, health: null, error: why };
    }
  }

  /** Closes the connection with a code (a joined host removed by the operator: 4410). */
  closeWith(code: number, reason: string): void {
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    this.welcome = null;
    this.lastError = reason;
    ws?.close(code, reason);
  }

  close(): void {
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    this.welcome = null;
    ws?.close(1000);
  }
}
