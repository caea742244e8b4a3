/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` package (scripts/setup.sh --test
 * installs it), a fresh cluster made with initdb in a new temp dir owned by the `postgres` user
 * (the checkout may sit in a 0700 directory postgres cannot enter), listening on 127.0.0.1 on a
 * free port with trust auth, and stopped + removed at exit even when tests fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../../tests/support/net.js';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>;
  /** kill -9 the server and all its processes (no clean shutdown). */
  crash(): void;
  /** pg_ctl start again (after crash(): crash recovery replays the WAL). */
  start(): void;
  stop(): void;
}

function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return null;
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0]!, 'bin') : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (!pgBinDir())
    return "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/pg_ctl missing): run 'bash scripts/setup.sh --test' (installs Debian's postgresql)";
  if (process.getuid?.() !== 0) return 'the PostgreSQL test server is started as the postgres user, which needs root (run the tests as root, as CI does)';
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return "there is no 'postgres' user (Debian's postgresql package creates it: bash scripts/setup.sh --test)";
  }
  return null;
}

function asPostgres(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a fresh cluster. Call `stop()` in `after`; an exit hook stops it too. */
export async function startPostgres(): Promise<TestPostgres> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  const bin = pgBinDir()!;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-pg-'));
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  execFileSync('chown', ['-R', 'postgres:postgres', root]);
  fs.chmodSync(root, 0o700);
  const port = await freePort();
  let stopped = false;
  const pgctl = (...a: string[]) => asPostgres([path.join(bin, 'pg_ctl'), '-D', dataDir, ...a]);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    asPostgres([path.join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'], { allowFail: true });
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    asPostgres([path.join(bin, 'initdb'), '-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
    fs.appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${root}'\nfsync = on\nsynchronous_commit = on\nmax_connections = 60\nshared_buffers = 16MB\n`,
    );
    pgctl('-l', path.join(root, 'log'), '-w', '-t', '60', 'start');
  } catch (e) {
    const log = fs.existsSync(path.join(root, 'log')) ? fs.readFileSync(path.join(root, 'log'), 'utf8').slice(-2000) : '';
    stop();
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    adminUrl,
    port,
    dataDir,
    async createDatabase() {
      const name = `t${process.pid}_${++n}`;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    crash() {
      const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const kids = childrenOf(pid);
      process.kill(pid, 'SIGKILL');
      for (const k of kids) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const until = Date.now() + 10_000;
      while ([pid, ...kids].some(alive) && Date.now() < until) spawnSync('sleep', ['0.05']);
    },
    start() {
      pgctl('-l', path.join(root, 'log'), '-w', '-t', '60', 'start');
    },
    stop,
  };
}
