/**
 * Collector configuration: listen address, credential, origin allow-list and limits.
 * Every value comes from a flag, else the environment, else a default; a bad value is an error
 * naming the flag/variable and what it should be.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, isLoopbackHost } from '@bpfscope/viz/config';

export interface ServerLimits {
  /** longest capture, seconds (BPFSCOPE_MAX_DURATION, --max-duration). */
  maxDurationSec: number;
  /** highest profile frequency, Hz (BPFSCOPE_MAX_FREQUENCY, --max-frequency). */
  maxFrequency: number;
  /** captures running at once (BPFSCOPE_MAX_CAPTURES, --max-captures). */
  maxConcurrentCaptures: number;
  /** distinct stacks per capture; past it, weight goes to "[other stacks]" (BPFSCOPE_MAX_STACKS, --max-stacks). */
  maxUniqueStacks: number;
  minIntervalSec: number;
  maxIntervalSec: number;
  /** largest accepted client message, bytes (BPFSCOPE_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** token bucket per client: sustained messages per second and burst (BPFSCOPE_RATE_LIMIT, BPFSCOPE_RATE_BURST). */
  rateLimitPerSec: number;
  rateBurst: number;
  /** a client whose unsent bytes pass this is closed with 4408 (BPFSCOPE_MAX_CLIENT_BUFFER). */
  maxClientBufferBytes: number;
  /** above this many unsent bytes, deltas for a client are coalesced instead of sent (BPFSCOPE_COALESCE_BYTES). */
  coalesceBufferBytes: number;
  /** a client that stays coalescing this long is closed with 4408 (BPFSCOPE_MAX_CLIENT_LAG). */
  maxClientLagSec: number;
  /** connections at once (BPFSCOPE_MAX_CLIENTS). */
  maxClients: number;
  /** timeline entries kept per capture (for late subscribers); past it the timeline is dropped and counted. */
  maxTimelineEntries: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxDurationSec: 600,
  maxFrequency: 1000,
  maxConcurrentCaptures: 4,
  maxUniqueStacks: 100_000,
  minIntervalSec: 0.25,
  maxIntervalSec: 10,
  maxMessageBytes: 1 << 20,
  rateLimitPerSec: 50,
  rateBurst: 100,
  maxClientBufferBytes: 8 << 20,
  coalesceBufferBytes: 1 << 20,
  maxClientLagSec: 30,
  maxClients: 64,
  maxTimelineEntries: 2_000_000,
};

/** `--hub`: the collector dials out to a hub and serves it over that connection (docs/protocol.md, "Joining a hub"). */
export interface JoinConfig {
  /** ws:// or wss:// URL of the hub's join endpoint (BPFSCOPE_HUB_URL, --hub). */
  url: string;
  /** the name this host is listed under (BPFSCOPE_COLLECTOR_NAME, --name; default: the hostname). */
  name: string;
  /** the hub's join token (BPFSCOPE_JOIN_TOKEN, BPFSCOPE_JOIN_TOKEN_FILE, --join-token-file). */
  token: string;
  /** key=value labels (--label, repeatable; BPFSCOPE_COLLECTOR_LABELS="k=v,k2=v2"). */
  labels: Record<string, string>;
}

/** Host names and label keys/values a hub accepts (the hub checks the same). */
export const JOIN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
export const LABEL_VALUE_RE = /^[A-Za-z0-9_.-]{0,63}$/;

export interface ServerConfig {
  /** --simulate N (benchmarks only): N synthetic hosts replaying --simulate-file, joining --hub; no BPF. */
  simulate?: { hosts: number; file: string };
  /** set with --hub / BPFSCOPE_HUB_URL: join that hub (the local listener still serves /healthz). */
  join?: JoinConfig;
  host: string;
  port: number;
  /** the shared secret; undefined = no authentication (allowed on loopback only). */
  token?: string;
  /** Origin values a browser-originated connection may carry; clients sending no Origin are always allowed. */
  allowedOrigins: string[];
  limits: ServerLimits;
  /** default interval when the client gives none, seconds. */
  defaultIntervalSec: number;
  logLevel: string;
}

export { ConfigError };

const LIMIT_SOURCES: Array<[keyof ServerLimits, string, string | undefined, 'int' | 'num']> = [
  ['maxDurationSec', 'BPFSCOPE_MAX_DURATION', '--max-duration', 'num'],
  ['maxFrequency', 'BPFSCOPE_MAX_FREQUENCY', '--max-frequency', 'int'],
  ['maxConcurrentCaptures', 'BPFSCOPE_MAX_CAPTURES', '--max-captures', 'int'],
  ['maxUniqueStacks', 'BPFSCOPE_MAX_STACKS', '--max-stacks', 'int'],
  ['maxMessageBytes', 'BPFSCOPE_MAX_MESSAGE_BYTES', '--max-message-bytes', 'int'],
  ['rateLimitPerSec', 'BPFSCOPE_RATE_LIMIT', '--rate-limit', 'num'],
  ['rateBurst', 'BPFSCOPE_RATE_BURST', '--rate-burst', 'int'],
  ['maxClientBufferBytes', 'BPFSCOPE_MAX_CLIENT_BUFFER', '--max-client-buffer', 'int'],
  ['coalesceBufferBytes', 'BPFSCOPE_COALESCE_BYTES', '--coalesce-bytes', 'int'],
  ['maxClientLagSec', 'BPFSCOPE_MAX_CLIENT_LAG', '--max-client-lag', 'num'],
  ['maxClients', 'BPFSCOPE_MAX_CLIENTS', '--max-clients', 'int'],
  ['maxTimelineEntries', 'BPFSCOPE_MAX_TIMELINE', undefined, 'int'],
];

export const SERVE_USAGE = `usage: bpfscope serve [--host ADDR] [--port N] [--token-file PATH] [--allowed-origins LIST]
                      [--max-duration SEC] [--max-frequency HZ] [--max-captures N] [--max-stacks N]
                      [--max-message-bytes N] [--rate-limit PER_SEC] [--rate-burst N]
                      [--max-client-buffer BYTES] [--coalesce-bytes BYTES] [--max-client-lag SEC]
                      [--max-clients N] [--interval SEC] [--log-level LEVEL]
                      [--hub URL --join-token-file PATH [--name NAME] [--label KEY=VALUE]...]
                      [--simulate N --simulate-file FOLDED]   (benchmarks: N synthetic hosts, no BPF)

Runs the collector: a WebSocket server streaming live BPF captures (protocol: docs/protocol.md).
Environment: BPFSCOPE_COLLECTOR_HOST (127.0.0.1), BPFSCOPE_COLLECTOR_PORT (9700),
BPFSCOPE_TOKEN or BPFSCOPE_TOKEN_FILE (shared secret, required on a non-loopback address),
BPFSCOPE_ALLOWED_ORIGINS (comma list; browsers' Origin must match), BPFSCOPE_LOG_LEVEL,
and BPFSCOPE_MAX_* for each limit flag.
Joining a hub (the collector dials out; no inbound port needed): --hub / BPFSCOPE_HUB_URL
(ws://HUB:9701), --join-token-file / BPFSCOPE_JOIN_TOKEN_FILE or BPFSCOPE_JOIN_TOKEN (the hub's
join.token), --name / BPFSCOPE_COLLECTOR_NAME (default: the hostname), --label KEY=VALUE (repeatable) /
BPFSCOPE_COLLECTOR_LABELS (k=v,k2=v2).`;

function parseNumber(raw: string, what: string, kind: 'int' | 'num', min: number): number {
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v) || (kind === 'int' && !Number.isInteger(v)) || v < min)
    throw new ConfigError(`${what}: expected ${kind === 'int' ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
  return v;
}

/** True for 127.0.0.0/8, ::1, localhost (the only places an unauthenticated collector may listen). */
export const isLoopback = isLoopbackHost;

/** Parse `bpfscope serve` flags + environment into a config (throws ConfigError with a clear message). */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const flags = new Map<string, string>();
  const labelArgs: string[] = [];
  const known = new Set([
    '--host',
    '--port',
    '--token-file',
    '--allowed-origins',
    '--interval',
    '--log-level',
    '--hub',
    '--name',
    '--join-token-file',
    '--label',
    '--simulate',
    '--simulate-file',
    ...(LIMIT_SOURCES.map((l) => l[2]).filter(Boolean) as string[]),
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') throw new ConfigError(SERVE_USAGE);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!known.has(name)) throw new ConfigError(`unknown argument "${a}"\n${SERVE_USAGE}`);
    const value: string | undefined = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    if (name === '--label') labelArgs.push(value);
    else flags.set(name, value);
  }
  const pick = (flag: string | undefined, envName: string): [string, string] | undefined => {
    if (flag && flags.has(flag)) return [flags.get(flag)!, flag];
    const e = env[envName];
    if (e !== undefined && e !== '') return [e, envName];
    return undefined;
  };

  const host = pick('--host', 'BPFSCOPE_COLLECTOR_HOST')?.[0] ?? '127.0.0.1';
  const portSrc = pick('--port', 'BPFSCOPE_COLLECTOR_PORT');
  const port = portSrc ? parseNumber(portSrc[0], portSrc[1], 'int', 0) : 9700;
  if (port > 65535) throw new ConfigError(`${portSrc![1]}: port must be 0-65535, got ${port}`);

  let token: string | undefined;
  const tokenFile = pick('--token-file', 'BPFSCOPE_TOKEN_FILE');
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile[0], 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`${tokenFile[1]}: cannot read token file "${tokenFile[0]}": ${(e as Error).message}`);
    }
    if (!token) throw new ConfigError(`${tokenFile[1]}: token file "${tokenFile[0]}" is empty`);
  } else if (env.BPFSCOPE_TOKEN !== undefined && env.BPFSCOPE_TOKEN !== '') {
    token = env.BPFSCOPE_TOKEN.trim();
  }
  if (token !== undefined && token.length < 8)
    throw new ConfigError('BPFSCOPE_TOKEN: the token is too short (use at least 8 characters, e.g. `openssl rand -hex 32`)');
  if (token === undefined && !isLoopback(host))
    throw new ConfigError(
      `refusing to listen on non-loopback address ${host} without a token: set BPFSCOPE_TOKEN or BPFSCOPE_TOKEN_FILE (or listen on 127.0.0.1)`,
    );

  const origins = pick('--allowed-origins', 'BPFSCOPE_ALLOWED_ORIGINS')?.[0] ?? '';
  const allowedOrigins = origins
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of allowedOrigins) {
    if (o === '*') continue;
    try {
      const u = new URL(o);
      if (u.origin !== o.replace(/\/$/, '')) throw new Error('not an origin');
    } catch {
      throw new ConfigError(`BPFSCOPE_ALLOWED_ORIGINS: "${o}" is not an origin like http://localhost:3000`);
    }
  }

  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  for (const [key, envName, flag, kind] of LIMIT_SOURCES) {
    const src = pick(flag, envName);
    if (src) limits[key] = parseNumber(src[0], src[1], kind, key === 'maxDurationSec' || key === 'maxClientLagSec' || key === 'rateLimitPerSec' ? 0.001 : 1);
  }
  if (limits.maxFrequency > 100000) throw new ConfigError('max frequency: at most 100000 Hz');
  const intervalSrc = pick('--interval', 'BPFSCOPE_INTERVAL');
  const defaultIntervalSec = intervalSrc ? parseNumber(intervalSrc[0], intervalSrc[1], 'num', limits.minIntervalSec) : 1;
  if (defaultIntervalSec > limits.maxIntervalSec) throw new ConfigError(`${intervalSrc![1]}: interval must be <= ${limits.maxIntervalSec} s`);
  const logLevel = pick('--log-level', 'BPFSCOPE_LOG_LEVEL')?.[0] ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new ConfigError(`log level: expected one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  const join = loadJoin(pick, labelArgs, env);
  let simulate: ServerConfig['simulate'];
  const sim = pick('--simulate', 'BPFSCOPE_SIMULATE');
  if (sim) {
    const hosts = parseNumber(sim[0], sim[1], 'int', 1);
    if (hosts > 5000) throw new ConfigError(`${sim[1]}: at most 5000 simulated hosts`);
    if (!join) throw new ConfigError(`${sim[1]}: simulated hosts join a hub: give --hub URL and its join token`);
    const file = pick('--simulate-file', 'BPFSCOPE_SIMULATE_FILE');
    if (!file) throw new ConfigError(`${sim[1]}: give --simulate-file FILE (folded stacks to replay, e.g. a bpfscope profile export)`);
    simulate = { hosts, file: file[0] };
  }
  return { ...(simulate ? { simulate } : {}), ...(join ? { join } : {}), host, port, token, allowedOrigins, limits, defaultIntervalSec, logLevel };
}

function loadJoin(
  pick: (flag: string | undefined, envName: string) => [string, string] | undefined,
  labelArgs: string[],
  env: NodeJS.ProcessEnv,
): JoinConfig | undefined {
  const hub = pick('--hub', 'BPFSCOPE_HUB_URL');
  const nameSrc = pick('--name', 'BPFSCOPE_COLLECTOR_NAME');
  const tokenFile = pick('--join-token-file', 'BPFSCOPE_JOIN_TOKEN_FILE');
  if (!hub) {
    if (tokenFile?.[1] === '--join-token-file' || nameSrc?.[1] === '--name' || labelArgs.length)
      throw new ConfigError('--name, --join-token-file and --label only apply with --hub URL (or BPFSCOPE_HUB_URL): the hub to join');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(hub[0]);
  } catch {
    throw new ConfigError(`${hub[1]}: "${hub[0]}" is not a URL; expected ws://HUB:9701 (the hub's join port)`);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new ConfigError(`${hub[1]}: expected a ws:// or wss:// URL, got "${hub[0]}"`);
  let token: string;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile[0], 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`${tokenFile[1]}: cannot read the join token file "${tokenFile[0]}": ${(e as Error).message}`);
    }
    if (!token) throw new ConfigError(`${tokenFile[1]}: the join token file "${tokenFile[0]}" is empty`);
  } else if (env.BPFSCOPE_JOIN_TOKEN) {
    token = env.BPFSCOPE_JOIN_TOKEN.trim();
  } else {
    throw new ConfigError(
      `${hub[1]}: joining a hub needs its join token: --join-token-file PATH, BPFSCOPE_JOIN_TOKEN_FILE or BPFSCOPE_JOIN_TOKEN (the hub writes it to $BPFSCOPE_DATA_DIR/join.token)`,
    );
  }
  const name = nameSrc?.[0] ?? hostname();
  if (!JOIN_NAME_RE.test(name))
    throw new ConfigError(
      `${nameSrc?.[1] ?? 'the hostname'}: "${name.slice(0, 80)}" is not a valid host name: 1-64 characters of A-Z a-z 0-9 _ . - (pass --name)`,
    );
  const labels: Record<string, string> = {};
  const fromEnv = (env.BPFSCOPE_COLLECTOR_LABELS ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const [src, list] of [
    ['BPFSCOPE_COLLECTOR_LABELS', fromEnv],
    ['--label', labelArgs],
  ] as const) {
    for (const kv of list) {
      const eq = kv.indexOf('=');
      const k = eq > 0 ? kv.slice(0, eq) : '';
      const v = eq > 0 ? kv.slice(eq + 1) : '';
      if (!LABEL_KEY_RE.test(k) || !LABEL_VALUE_RE.test(v))
        throw new ConfigError(`${src}: "${kv.slice(0, 80)}" is not KEY=VALUE (key: 1-63 of A-Z a-z 0-9 _ . / -; value: up to 63 of A-Z a-z 0-9 _ . -)`);
      labels[k] = v;
    }
  }
  if (Object.keys(labels).length > 32) throw new ConfigError('labels: at most 32 per host');
  return { url: url.href, name, token, labels };
}
