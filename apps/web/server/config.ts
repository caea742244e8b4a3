/**
 * Hub configuration from the environment, resolved once per call (cheap) so tests can change
 * process.env between cases. Nothing here is cached: the token file may appear after the web
 * server starts (the start script writes it when the collector first runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, isLoopbackHost } from '@bpfscope/viz/config';

export interface CollectorConfig {
  id: string;
  name: string;
  /** ws:// or wss:// URL of the collector's WebSocket endpoint. */
  url: string;
  /** literal token, or read from tokenFile at connect time. */
  token?: string;
  tokenFile?: string;
  /** a host that joined from its side (`bpfscope serve --hub`), not one the hub dials. */
  joined?: boolean;
  labels?: Readonly<Record<string, string>>;
}

/** The variables the hub reads (process.env, or a plain object in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

export { ConfigError, isLoopbackHost };

/** The data directory: BPFSCOPE_DATA_DIR, else `<repo>/data` (next start runs in apps/web). */
export function dataDir(env: Env = process.env): string {
  const v = env.BPFSCOPE_DATA_DIR;
  if (v?.trim()) return path.resolve(v);
  const cwd = process.cwd();
  // next start / next build run with cwd apps/web; tests and scripts may run at the repo root.
  if (path.basename(cwd) === 'web' || fs.existsSync(path.join(/*turbopackIgnore: true*/ cwd, 'next.config.ts'))) return path.resolve(cwd, '../../data');
  return path.resolve(cwd, 'data');
}

export function maxUploadBytes(env: Env = process.env): number {
  const v = env.BPFSCOPE_MAX_UPLOAD_MB;
  if (v === undefined || v === '') return 200 * 1024 * 1024;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`BPFSCOPE_MAX_UPLOAD_MB must be a positive number of MiB, got ${JSON.stringify(v)}`);
  return Math.floor(n * 1024 * 1024);
}

/**
 * BPFSCOPE_DATABASE_URL (postgres:// or postgresql://): the shared PostgreSQL store; undefined →
 * SQLite under the data directory. BPFSCOPE_DATABASE_URL_FILE names a file holding the URL
 * (a mounted Secret), read at each call.
 */
export function databaseUrl(env: Env = process.env): string | undefined {
  let v = env.BPFSCOPE_DATABASE_URL?.trim();
  if (!v && env.BPFSCOPE_DATABASE_URL_FILE) {
    try {
      v = fs.readFileSync(env.BPFSCOPE_DATABASE_URL_FILE, 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`BPFSCOPE_DATABASE_URL_FILE ${env.BPFSCOPE_DATABASE_URL_FILE} cannot be read: ${(e as Error).message}`);
    }
  }
  if (!v) return undefined;
  if (!/^postgres(ql)?:\/\//.test(v))
    throw new ConfigError(
      'BPFSCOPE_DATABASE_URL must be a postgres:// (or postgresql://) URL such as postgres://user:password@db:5432/bpfscope; unset it to use SQLite',
    );
  return v;
}

/** The address the console listens on (the start script passes it to `next start -H`). */
export function webHost(env: Env = process.env): string {
  return env.BPFSCOPE_WEB_HOST || env.HOSTNAME_BIND || '127.0.0.1';
}

/**
 * Viewer token (BPFSCOPE_VIEW_TOKEN): browsing and exporting on a console that listens beyond
 * loopback need it (or the operator token); on loopback reading is open.
 */
export function viewerTokenPolicy(env: Env = process.env): { required: boolean; token?: string } {
  const token = env.BPFSCOPE_VIEW_TOKEN || undefined;
  return { required: !isLoopbackHost(webHost(env)), token };
}

/** Operator token needed for capture/import/delete when the console is reachable from other hosts. */
export function operatorTokenPolicy(env: Env = process.env): { required: boolean; token?: string } {
  const token = env.BPFSCOPE_WEB_TOKEN || undefined;
  return { required: !isLoopbackHost(webHost(env)), token };
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The join token collectors present (`bpfscope serve --hub`): BPFSCOPE_JOIN_TOKEN, else the file. */
export function joinToken(env: Env = process.env): string | undefined {
  if (env.BPFSCOPE_JOIN_TOKEN?.trim()) return env.BPFSCOPE_JOIN_TOKEN.trim();
  const file = env.BPFSCOPE_JOIN_TOKEN_FILE || path.join(dataDir(env), 'join.token');
  try {
    return fs.readFileSync(/*turbopackIgnore: true*/ file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where the hub's join endpoint listens: BPFSCOPE_JOIN_HOST (else the console's host), BPFSCOPE_JOIN_PORT (9701; 0 = off). */
export function joinListen(env: Env = process.env): { host: string; port: number } {
  const host = env.BPFSCOPE_JOIN_HOST || webHost(env);
  const raw = env.BPFSCOPE_JOIN_PORT;
  const port = raw === undefined || raw === '' ? 9701 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`BPFSCOPE_JOIN_PORT must be a port number 0-65535 (0 turns joining off), got ${JSON.stringify(raw)}`);
  return { host, port };
}

/** The configured collectors: `local` first (BPFSCOPE_COLLECTOR_URL + token; left out when it is `none`), then BPFSCOPE_COLLECTORS. */
export function collectorConfigs(env: Env = process.env): CollectorConfig[] {
  const dir = dataDir(env);
  const local: CollectorConfig = {
    id: 'local',
    name: 'local',
    url: env.BPFSCOPE_COLLECTOR_URL || 'ws://127.0.0.1:9700',
    token: env.BPFSCOPE_TOKEN || undefined,
    tokenFile: env.BPFSCOPE_TOKEN ? undefined : env.BPFSCOPE_TOKEN_FILE || path.join(dir, 'collector.token'),
  };
  // BPFSCOPE_COLLECTOR_URL=none: no local collector (a console alone: `npm run web`, Kubernetes)
  const out = env.BPFSCOPE_COLLECTOR_URL === 'none' ? [] : [local];
  const extra = env.BPFSCOPE_COLLECTORS;
  if (extra?.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(extra);
    } catch (e) {
      throw new ConfigError(`BPFSCOPE_COLLECTORS is not valid JSON (${(e as Error).message}); expected [{"id","name","url","token"|"tokenFile"}]`);
    }
    if (!Array.isArray(parsed)) throw new ConfigError('BPFSCOPE_COLLECTORS must be a JSON array of {"id","name","url","token"|"tokenFile"}');
    parsed.forEach((c: unknown, i) => {
      const o = c as Record<string, unknown>;
      if (!o || typeof o !== 'object') throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}] must be an object`);
      if (typeof o.id !== 'string' || !ID_RE.test(o.id)) throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}].id must be 1-64 characters of [A-Za-z0-9_-]`);
      if (out.some((x) => x.id === o.id)) throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}].id "${o.id}" is used twice`);
      if (typeof o.url !== 'string' || !/^wss?:\/\//.test(o.url)) throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}].url must be a ws:// or wss:// URL`);
      if (o.token !== undefined && typeof o.token !== 'string') throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}].token must be a string`);
      if (o.tokenFile !== undefined && typeof o.tokenFile !== 'string') throw new ConfigError(`BPFSCOPE_COLLECTORS[${i}].tokenFile must be a path string`);
      out.push({
        id: o.id,
        name: typeof o.name === 'string' && o.name ? o.name : o.id,
        url: o.url,
        token: o.token as string | undefined,
        tokenFile: o.tokenFile ? path.resolve(dir, o.tokenFile as string) : undefined,
      });
    });
  }
  return out;
}

/** Reads the collector token (literal or file). Returns undefined when none is available. */
export function readCollectorToken(c: CollectorConfig): string | undefined {
  if (c.token) return c.token;
  if (!c.tokenFile) return undefined;
  try {
    const t = fs.readFileSync(c.tokenFile, 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

/** Fleet capture limits: hosts per capture (BPFSCOPE_FLEET_MAX_HOSTS, 500) and distinct stacks over all hosts (BPFSCOPE_FLEET_MAX_STACKS, 1 000 000). */
export function fleetLimits(env: Env = process.env): { maxHosts: number; maxStacks: number } {
  const num = (name: string, def: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  return { maxHosts: num('BPFSCOPE_FLEET_MAX_HOSTS', 500), maxStacks: num('BPFSCOPE_FLEET_MAX_STACKS', 1_000_000) };
}
