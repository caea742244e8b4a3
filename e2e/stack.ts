/**
 * Starts and stops the real stack for the e2e suite: the collector (`bpfscope serve`, root, real
 * BPF) and the web console (`next start`), on their own ports and a temp data dir, plus the gcc-built
 * workload. Used by global-setup.ts; the state is handed to the specs through process.env.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '..');
export const WEB_PORT = Number(process.env.E2E_WEB_PORT ?? 33000);
export const COLLECTOR_PORT = Number(process.env.E2E_COLLECTOR_PORT ?? 39700);
export const BASE_URL = `http://127.0.0.1:${WEB_PORT}`;
/** the hub's join endpoint (collectors started with `--hub` dial it); its token is `<data dir>/join.token`. */
export const JOIN_PORT = Number(process.env.E2E_JOIN_PORT ?? 39701);
/** the web's upload cap in this suite (small, so the 413 spec stays quick). */
export const E2E_MAX_UPLOAD_MB = 48;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function waitHttp(url: string, what: string, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before answering ${url}; its log (${log}):\n${readTail(log)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (r.status < 500) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${what} did not answer ${url} within ${timeoutMs / 1000} s; its log (${log}):\n${readTail(log)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface Stack {
  dir: string;
  burn: string;
  stop(): Promise<void>;
}

function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

export async function startStack(): Promise<Stack> {
  if (process.getuid?.() !== 0) throw new Error('the e2e suite needs root: the collector loads real BPF programs');
  const webBuilt = path.join(REPO, 'apps/web/.next/BUILD_ID');
  if (!fs.existsSync(webBuilt)) {
    if (process.env.E2E_NO_BUILD)
      throw new Error(`the web app is not built (${webBuilt} is missing): run npx tsc -b packages/viz && (cd apps/web && npx next build)`);
    console.log('[e2e] building viz and the web app (apps/web/.next is missing)…');
    execFileSync('npx', ['tsc', '-b', 'packages/viz'], { cwd: REPO, stdio: 'inherit' });
    execFileSync('npx', ['next', 'build'], { cwd: path.join(REPO, 'apps/web'), stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  }
  for (const [port, name, env] of [
    [WEB_PORT, 'web', 'E2E_WEB_PORT'],
    [COLLECTOR_PORT, 'collector', 'E2E_COLLECTOR_PORT'],
    [JOIN_PORT, 'join endpoint', 'E2E_JOIN_PORT'],
  ] as const)
    if (!(await portFree(port))) throw new Error(`port ${port} for the e2e ${name} is taken; free it or set ${env}`);

  const dir = fs.mkdtempSync('/tmp/bpfscope-e2e-');
  const tokenFile = path.join(dir, 'collector.token');
  fs.writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const joinTokenFile = path.join(dir, 'join.token');
  fs.writeFileSync(joinTokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });

  const burn = path.join(dir, 'burn');
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', burn, path.join(import.meta.dirname, 'fixtures/burn.c')], { stdio: 'inherit' });

  const children: ChildProcess[] = [];
  // if the runner dies or times out before teardown, still take the stack down with it
  process.once('exit', () => {
    for (const c of children) {
      if (c.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
  const stop = async () => {
    await Promise.all(children.map(killGroup));
    if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const clog = path.join(dir, 'collector.log');
    const collector = spawn(
      process.execPath,
      [path.join(REPO, 'apps/collector/bin/bpfscope.js'), 'serve', '--host', '127.0.0.1', '--port', String(COLLECTOR_PORT), '--token-file', tokenFile],
      {
        cwd: REPO,
        detached: true,
        stdio: ['ignore', fs.openSync(clog, 'a'), fs.openSync(clog, 'a')],
        env: { ...process.env, BPFSCOPE_DATA_DIR: dir, BPFSCOPE_LOG_LEVEL: 'warn' },
      },
    );
    children.push(collector);
    const wlog = path.join(dir, 'web.log');
    const nextBin = path.join(path.dirname(fs.realpathSync(path.join(REPO, 'node_modules/next/package.json'))), 'dist/bin/next');
    const web = spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(WEB_PORT)], {
      cwd: path.join(REPO, 'apps/web'),
      detached: true,
      stdio: ['ignore', fs.openSync(wlog, 'a'), fs.openSync(wlog, 'a')],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NEXT_TELEMETRY_DISABLED: '1',
        BPFSCOPE_DATA_DIR: dir,
        BPFSCOPE_COLLECTOR_URL: `ws://127.0.0.1:${COLLECTOR_PORT}`,
        BPFSCOPE_TOKEN_FILE: tokenFile,
        BPFSCOPE_TOKEN: '',
        BPFSCOPE_COLLECTORS: '',
        BPFSCOPE_WEB_HOST: '127.0.0.1',
        BPFSCOPE_WEB_PORT: String(WEB_PORT),
        BPFSCOPE_WEB_TOKEN: '',
        BPFSCOPE_MAX_UPLOAD_MB: String(E2E_MAX_UPLOAD_MB),
        BPFSCOPE_JOIN_PORT: String(JOIN_PORT),
        BPFSCOPE_JOIN_HOST: '127.0.0.1',
        BPFSCOPE_JOIN_TOKEN: '',
        BPFSCOPE_JOIN_TOKEN_FILE: joinTokenFile,
      },
    });
    children.push(web);
    await Promise.all([
      waitHttp(`http://127.0.0.1:${COLLECTOR_PORT}/healthz`, 'the collector', collector, clog, 90000),
      waitHttp(`${BASE_URL}/api/snapshots`, 'the web console', web, wlog, 90000),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, burn, stop };
}
