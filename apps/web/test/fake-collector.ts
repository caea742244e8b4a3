/**
 * A small stand-in collector speaking protocol v1 over a real WebSocket, for testing the hub's
 * relay without BPF: it checks the Bearer token, answers hello/start/stop/cancel/processes and
 * streams scripted deltas. The real collector is exercised by the e2e suite.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { DeltaMessage, ServerMessage } from '@bpfscope/viz/wire';

export interface FakeCollector {
  url: string;
  token: string;
  received: Record<string, unknown>[];
  /** drop every connection (simulates a crash). */
  dropAll(): void;
  close(): Promise<void>;
}

export type Script = (
  captureId: string,
  tool: string,
) => {
  deltas: Omit<DeltaMessage, 'captureId' | 'type' | 'seq'>[];
  intervalMs: number;
  hold?: boolean /** send the first delta in the same tick as `started` */;
  firstWithStarted?: boolean;
  /** the seq of the first delta: 1 as the protocol says, unless a test plays a broken collector */
  firstSeq?: number;
};

export async function startFakeCollector(script: Script, token = 'test-token-123456'): Promise<FakeCollector> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', hostname: 'fakehost', kernel: '6.18.0-fake', tools: ['profile', 'biolatency'] }));
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ noServer: true });
  const received: Record<string, unknown>[] = [];
  server.on('upgrade', (req, socket, head) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  let n = 0;
  wss.on('connection', (ws: WebSocket) => {
    const send = (m: ServerMessage) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
    const timers = new Set<NodeJS.Timeout>();
    ws.on('close', () => timers.forEach(clearTimeout));
    const running = new Map<string, { tool: string; startTime: number; samples: number; finish: (reason: 'completed' | 'stopped' | 'cancelled') => void }>();
    ws.on('message', (buf) => {
      const m = JSON.parse(buf.toString());
      received.push(m);
      if (m.type === 'hello')
        send({
          type: 'welcome',
          version: 1,
          collectorVersion: '0.0.0-fake',
          host: 'fakehost',
          kernel: '6.18.0-fake',
          btf: true,
          privileged: true,
          tools: ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency'],
          cpus: 2,
          limits: {
            maxDurationSec: 600,
            maxFrequency: 10000,
            maxConcurrentCaptures: 4,
            maxUniqueStacks: 100000,
            minIntervalSec: 0.25,
            maxIntervalSec: 10,
            maxMessageBytes: 1 << 24,
          },
        });
      else if (m.type === 'processes') send({ type: 'processes', requestId: m.requestId, processes: [{ pid: 1, comm: 'init', cmdline: '/sbin/init' }] });
      else if (m.type === 'probes')
        send(
          String(m.query).includes('/nope')
            ? { type: 'probes', requestId: m.requestId, matches: [], total: 0, error: 'binary or library "/nope" does not exist' }
            : {
                type: 'probes',
                requestId: m.requestId,
                scope: 'kernel',
                matches: ['vfs_read', 'vfs_readv'].filter((n) => n.startsWith(String(m.query))),
                total: 2,
              },
        );
      else if (m.type === 'start') {
        if (m.options?.pid === 999999) {
          send({ type: 'error', requestId: m.requestId, code: 'no_such_pid', field: 'options.pid', message: 'options.pid: no process 999999' });
          return;
        }
        const captureId = `cap${++n}`;
        const startTime = Date.now();
        send({
          type: 'started',
          requestId: m.requestId,
          captureId,
          tool: m.tool,
          options: m.options ?? {},
          durationSec: m.durationSec,
          intervalMs: 50,
          startTime,
          host: 'fakehost',
          kernel: '6.18.0-fake',
        });
        const plan = script(captureId, m.tool);
        let seq = plan.firstSeq ?? 1;
        let samples = 0;
        const finish = (reason: 'completed' | 'stopped' | 'cancelled') => {
          if (!running.delete(captureId)) return;
          timers.forEach(clearTimeout);
          if (reason === 'cancelled') {
            send({
              type: 'end',
              captureId,
              reason,
              unit: 'samples',
              total: 0,
              samples: 0,
              events: 0,
              meta: { tool: m.tool, host: 'fakehost', kernel: '6.18.0-fake', options: m.options ?? {}, startTime, durationMs: Date.now() - startTime },
            });
            return;
          }
          send({
            type: 'end',
            captureId,
            reason,
            unit: m.tool === 'biolatency' ? 'count' : 'samples',
            total: samples,
            samples,
            events: samples,
            loss: { userStackMissing: 1 },
            meta: { tool: m.tool, host: 'fakehost', kernel: '6.18.0-fake', options: m.options ?? {}, startTime, durationMs: Date.now() - startTime },
          });
        };
        running.set(captureId, { tool: m.tool, startTime, samples: 0, finish });
        plan.deltas.forEach((d, i) => {
          const emit = () => {
            for (const [, w] of d.counts ?? []) samples += w;
            send({ type: 'delta', captureId, ...d, seq: seq++ });
            if (i === plan.deltas.length - 1 && !plan.hold) finish('completed');
          };
          if (i === 0 && plan.firstWithStarted) emit();
          else timers.add(setTimeout(emit, plan.intervalMs * (i + 1)));
        });
      } else if (m.type === 'stop') running.get(m.captureId)?.finish('stopped');
      else if (m.type === 'cancel') running.get(m.captureId)?.finish('cancelled');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    token,
    received,
    dropAll() {
      for (const c of wss.clients) c.terminate();
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
