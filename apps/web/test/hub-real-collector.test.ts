/**
 * The hub against the real collector (`bpfscope serve`, real BPF): protocol compatibility without
 * a browser. Needs root (the collector loads BPF programs); skips otherwise, saying so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Hub } from '../server/captures';
import { SqliteSnapshotStore } from '../server/snapshots';
import { REPO, tempDir } from './helpers';
import { freePort } from '../../../tests/support/net.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root: the collector loads real BPF programs';

let dir = '';
let collector: ChildProcess | null = null;
let burn: ChildProcess | null = null;
let store: SqliteSnapshotStore;
let hub: Hub;
let url = '';
let token = '';

before(async () => {
  if (!isRoot) return;
  dir = tempDir('bpfscope-hub-real-');
  token = 'hub-real-' + Math.random().toString(36).slice(2) + 'x'.repeat(8);
  fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', path.join(dir, 'burn'), path.join(REPO, 'e2e/fixtures/burn.c')]);
  const port = await freePort();
  url = `ws://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'collector.log'), 'a');
  collector = spawn(
    process.execPath,
    [path.join(REPO, 'apps/collector/bin/bpfscope.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--token-file', path.join(dir, 'token')],
    {
      stdio: ['ignore', log, log],
      env: { ...process.env, BPFSCOPE_LOG_LEVEL: 'warn' },
    },
  );
  const end = Date.now() + 60000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (collector.exitCode !== null || Date.now() > end)
      throw new Error(`the collector did not start: ${fs.readFileSync(path.join(dir, 'collector.log'), 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  store = new SqliteSnapshotStore(path.join(dir, 'bpfscope.db'));
  hub = new Hub({ store: () => store, configs: () => [{ id: 'local', name: 'local', url, token }] });
  burn = spawn(path.join(dir, 'burn'), ['', '30'], { stdio: 'ignore' });
});

after(async () => {
  hub?.close();
  burn?.kill('SIGKILL');
  if (collector && collector.exitCode === null) {
    const exited = new Promise((r) => collector!.once('exit', r));
    collector.kill('SIGTERM');
    const t = setTimeout(() => collector!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('health, processes, and a profile capture relayed and saved from the real collector', { skip }, async () => {
  const client = hub.client('local')!;
  const h = await client.health();
  assert.equal(h.healthy, true, h.error);
  assert.equal(h.health?.status, 'ok');
  const procs = await client.processes();
  assert.ok(
    procs.some((p) => p.pid === burn!.pid && p.comm === 'burn'),
    'the workload is listed',
  );

  const seen: string[] = [];
  const cap = await hub.start({
    tool: 'profile',
    durationSec: 2,
    options: { pid: burn!.pid!, frequency: 199 },
    collector: 'local',
    save: true,
    name: 'hub real',
  });
  cap.subscribe((m) => seen.push(m.type));
  assert.equal(cap.started?.tool, 'profile');
  const t0 = Date.now();
  while (cap.state === 'running' && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(cap.state, 'done', cap.error ?? undefined);
  assert.ok(seen.includes('delta') && seen.includes('end'), `relayed: ${seen.join(',')}`);
  const snap = (await store.get(cap.snapshotId!))!;
  assert.equal(snap.snapshot.name, 'hub real');
  assert.equal(snap.snapshot.tool, 'profile');
  assert.ok(snap.profile.total > 0);
  const names = new Set(snap.profile.frames.map((f) => f.name));
  assert.ok(names.has('bpfscope_e2e_hot_leaf'), 'the workload function is in the saved profile');
  assert.ok(snap.profile.timeline && snap.profile.timeline.count.length > 0, 'profile captures keep their timeline');
});

test('a bad option is refused by the real collector with its field', { skip }, async () => {
  await assert.rejects(
    hub.start({ tool: 'profile', durationSec: 1, options: { pid: 999_999_99 }, collector: 'local', save: false }),
    (e: Error & { status?: number; field?: string }) => {
      assert.equal(e.status, 400, e.message);
      assert.match(e.message, /pid|999999/i);
      return true;
    },
  );
});
