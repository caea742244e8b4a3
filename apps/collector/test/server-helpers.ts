/**
 * Test helpers for the collector server tests: a WebSocket client that queues messages, a fake
 * engine (TEST ONLY: drives the protocol/limit logic without BPF; `bpfscope serve` always uses the
 * real engine), and helpers to start the real service as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import WebSocket from 'ws';
import type { HistogramDelta, LossStats, StackDelta, StackRecord, ToolName } from '@bpfscope/bpf';
import { PROTOCOL_VERSION, serverMessageSchema, type ServerMessage } from '@bpfscope/viz/wire';
import type { CaptureEngine, CaptureSource, SystemInfo } from '../src/engine.js';
import { createCollectorServer, type CollectorServer } from '../src/server/server.js';
import { emptyLoss } from '../src/cli/aggregate.js';
import { DEFAULT_LIMITS, type ServerConfig, type ServerLimits } from '../src/server/config.js';
import { listeningPort } from '../../../tests/support/net.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const TOKEN = 'test-token-0123456789abcdef';

export class TestClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  /** schema failures of server messages (must stay empty). */
  readonly invalid: unknown[] = [];

  /** frames received without parsing (raw clients). */
  rawCount = 0;

  /** raw: do not parse messages (a cheap reader for tests that only care about the close). */
  constructor(url: string, opts: { token?: string; origin?: string; headers?: Record<string, string>; raw?: boolean; validate?: boolean } = {}) {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    this.ws = new WebSocket(url, { headers, origin: opts.origin, perMessageDeflate: false });
    this.ws.on('message', (d) => {
      if (opts.raw) {
        this.rawCount++;
        return;
      }
      const obj = JSON.parse(d.toString());
      if (opts.validate !== false) {
        const r = serverMessageSchema.safeParse(obj);
        if (!r.success) this.invalid.push({ obj, err: r.error.issues[0] });
      }
      this.messages.push(obj);
      this.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve();
      });
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(obj: unknown): void {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Wait for (and remove) the first message matching `pred`. */
  async next<T extends ServerMessage['type']>(
    type: T,
    pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.type === type && pred(m as Extract<ServerMessage, { type: T }>));
      if (i >= 0) return this.messages.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined)
        throw new Error(
          `no ${type} message within ${timeoutMs} ms (close ${this.closeCode ?? '-'}); got: ${JSON.stringify(this.messages.map((m) => (m.type === 'error' ? m : m.type))).slice(0, 800)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async hello(version = PROTOCOL_VERSION): Promise<Extract<ServerMessage, { type: 'welcome' }>> {
    this.send({ type: 'hello', version, client: 'test' });
    return this.next('welcome');
  }

  close(): void {
    this.ws.close();
  }
}

export async function connect(
  url: string,
  opts: { token?: string; origin?: string; raw?: boolean; validate?: boolean } = { token: TOKEN },
): Promise<TestClient> {
  const c = new TestClient(url, opts);
  await c.opened;
  return c;
}

export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// ---------------- fake engine (tests only) ----------------

export interface FakeSource extends CaptureSource {
  closed: boolean;
  drains: number;
  options: unknown;
}

export interface FakeEngineOptions {
  /** records to return from each drain (default: two stacks). */
  records?: (drain: number) => StackRecord[];
  privileged?: boolean;
  failOpen?: string;
  /** loss counters each drain reports (default: one missing kernel stack) */
  loss?: Partial<LossStats>;
}

const fr = (name: string, kind: 'user' | 'kernel' = 'user') => ({ name, kind });

export function defaultRecords(): StackRecord[] {
  return [
    { pid: 10, tid: 10, comm: 'busy', user: [fr('main'), fr('spin_hot')], kernel: [], value: 3 },
    { pid: 10, tid: 10, comm: 'busy', user: [fr('main'), fr('spin_cold')], kernel: [fr('asm_sysvec_apic_timer_interrupt', 'kernel')], value: 1 },
  ];
}

export class FakeEngine implements CaptureEngine {
  readonly sources: FakeSource[] = [];
  constructor(private readonly o: FakeEngineOptions = {}) {}

  system(): SystemInfo {
    return {
      host: 'testhost',
      kernel: '6.18.0-test',
      btf: true,
      privileged: this.o.privileged ?? true,
      tools: ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency'],
      cpus: 2,
    };
  }

  open(tool: ToolName, options: unknown): CaptureSource {
    if (this.o.failOpen) throw new Error(this.o.failOpen);
    const recs = this.o.records ?? (() => defaultRecords());
    const extraLoss = this.o.loss;
    const startTime = Date.now();
    const src: FakeSource = {
      tool,
      startTime,
      closed: false,
      drains: 0,
      options,
      drain(): StackDelta | HistogramDelta {
        if (src.closed) throw new Error('drain after close');
        src.drains++;
        const loss: LossStats = { ...emptyLoss(), kernelStackMissing: 1, ...extraLoss };
        if (tool === 'biolatency') {
          return { kind: 'histogram', unit: 'usecs', keyKind: 'none', histograms: [{ key: '', slots: [0, 0, 1, 4, 2] }], loss, events: 7 };
        }
        const records = recs(src.drains);
        const off = Date.now() - startTime;
        return {
          kind: 'stacks',
          unit: tool === 'profile' ? 'samples' : 'microseconds',
          records,
          timeline:
            tool === 'profile'
              ? { resolutionMs: 10, entries: records.map((r, i) => ({ offsetMs: Math.floor(off / 10) * 10, record: i, count: r.value })) }
              : undefined,
          loss,
          events: records.reduce((a, r) => a + r.value, 0),
        };
      },
      close() {
        src.closed = true;
      },
    };
    this.sources.push(src);
    return src;
  }
}

export function testConfig(limits: Partial<ServerLimits> = {}, extra: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    allowedOrigins: ['http://localhost:3000'],
    limits: { ...DEFAULT_LIMITS, ...limits },
    defaultIntervalSec: 0.25,
    logLevel: 'silent',
    ...extra,
  };
}

export async function startFakeServer(limits: Partial<ServerLimits> = {}, engineOpts: FakeEngineOptions = {}, extra: Partial<ServerConfig> = {}) {
  const engine = new FakeEngine(engineOpts);
  const config = testConfig(limits, extra);
  const server: CollectorServer = await createCollectorServer({ config, engine, log: pino({ level: process.env.BPFSCOPE_TEST_LOG ?? 'silent' }) });
  return { engine, server, url: `ws://127.0.0.1:${server.port}/`, http: `http://127.0.0.1:${server.port}` };
}

// ---------------- the real service as a child process ----------------

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Start `bpfscope serve` (through the CLI when present, else the server entry) and read the bound port from stdout. */
export async function startService(args: string[] = [], env: Record<string, string> = {}): Promise<ServiceProcess> {
  const cli = `${REPO}apps/collector/src/cli/main.ts`;
  const entry = existsSync(cli) ? [cli, 'serve'] : [`${REPO}apps/collector/src/server/main.ts`];
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ...entry, '--port', '0', ...args], {
    cwd: REPO,
    env: { ...process.env, BPFSCOPE_TOKEN: TOKEN, BPFSCOPE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const port = await listeningPort(child, { what: 'service', timeoutMs: 30000, stderr: () => err });
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/`,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(t);
      return code;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
