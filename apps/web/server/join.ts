/**
 * The hub's join endpoint: collectors started with `bpfscope serve --hub ws://HUB:9701` dial in
 * here (hosts behind NAT or a firewall need no open port). It is a small `ws` server on its own
 * port in the hub process, started from instrumentation.ts: Next's app router cannot upgrade a
 * route handler's request to a WebSocket, and a custom server would replace `next start` for
 * every deployment to serve one socket. See docs/protocol.md, "Joining a hub".
 *
 * The upgrade carries `Authorization: Bearer <join token>` (compared in constant time),
 * `X-Bpfscope-Name` and `X-Bpfscope-Labels` (a JSON object of strings). Refusals are HTTP answers
 * with a JSON `{"error"}` the collector logs: 401 wrong token, 400 bad name or labels, 409 name in
 * use. Once open, the hub speaks first with `hello`, as on a connection it dials itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { joinListen, joinToken, type Env } from './config';
import type { Hub } from './captures';
import { HttpError } from './http';

export const JOIN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const LABEL_VALUE_RE = /^[A-Za-z0-9_.-]{0,63}$/;

/** Constant-time comparison of a presented token with the expected one (hashes: equal lengths). */
export function joinTokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** Parses the X-Bpfscope-Labels header; throws HttpError(400) naming what is wrong. */
export function parseLabels(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'X-Bpfscope-Labels: not JSON; expected {"key":"value",…}');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'X-Bpfscope-Labels: expected a JSON object {"key":"value",…}');
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 32) throw new HttpError(400, 'labels: at most 32 per host');
  for (const [k, val] of entries) {
    if (!LABEL_KEY_RE.test(k)) throw new HttpError(400, `label key "${k.slice(0, 70)}": 1-63 characters of A-Z a-z 0-9 _ . / -`);
    if (typeof val !== 'string' || !LABEL_VALUE_RE.test(val))
      throw new HttpError(400, `label ${k}: the value must be up to 63 characters of A-Z a-z 0-9 _ . -`);
    out[k] = val;
  }
  return out;
}

export interface JoinServer {
  readonly port: number;
  close(): Promise<void>;
}

function refuse(socket: Duplex, status: number, message: string): void {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 409: 'Conflict', 503: 'Service Unavailable' }[status] ?? 'Error';
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 500).unref();
}

/**
 * Starts the join endpoint for `hub`. `token()` is read on every join (the file may be rotated).
 * `log` gets one line per join and refusal (never the token).
 */
export async function startJoinServer(opts: {
  hub: Hub;
  host: string;
  port: number;
  token: () => string | undefined;
  log?: (msg: string) => void;
}): Promise<JoinServer> {
  const log = opts.log ?? (() => {});
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
  const http: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'this is the bpfscope hub join endpoint: connect with `bpfscope serve --hub ws://HOST:PORT`' }));
  });
  http.on('clientError', (_e, socket) => socket.destroy());
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const expected = opts.token();
    if (!expected) return refuse(socket, 503, 'this hub has no join token configured (BPFSCOPE_JOIN_TOKEN / $BPFSCOPE_DATA_DIR/join.token)');
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (!joinTokenMatches(presented, expected)) {
      log(`join refused from ${remote}: wrong or missing join token`);
      return refuse(
        socket,
        401,
        presented ? "wrong join token: use the hub's join.token (BPFSCOPE_JOIN_TOKEN_FILE)" : 'no join token: send Authorization: Bearer <join token>',
      );
    }
    const name = String(req.headers['x-bpfscope-name'] ?? '');
    if (!JOIN_NAME_RE.test(name))
      return refuse(socket, 400, `X-Bpfscope-Name: "${name.slice(0, 70)}" is not a host name of 1-64 characters of A-Z a-z 0-9 _ . -`);
    let labels: Record<string, string>;
    try {
      labels = parseLabels(req.headers['x-bpfscope-labels'] as string | undefined);
    } catch (e) {
      return refuse(socket, e instanceof HttpError ? e.status : 400, (e as Error).message);
    }
    // refuse a clash before the upgrade, so the collector reads the reason as an HTTP answer
    const clash = opts.hub.joinClash(name);
    if (clash) {
      log(`join refused from ${remote}: ${clash.message}`);
      return refuse(socket, clash.status, clash.message);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      opts.hub.registerJoined(name, labels, ws, remote).then(
        (c) => log(`host ${name} joined from ${remote} (${c.welcome?.kernel ?? '?'}, ${c.welcome?.cpus ?? '?'} CPUs)`),
        (e: Error) => {
          log(`host ${name} from ${remote} could not join: ${e.message}`);
          ws.close(e instanceof HttpError ? 4409 : 1011, e.message.slice(0, 120));
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return {
    get port() {
      const a = http.address();
      return a && typeof a === 'object' ? a.port : opts.port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        http.close(() => resolve());
      }),
  };
}

const G = globalThis as typeof globalThis & { __bpfscopeJoin?: Promise<JoinServer | null> };

/** Starts the join endpoint once per process from the environment (instrumentation.ts calls it). */
export function startJoinFromEnv(hub: Hub, env: Env = process.env): Promise<JoinServer | null> {
  if (!G.__bpfscopeJoin) {
    G.__bpfscopeJoin = (async () => {
      const { host, port } = joinListen(env);
      if (port === 0 && env.BPFSCOPE_JOIN_PORT === '0') return null;
      if (!joinToken(env)) {
        console.log('bpfscope hub: no join token (BPFSCOPE_JOIN_TOKEN, BPFSCOPE_JOIN_TOKEN_FILE or $BPFSCOPE_DATA_DIR/join.token): collectors cannot join');
        return null;
      }
      try {
        const s = await startJoinServer({ hub, host, port, token: () => joinToken(env), log: (m) => console.log(`bpfscope hub: ${m}`) });
        console.log(`bpfscope hub: collectors join at ws://${host.includes(':') ? `[${host}]` : host}:${s.port}`);
        return s;
      } catch (e) {
        console.error(`bpfscope hub: cannot listen for joining collectors on ${host}:${port}: ${(e as Error).message} (set BPFSCOPE_JOIN_PORT)`);
        return null;
      }
    })();
  }
  return G.__bpfscopeJoin;
}
