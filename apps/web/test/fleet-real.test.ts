/**
 * Fleet against real collectors (`bpfscope serve`, real BPF): one static collector the hub dials and
 * one that joins from its side (`--hub`), a fleet capture through the REST API, label selection,
 * a name clash, a bad join token, a hub restart (the joined collector is back within 10 s) and an
 * operator removing a host mid-capture (the capture ends partial with the other host's data).
 * Needs root (the collectors load BPF programs); skips otherwise, saying so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Hub } from '../server/captures';
import { startJoinServer, type JoinServer } from '../server/join';
import { SqliteSnapshotStore } from '../server/snapshots';
import { createCapture, getCapture, listCollectors, removeCollector } from '../server/api';
import { REPO, tempDir } from './helpers';
import { joinFlags } from '../../../tests/support/collector.js';
import { freePort } from '../../../tests/support/net.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root: the collectors load real BPF programs';

let dir = '';
const procs: ChildProcess[] = [];
let burn: ChildProcess | null = null;
let store: SqliteSnapshotStore;
let hub: Hub;
let join: JoinServer;
let joinPort = 0;
let staticUrl = '';
let joinedHealth = '';
const token = 'fleet-static-' + Math.random().toString(36).slice(2);
const joinToken = 'fleet-join-' + Math.random().toString(36).slice(2);
const env = { BPFSCOPE_WEB_HOST: '127.0.0.1' };

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await ok()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `bpfscope serve ARGS`; resolves with its /healthz URL once it answers. */
async function serve(name: string, args: string[]): Promise<string> {
  const port = await freePort();
  const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
  const p = spawn(process.execPath, [path.join(REPO, 'apps/collector/bin/bpfscope.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    stdio: ['ignore', log, log],
    env: { ...process.env, BPFSCOPE_LOG_LEVEL: 'info' },
  });
  procs.push(p);
  const health = `http://127.0.0.1:${port}/healthz`;
  await waitFor(
    `collector ${name} to answer (log: ${path.join(dir, `${name}.log`)})`,
    async () => {
      if (p.exitCode !== null) throw new Error(`collector ${name} exited: ${fs.readFileSync(path.join(dir, `${name}.log`), 'utf8').slice(-2000)}`);
      try {
        return (await fetch(health)).ok;
      } catch {
        return false;
      }
    },
    60000,
  );
  return health;
}

function newHub(): Hub {
  return new Hub({ store: () => store, configs: () => [{ id: 'static1', name: 'static1', url: staticUrl, token }] });
}

before(async () => {
  if (!isRoot) return;
  dir = tempDir('bpfscope-fleet-real-');
  fs.writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'join.token'), joinToken, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'bad.token'), 'not-the-join-token', { mode: 0o600 });
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', path.join(dir, 'burn'), path.join(REPO, 'e2e/fixtures/burn.c')]);
  store = new SqliteSnapshotStore(path.join(dir, 'bpfscope.db'));
  const staticHealth = await serve('static1', ['--token-file', path.join(dir, 'token')]);
  staticUrl = staticHealth.replace('http:', 'ws:').replace('/healthz', '');
  hub = newHub();
  join = await startJoinServer({ hub, host: '127.0.0.1', port: 0, token: () => joinToken });
  joinPort = join.port;
  joinedHealth = await serve('joined1', joinFlags(joinPort, path.join(dir, 'join.token'), 'joined1', ['role=test']));
  await waitFor('joined1 to join', () => hub.client('joined1')?.connected === true, 15000);
  burn = spawn(path.join(dir, 'burn'), ['', '180'], { stdio: 'ignore' });
});

after(async () => {
  hub?.close();
  await join?.close();
  burn?.kill('SIGKILL');
  await Promise.all(
    procs.map(async (p) => {
      if (p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }),
  );
  store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const deps = () => ({ hub: () => hub, store: () => store, env });
const post = (body: unknown) =>
  new Request('http://127.0.0.1:3000/api/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function runToEnd(id: string): Promise<Record<string, unknown>> {
  let c: Record<string, unknown> = {};
  await waitFor(
    `capture ${id} to end`,
    async () => {
      c = await (await getCapture(new Request(`http://127.0.0.1:3000/api/captures/${id}`), id, deps())).json();
      return c.state !== 'running' && c.saving !== true;
    },
    30000,
  );
  return c;
}

test('/api/collectors lists the static and the joined host with labels, kernel, CPUs, health, last seen; ?label= filters', { skip }, async () => {
  const all = (await (await listCollectors(new Request('http://127.0.0.1:3000/api/collectors'), deps())).json()).collectors as Record<string, unknown>[];
  const byId = new Map(all.map((c) => [c.id, c]));
  assert.deepEqual([...byId.keys()].sort(), ['joined1', 'static1']);
  const j = byId.get('joined1')!;
  assert.equal(j.joined, true);
  assert.deepEqual(j.labels, { role: 'test' });
  assert.equal(j.healthy, true, String(j.error));
  assert.equal(j.connected, true);
  assert.equal(typeof j.kernel, 'string');
  assert.ok((j.cpus as number) > 0);
  assert.ok(Date.now() - (j.lastSeen as number) < 15000, 'last seen recently');
  assert.equal(byId.get('static1')!.joined, false);
  const filtered = (await (await listCollectors(new Request('http://127.0.0.1:3000/api/collectors?label=role=test'), deps())).json()).collectors;
  assert.deepEqual(
    filtered.map((c: { id: string }) => c.id),
    ['joined1'],
  );
  // the joined collector's own /healthz says it is connected to the hub
  const h = await (await fetch(joinedHealth)).json();
  assert.equal(h.hub.connected, true);
});

test('a fleet capture on both hosts through the REST API: merged, each host kept as the root frame', { skip }, async () => {
  const res = await createCapture(
    post({ tool: 'profile', durationSec: 2, options: { pid: burn!.pid!, frequency: 99 }, hosts: ['static1', 'joined1'], name: 'fleet real' }),
    deps(),
  );
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = await res.json();
  const c = await runToEnd(id);
  assert.equal(c.state, 'done', String(c.error));
  assert.equal(c.partial, false);
  const hosts = c.hosts as { name: string; state: string; samples: number }[];
  assert.deepEqual(hosts.map((h) => [h.name, h.state]).sort(), [
    ['joined1', 'done'],
    ['static1', 'done'],
  ]);
  for (const h of hosts) assert.ok(h.samples > 0, `${h.name} sent samples`);
  const snap = (await store.get(c.snapshotId as string))!;
  const p = snap.profile;
  assert.deepEqual(p.meta.hosts?.map((h) => h.name).sort(), ['joined1', 'static1']);
  assert.equal(p.meta.partial, undefined);
  const perHost = new Map<string, number>();
  const hotUnder = new Set<string>();
  for (const s of p.stacks) {
    const root = p.frames[s.frames[0]!]!.name;
    assert.ok(root === 'static1' || root === 'joined1', `every stack starts with a host, got ${root}`);
    perHost.set(root, (perHost.get(root) ?? 0) + s.weight);
    if (s.frames.some((f) => p.frames[f]!.name === 'bpfscope_e2e_hot_leaf')) hotUnder.add(root);
  }
  assert.ok((perHost.get('static1') ?? 0) > 0 && (perHost.get('joined1') ?? 0) > 0, `weight per host: ${JSON.stringify([...perHost])}`);
  assert.deepEqual([...hotUnder].sort(), ['joined1', 'static1'], 'the workload function is seen under each host');
});

test('a selector picks hosts by label; unknown hosts and empty selections are refused naming the field', { skip }, async () => {
  const res = await createCapture(
    post({ tool: 'profile', durationSec: 1, options: { pid: burn!.pid!, frequency: 49 }, selector: { role: 'test' }, save: false }),
    deps(),
  );
  assert.equal(res.status, 202, await res.clone().text());
  const c = await runToEnd((await res.json()).id);
  assert.deepEqual(
    (c.hosts as { name: string }[]).map((h) => h.name),
    ['joined1'],
  );
  const bad = await createCapture(post({ tool: 'profile', durationSec: 1, hosts: ['static1', 'nope'] }), deps());
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).field, 'hosts.1');
  const none = await createCapture(post({ tool: 'profile', durationSec: 1, selector: { role: 'absent' } }), deps());
  assert.equal(none.status, 400);
  assert.match((await none.json()).error, /no host has the labels role=absent/);
});

/** Opens a raw join upgrade; resolves with the refusal's status and error text (or 101). */
function tryJoin(name: string, tok: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${joinPort}`, { headers: { authorization: `Bearer ${tok}`, 'x-bpfscope-name': name } });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, error: JSON.parse(body).error });
        ws.terminate();
      });
    });
    ws.on('open', () => {
      resolve({ status: 101 });
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

test('a second collector claiming a name in use is refused with a clear error; so is a bad join token', { skip }, async () => {
  const clash = await tryJoin('joined1', joinToken);
  assert.equal(clash.status, 409);
  assert.match(clash.error!, /a host named "joined1" is already connected/);
  const stat = await tryJoin('static1', joinToken);
  assert.equal(stat.status, 409);
  const bad = await tryJoin('other', 'wrong-token');
  assert.equal(bad.status, 401);
  assert.match(bad.error!, /wrong join token/);
  assert.equal(hub.client('joined1')?.connected, true, 'the first joined1 is untouched');
  // a real collector with the wrong token says why in its /healthz (and keeps retrying)
  const h = await serve('badtoken', joinFlags(joinPort, path.join(dir, 'bad.token'), 'intruder'));
  let last: { hub?: { connected: boolean; lastError?: string } } = {};
  await waitFor('the refused collector to report the refusal', async () => (last = await (await fetch(h)).json()).hub?.lastError !== undefined, 10000);
  assert.equal(last.hub!.connected, false);
  assert.match(last.hub!.lastError!, /401.*wrong join token/);
  assert.equal(hub.client('intruder'), null);
});

test('after a hub restart the joined collector is back within 10 s', { skip }, async () => {
  hub.close();
  await join.close();
  hub = newHub();
  // the restarted hub listens on the same port a moment later
  await new Promise((r) => setTimeout(r, 500));
  join = await startJoinServer({ hub, host: '127.0.0.1', port: joinPort, token: () => joinToken });
  const ms = await waitFor('joined1 to rejoin the restarted hub', () => hub.client('joined1')?.connected === true, 10000);
  assert.ok(ms <= 10000, `rejoined in ${ms} ms`);
});

test('removing a host mid-capture: it is reported with its reason, the other finishes, the snapshot is partial', { skip }, async () => {
  const res = await createCapture(
    post({ tool: 'profile', durationSec: 3, options: { pid: burn!.pid!, frequency: 99 }, hosts: ['static1', 'joined1'] }),
    deps(),
  );
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = await res.json();
  const cap = hub.get(id)!;
  await waitFor('a first delta from joined1', () => (cap.fleet?.hosts.get('joined1')?.samples ?? 0) > 0, 25000);
  assert.equal(cap.fleet?.hosts.get('joined1')?.state, 'running');
  const del = await removeCollector(new Request('http://127.0.0.1:3000/api/collectors/joined1', { method: 'DELETE' }), 'joined1', deps());
  assert.equal(del.status, 204);
  const c = await runToEnd(id);
  assert.equal(c.state, 'done', String(c.error));
  assert.equal(c.partial, true);
  const j = (c.hosts as { name: string; state: string; error?: string }[]).find((h) => h.name === 'joined1')!;
  assert.equal(j.state, 'failed');
  assert.match(j.error!, /removed by the operator/);
  const p = (await store.get(c.snapshotId as string))!.profile;
  assert.equal(p.meta.partial, true);
  assert.equal(p.meta.hosts?.find((h) => h.name === 'static1')?.state, 'done');
  assert.equal(hub.client('joined1'), null, 'the host is gone from the list');
  // the removed collector does not rejoin
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(hub.client('joined1'), null);
  const h = await (await fetch(joinedHealth)).json();
  assert.equal(h.hub.connected, false);
});
