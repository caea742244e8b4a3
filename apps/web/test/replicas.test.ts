/**
 * Two console replicas (`npm run web`, i.e. scripts/web.sh → next start, no local collector) on one
 * PostgreSQL database: what one imports, shares or deletes, the other sees at once; one replica
 * dying leaves the other serving every snapshot. A real PostgreSQL server (throwaway cluster, see
 * postgres.ts) and two real hub processes; the web app must be built (built here if it is not).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, tempDir } from './helpers';
import { postgresUnavailable, startPostgres, type TestPostgres } from './postgres';
import { startFakeCollector, type FakeCollector } from './fake-collector';
import { freePort } from '../../../tests/support/net.js';

const skip = postgresUnavailable() ?? false;
if (skip) console.log(`# replica tests skipped: ${skip}`);

interface Replica {
  url: string;
  proc: ChildProcess;
  log: string;
}

let server: TestPostgres | undefined;
let fake: FakeCollector | undefined;
let dbUrl = '';
const dirs: string[] = [];
const replicas: Replica[] = [];

function killGroup(p: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p.pid || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    process.kill(-p.pid, sig);
  } catch {
    return Promise.resolve();
  }
  return exited;
}

async function startReplica(name: string): Promise<Replica> {
  const dir = tempDir(`bpfscope-replica-${name}-`);
  dirs.push(dir);
  const [port, joinPort] = [await freePort(), await freePort()];
  const log = path.join(dir, 'web.log');
  const fd = fs.openSync(log, 'a');
  const proc = spawn('bash', [path.join(REPO, 'scripts/web.sh')], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      BPFSCOPE_DATA_DIR: dir,
      BPFSCOPE_DATABASE_URL: dbUrl,
      BPFSCOPE_WEB_HOST: '127.0.0.1',
      BPFSCOPE_WEB_PORT: String(port),
      BPFSCOPE_JOIN_PORT: String(joinPort),
      BPFSCOPE_WEB_TOKEN: '',
      BPFSCOPE_VIEW_TOKEN: '',
      // a protocol stand-in collector both replicas know (captures without BPF)
      BPFSCOPE_COLLECTORS: JSON.stringify([{ id: 'fake', name: 'fake', url: fake!.url, token: fake!.token }]),
      BPFSCOPE_COLLECTOR_URL: '',
      BPFSCOPE_TOKEN: '',
    },
  });
  process.once('exit', () => {
    if (proc.pid && proc.exitCode === null) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`replica ${name} exited (${proc.exitCode}): ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/api/snapshots`);
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`replica ${name} did not answer within 120 s: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, proc, log };
}

before(async () => {
  if (skip) return;
  if (!fs.existsSync(path.join(REPO, 'apps/web/.next/BUILD_ID'))) {
    execFileSync('npx', ['tsc', '-b', 'packages/viz'], { cwd: REPO, stdio: 'inherit' });
    execFileSync('npx', ['next', 'build'], { cwd: path.join(REPO, 'apps/web'), stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  }
  // a capture of 8 intervals of 250 ms: still running when a replica is killed below
  fake = await startFakeCollector(() => ({
    intervalMs: 250,
    deltas: Array.from({ length: 8 }, (_, i) => ({
      ...(i === 0
        ? {
            frames: [
              [0, 'app', 'comm'],
              [1, 'main', 'user'],
            ],
            stacks: [[1, [0, 1]]],
          }
        : {}),
      counts: [[1, 1]],
      progress: { elapsedMs: 250 * (i + 1), durationMs: 2000, samples: i + 1, events: i + 1 },
    })) as never,
  }));
  server = await startPostgres();
  dbUrl = await server.createDatabase();
  // the two start together: the schema migration runs once under its advisory lock
  replicas.push(...(await Promise.all([startReplica('a'), startReplica('b')])));
});

after(async () => {
  await Promise.all(replicas.map((r) => killGroup(r.proc)));
  server?.stop();
  await fake?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const folded = 'shop;main;checkout;pay 7\nshop;main;checkout;<b>tax</b> 3\n';

async function importOn(r: Replica, name: string): Promise<string> {
  const res = await fetch(`${r.url}/api/snapshots?name=${encodeURIComponent(name)}&format=folded`, { method: 'POST', body: folded });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function listOn(r: Replica): Promise<string[]> {
  const res = await fetch(`${r.url}/api/snapshots`);
  assert.equal(res.status, 200);
  return (await res.json()).snapshots.map((s: { id: string }) => s.id);
}

test('npm run web starts the console alone: no local collector', { skip }, async () => {
  for (const r of replicas) {
    const j = await (await fetch(`${r.url}/api/collectors`)).json();
    assert.equal(
      j.collectors.some((c: { id: string }) => c.id === 'local'),
      false,
    );
  }
  for (const r of replicas) {
    const log = fs.readFileSync(r.log, 'utf8');
    assert.match(log, /snapshots in PostgreSQL/);
    // the store is opened (and migrated) by the start hook, password-free in the log
    assert.match(log, /\[bpfscope\] snapshot store: postgres at postgres:\/\/postgres@127\.0\.0\.1:\d+\//);
  }
});

test('a snapshot imported on one replica is listed and served by the other, page included', { skip }, async () => {
  const [a, b] = replicas as [Replica, Replica];
  const id = await importOn(a, 'checkout <slow> path');
  assert.ok((await listOn(b)).includes(id));
  const res = await fetch(`${b.url}/api/snapshots/${id}?format=folded`);
  assert.equal(res.status, 200);
  assert.deepEqual((await res.text()).trim().split('\n').sort(), folded.trim().split('\n').sort());
  const page = await fetch(`${b.url}/s/${id}`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes('checkout &lt;slow&gt; path'), 'the name is on the page, escaped');
  assert.ok(!html.includes('checkout <slow> path'));
});

test('a delete on one replica is seen by the other', { skip }, async () => {
  const [a, b] = replicas as [Replica, Replica];
  const id = await importOn(a, 'to delete');
  assert.ok((await listOn(b)).includes(id));
  const del = await fetch(`${b.url}/api/snapshots/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.ok(!(await listOn(a)).includes(id));
  assert.equal((await fetch(`${a.url}/api/snapshots/${id}`)).status, 404);
});

test('a public link made on one replica opens on the other', { skip }, async () => {
  const [a, b] = replicas as [Replica, Replica];
  const id = await importOn(a, 'shared');
  const pub = await (await fetch(`${a.url}/api/snapshots/${id}/public`, { method: 'POST' })).json();
  assert.match(pub.url, /^\/p\/[0-9A-Za-z]{22}$/);
  const res = await fetch(`${b.url}/api/public/${pub.token}?format=json`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).snapshot.id, id);
  assert.equal((await fetch(`${b.url}${pub.url}`)).status, 200);
  await fetch(`${b.url}/api/snapshots/${id}/public`, { method: 'DELETE' });
  assert.equal((await fetch(`${a.url}/api/public/${pub.token}`)).status, 404);
});

test('one replica killed (SIGKILL): the other keeps serving every snapshot, accepts new ones, and its live capture finishes', { skip }, async () => {
  const [a, b] = replicas as [Replica, Replica];
  const id = await importOn(a, 'before the crash');
  const started = await fetch(`${b.url}/api/captures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tool: 'profile', durationSec: 2, collector: 'fake', name: 'captured on b' }),
  });
  assert.equal(started.status, 202, await started.clone().text());
  const cap = (await started.json()).id;
  assert.equal((await (await fetch(`${b.url}/api/captures/${cap}`)).json()).state, 'running');
  await killGroup(a.proc, 'SIGKILL');
  // the capture lives on b only: a's death does not touch it
  let state: { state: string; snapshotId?: string; error?: string } | undefined;
  for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    state = await (await fetch(`${b.url}/api/captures/${cap}`)).json();
    if (state!.state !== 'running' && (state!.snapshotId || state!.state === 'failed')) break;
  }
  assert.equal(state?.state, 'done', JSON.stringify(state));
  assert.ok(state?.snapshotId && (await listOn(b)).includes(state.snapshotId), 'saved in the shared store');
  assert.ok((await listOn(b)).includes(id));
  assert.equal((await fetch(`${b.url}/api/snapshots/${id}?format=json`)).status, 200);
  const id2 = await importOn(b, 'after the crash');
  assert.ok((await listOn(b)).includes(id2));
});
