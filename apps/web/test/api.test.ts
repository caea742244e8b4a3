/**
 * The REST API handlers, called directly with web Requests: captures through a real WebSocket to
 * a protocol-v1 stand-in collector (fake-collector.ts), snapshots against a temp SQLite store.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { TOOL_NAMES } from '@bpfscope/viz/tools';
import * as api from '../server/api';
import { Hub } from '../server/captures';
import { SqliteSnapshotStore } from '../server/snapshots';
import type { CollectorConfig, Env } from '../server/config';
import { startFakeCollector, type FakeCollector, type Script } from './fake-collector';
import { CORPUS, tempDir } from './helpers';
import { freePort } from '../../../tests/support/net.js';

const BASE = 'http://127.0.0.1:3000';
const dir = tempDir();
let store: SqliteSnapshotStore;
let fake: FakeCollector;
let configs: CollectorConfig[] = [];
let hub: Hub;
const env: Env = { BPFSCOPE_WEB_HOST: '127.0.0.1' };
const deps = () => ({ store: () => store, hub: () => hub, env });

const profileScript: Script = () => ({
  intervalMs: 40,
  deltas: [
    {
      frames: [
        [0, 'app', 'comm'],
        [1, 'main', 'user'],
        [2, 'hot', 'user'],
      ],
      stacks: [[10, [0, 1, 2]]],
      counts: [[10, 5]],
      timeline: [[0, 10, 5]],
      timelineResolutionMs: 10,
      progress: { elapsedMs: 40, durationMs: 200, samples: 5, events: 5 },
    },
    {
      frames: [[3, 'cold', 'user']],
      stacks: [[11, [0, 1, 3]]],
      counts: [
        [10, 2],
        [11, 4],
      ],
      timeline: [
        [40, 10, 2],
        [40, 11, 4],
      ],
      progress: { elapsedMs: 80, durationMs: 200, samples: 11, events: 11 },
      loss: { userStackMissing: 1 },
    },
    { counts: [[11, 1]], timeline: [[80, 11, 1]], progress: { elapsedMs: 120, durationMs: 200, samples: 12, events: 12 } },
  ],
});
let script: Script = profileScript;

function req(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Request {
  const init: RequestInit & { duplex?: string } = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ReadableStream) {
      init.body = body as BodyInit;
      if (body instanceof ReadableStream) init.duplex = 'half';
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  return new Request(BASE + p, init);
}

async function body(res: Response): Promise<any> {
  return JSON.parse(await res.text());
}

/** Reads an SSE response to its end (or until `stop` says so) and returns the parsed messages. */
async function readEvents(res: Response, stop?: (m: any) => boolean, timeoutMs = 5000): Promise<any[]> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const out: any[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await Promise.race([
      reader.read(),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`SSE timeout; got ${JSON.stringify(out.map((m) => m.type))}`)), deadline - Date.now())),
    ]);
    if (r.done) break;
    buf += dec.decode(r.value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) {
        const m = JSON.parse(data);
        out.push(m);
        if (stop?.(m)) {
          await reader.cancel();
          return out;
        }
      }
    }
  }
  return out;
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function captureJson(id: string) {
  return body(await api.getCapture(req('GET', `/api/captures/${id}`), id, deps()));
}

before(async () => {
  store = new SqliteSnapshotStore(path.join(dir, 'bpfscope.db'));
  fake = await startFakeCollector((id, tool) => script(id, tool));
  configs = [{ id: 'local', name: 'local', url: fake.url, token: fake.token }];
  hub = new Hub({ store: () => store, configs: () => configs });
});
after(async () => {
  hub.close();
  await fake.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('POST /api/captures validation', () => {
  const cases: [string, unknown, RegExp, string?][] = [
    ['missing tool', { durationSec: 5 }, new RegExp(`tool: must be one of ${TOOL_NAMES.join(', ')} \\(missing\\)`), 'tool'],
    ['unknown tool', { tool: 'execsnoop', durationSec: 5 }, /tool: .*got "execsnoop"/, 'tool'],
    ['missing duration', { tool: 'profile' }, /durationSec: .*\(missing\)/, 'durationSec'],
    ['negative duration', { tool: 'profile', durationSec: -1 }, /durationSec/, 'durationSec'],
    ['string duration', { tool: 'profile', durationSec: '5' }, /durationSec/, 'durationSec'],
    ['unknown option', { tool: 'profile', durationSec: 5, options: { frequncy: 99 } }, /options\.frequncy: unknown option/, 'options.frequncy'],
    ['bad option value', { tool: 'profile', durationSec: 5, options: { frequency: 'fast' } }, /options\.frequency: /, 'options.frequency'],
    ['bad pid', { tool: 'profile', durationSec: 5, options: { pid: -3 } }, /options\.pid/, 'options.pid'],
    [
      'conflicting options',
      { tool: 'profile', durationSec: 5, options: { userStacksOnly: true, kernelStacksOnly: true } },
      /mutually exclusive/,
      'options.kernelStacksOnly',
    ],
    ['options not an object', { tool: 'profile', durationSec: 5, options: [1] }, /options: must be an object/, 'options'],
    ['unknown field', { tool: 'profile', durationSec: 5, colector: 'x' }, /unknown field "colector"/, 'colector'],
    ['bad save', { tool: 'profile', durationSec: 5, save: 'yes' }, /save: must be true or false/, 'save'],
    ['unknown collector', { tool: 'profile', durationSec: 5, collector: 'nope' }, /collector: "nope" is not configured \(configured: local\)/, 'collector'],
  ];
  for (const [name, b, re, field] of cases) {
    test(`${name} → 400 naming the field`, async () => {
      const res = await api.createCapture(req('POST', '/api/captures', b), deps());
      assert.equal(res.status, 400);
      const j = await body(res);
      assert.match(j.error, re);
      if (field) assert.equal(j.field, field);
    });
  }
  test('not JSON → 400', async () => {
    const res = await api.createCapture(req('POST', '/api/captures', '{"tool":'), deps());
    assert.equal(res.status, 400);
    assert.match((await body(res)).error, /not valid JSON/);
  });
  test('a collector-side refusal (no such pid) → 400 with its field', async () => {
    const res = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 1, options: { pid: 999999 } }), deps());
    assert.equal(res.status, 400);
    const j = await body(res);
    assert.equal(j.field, 'options.pid');
    assert.match(j.error, /no process 999999/);
  });
});

describe('capture relay', () => {
  test('deltas are mirrored, relayed over SSE, and the ended capture is saved as a snapshot', async () => {
    script = profileScript;
    const res = await api.createCapture(
      req('POST', '/api/captures', { tool: 'profile', durationSec: 0.2, options: { frequency: 49 }, name: 'relay test' }),
      deps(),
    );
    assert.equal(res.status, 202);
    const { id } = await body(res);
    assert.match(id, /^[0-9A-Za-z]{10}$/);
    const events = await readEvents(await api.captureEvents(req('GET', `/api/captures/${id}/events`), id, deps()));
    const types = events.map((m) => m.type);
    assert.equal(types[0], 'started');
    assert.equal(types[1], 'delta');
    assert.equal(events[1].full, true, 'the first delta a subscriber gets is full');
    assert.ok(
      events.every((m) => m.captureId === id),
      'messages carry the hub capture id, not the collector one',
    );
    assert.ok(types.includes('end'));
    const saved = events.find((m) => m.type === 'notice' && m.code === 'snapshot_saved');
    assert.ok(saved, 'a snapshot_saved notice names the snapshot');
    // counts add up across the relayed deltas
    const totals = new Map<number, number>();
    for (const m of events) if (m.type === 'delta') for (const [s, w] of m.counts ?? []) totals.set(s, (totals.get(s) ?? 0) + w);
    assert.deepEqual([...totals].sort(), [
      [10, 7],
      [11, 5],
    ]);

    const cap = await captureJson(id);
    assert.equal(cap.state, 'done');
    assert.equal(saved.message, `Saved as snapshot ${cap.snapshotId} (/s/${cap.snapshotId})`);
    assert.ok(!events.some((m) => m.type === 'notice' && m.code === 'stream_end'), 'the internal end marker is not forwarded');
    assert.equal(cap.tool, 'profile');
    assert.equal(cap.progress.samples, 12);

    const snap = (await store.get(cap.snapshotId))!;
    assert.equal(snap.snapshot.name, 'relay test');
    assert.equal(snap.snapshot.tool, 'profile');
    assert.equal(snap.snapshot.host, 'fakehost');
    assert.equal(snap.snapshot.kernel, '6.18.0-fake');
    assert.deepEqual(snap.snapshot.options, { frequency: 49 });
    assert.deepEqual(snap.snapshot.loss, { userStackMissing: 1 });
    const p = snap.profile;
    assert.equal(p.total, 12);
    const folded = p.stacks.map((s) => s.frames.map((f) => p.frames[f]!.name).join(';') + ' ' + s.weight).sort();
    assert.deepEqual(folded, ['app;main;cold 5', 'app;main;hot 7']);
    assert.equal(p.frames.find((f) => f.name === 'app')!.kind, 'comm');
    // timeline remapped onto the profile's stack indices
    assert.ok(p.timeline);
    assert.equal(p.timeline!.resolutionMs, 10);
    let tl = 0;
    p.timeline!.count.forEach((c, i) => {
      assert.ok(p.stacks[p.timeline!.stack[i]!]);
      tl += c;
    });
    assert.equal(tl, 12);

    // a late subscriber gets the whole state in one full delta, then the end
    const listed = await body(await api.listCaptures(req('GET', '/api/captures'), deps()));
    assert.equal(listed.captures[0].id, id, 'GET /api/captures lists it, newest first');
    assert.equal(listed.captures[0].state, 'done');

    const late = await readEvents(await api.captureEvents(req('GET', `/api/captures/${id}/events`), id, deps()));
    const full = late.find((m) => m.type === 'delta');
    assert.equal(full.full, true);
    assert.deepEqual(
      new Map(full.counts),
      new Map([
        [10, 7],
        [11, 5],
      ]),
    );
    assert.equal(full.frames.length, 4);
    assert.equal(full.timeline.length, 4);
    assert.ok(late.some((m) => m.type === 'end'));
  });

  test('a first delta sent in the same tick as `started` is not lost', async () => {
    script = () => ({ ...profileScript('', 'profile'), firstWithStarted: true });
    const { id } = await body(await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 0.2, save: false }), deps()));
    const cap = await waitFor(async () => {
      const c = await captureJson(id);
      return c.state !== 'running' ? c : undefined;
    }, 'end');
    assert.equal(cap.state, 'done');
    const hubCap = hub.get(id)!;
    assert.deepEqual(hubCap.fullDelta().counts?.sort(), [
      [10, 7],
      [11, 5],
    ]);
    assert.equal(hubCap.toProfile().total, 12);
  });

  test('a collector that numbers its deltas from 0 (against the protocol) fails the capture saying so, and the capture is cancelled there', async () => {
    script = () => ({ ...profileScript('', 'profile'), hold: true, firstSeq: 0 });
    const cancels = fake.received.filter((m) => m.type === 'cancel').length;
    const { id } = await body(await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 60, save: false }), deps()));
    const cap = await waitFor(async () => {
      const c = await captureJson(id);
      return c.state !== 'running' ? c : undefined;
    }, 'the capture to end');
    assert.equal(cap.state, 'failed');
    assert.match(cap.error, /^collector local sent an invalid delta: delta seq 0 of capture cap\d+ is not a full delta: intervals are numbered from 1/);
    await waitFor(() => (fake.received.filter((m) => m.type === 'cancel').length > cancels ? true : undefined), 'cancel sent to the collector');
  });

  test('stop ends early and keeps the data; save:false then POST snapshot names it', async () => {
    script = () => ({ ...profileScript('', 'profile'), hold: true });
    const res = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 60, save: false }), deps());
    assert.equal(res.status, 202);
    const { id } = await body(res);
    await waitFor(async () => ((await captureJson(id)).progress.samples === 12 ? true : undefined), 'all deltas');
    // saving a running capture is refused
    let r = await api.snapshotCapture(req('POST', `/api/captures/${id}/snapshot`, { name: 'too early' }), id, deps());
    assert.equal(r.status, 409);
    r = await api.stopCapture(req('POST', `/api/captures/${id}/stop`), id, deps());
    assert.equal(r.status, 200);
    const cap = await waitFor(async () => {
      const c = await captureJson(id);
      return c.state === 'done' ? c : undefined;
    }, 'done after stop');
    assert.equal(cap.endReason, 'stopped');
    assert.equal(cap.snapshotId, undefined, 'save:false stores nothing by itself');
    r = await api.snapshotCapture(req('POST', `/api/captures/${id}/snapshot`, { notes: 'x' }), id, deps());
    assert.equal(r.status, 400);
    assert.match((await body(r)).error, /name: a non-empty string is required/);
    r = await api.snapshotCapture(req('POST', `/api/captures/${id}/snapshot`, { name: 'after stop', notes: 'kept' }), id, deps());
    assert.equal(r.status, 201);
    const j = await body(r);
    assert.equal(j.url, `/s/${j.id}`);
    const s = (await store.get(j.id))!;
    assert.equal(s.snapshot.name, 'after stop');
    assert.equal(s.snapshot.notes, 'kept');
    assert.equal(s.profile.total, 12);
    r = await api.stopCapture(req('POST', `/api/captures/${id}/stop`), id, deps());
    assert.equal(r.status, 409, 'stopping a finished capture');
  });

  test('DELETE cancels: failed with "cancelled", nothing saved', async () => {
    script = () => ({ ...profileScript('', 'profile'), hold: true });
    const before = await store.count();
    const { id } = await body(await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 60 }), deps()));
    const r = await api.cancelCapture(req('DELETE', `/api/captures/${id}`), id, deps());
    assert.equal(r.status, 200);
    const cap = await captureJson(id);
    assert.equal(cap.state, 'failed');
    assert.equal(cap.error, 'cancelled');
    // the cancel reached the collector: the capture is over, and nothing was saved
    await waitFor(() => (fake.received.some((m) => m.type === 'cancel') ? true : undefined), 'cancel sent to the collector');
    assert.equal(await store.count(), before);
  });

  test('biolatency histograms are mirrored into the snapshot', async () => {
    script = () => ({
      intervalMs: 30,
      deltas: [
        {
          histograms: [{ start: 1000, end: 2000, key: 'vda', slots: [0, 0, 3, 9] }],
          histUnit: 'usecs',
          histKeyKind: 'disk',
          progress: { elapsedMs: 1000, durationMs: 2000, samples: 0, events: 12 },
        },
        { histograms: [{ start: 2000, end: 3000, key: 'vda', slots: [0, 1, 1] }], progress: { elapsedMs: 2000, durationMs: 2000, samples: 0, events: 14 } },
      ],
    });
    const { id } = await body(
      await api.createCapture(req('POST', '/api/captures', { tool: 'biolatency', durationSec: 2, options: { perDisk: true } }), deps()),
    );
    const cap = await waitFor(async () => {
      const c = await captureJson(id);
      return c.state !== 'running' ? c : undefined;
    }, 'biolatency end');
    assert.equal(cap.state, 'done', cap.error);
    const s = (await store.get(cap.snapshotId))!;
    assert.equal(s.snapshot.tool, 'biolatency');
    assert.equal(s.profile.histograms!.keyKind, 'disk');
    assert.deepEqual(
      s.profile.histograms!.intervals.map((h) => h.slots),
      [
        [0, 0, 3, 9],
        [0, 1, 1],
      ],
    );
    assert.equal(s.profile.unit, 'count');
  });

  test('a collector that drops the connection fails the capture with a clear error', async () => {
    script = () => ({ ...profileScript('', 'profile'), hold: true });
    const { id } = await body(await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 60 }), deps()));
    const sse = api.captureEvents(req('GET', `/api/captures/${id}/events`), id, deps()).then((r) => readEvents(r));
    await waitFor(async () => ((await captureJson(id)).progress.samples > 0 ? true : undefined), 'first delta');
    fake.dropAll();
    const cap = await waitFor(async () => {
      const c = await captureJson(id);
      return c.state !== 'running' ? c : undefined;
    }, 'failure');
    assert.equal(cap.state, 'failed');
    assert.match(cap.error, /lost the connection to collector local/);
    const ev = await sse;
    assert.ok(
      ev.some((m) => m.type === 'error' && /lost the connection/.test(m.message)),
      'SSE subscribers hear about it',
    );
    // the hub reconnects on the next request
    script = profileScript;
    await new Promise((r) => setTimeout(r, 1100));
    const res = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 0.2 }), deps());
    assert.equal(res.status, 202);
  });

  test('an unreachable collector → 503 naming the address; collectors list shows it unhealthy', async () => {
    const saved = configs;
    const port = await freePort();
    configs = [...saved, { id: 'down', name: 'down host', url: `ws://127.0.0.1:${port}`, token: 'whatever-token' }];
    try {
      const res = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 1, collector: 'down' }), deps());
      assert.equal(res.status, 503);
      assert.match(
        (await body(res)).error,
        new RegExp(`collector down \\(ws://127\\.0\\.0\\.1:${port}\\) is unavailable: nothing listens at ws://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
      );
      const list = await body(await api.listCollectors(req('GET', '/api/collectors'), deps()));
      assert.equal(list.collectors.length, 2);
      const [local, down] = list.collectors;
      assert.equal(local.id, 'local');
      assert.equal(local.healthy, true);
      assert.equal(local.health.hostname, 'fakehost');
      assert.equal(local.token, undefined, 'tokens never leave the hub');
      assert.equal(down.healthy, false);
      assert.equal(down.health, null);
      assert.match(down.error, /ECONNREFUSED/);
      assert.ok(!JSON.stringify(list).includes(fake.token));
    } finally {
      configs = saved;
    }
  });

  test('a wrong collector token → 503 saying the token was refused', async () => {
    const saved = configs;
    configs = [{ ...saved[0]!, id: 'badtoken', token: 'not-the-token' }, ...saved];
    try {
      const res = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 1, collector: 'badtoken' }), deps());
      assert.equal(res.status, 503);
      assert.match((await body(res)).error, /refused the token \(HTTP 401\)/);
    } finally {
      configs = saved;
    }
  });

  test("probe suggestions of a collector: matches, the collector's error, bad q/pid → 400 naming the field", async () => {
    const r = await api.collectorProbes(req('GET', '/api/collectors/local/probes?q=vfs_re'), 'local', deps());
    assert.equal(r.status, 200);
    assert.deepEqual((await body(r)).matches, ['vfs_read', 'vfs_readv']);
    const e = await body(await api.collectorProbes(req('GET', '/api/collectors/local/probes?q=%2Fnope%3Amain'), 'local', deps()));
    assert.match(e.error, /"\/nope" does not exist/);
    const badPid = await api.collectorProbes(req('GET', '/api/collectors/local/probes?q=x&pid=-1'), 'local', deps());
    assert.equal(badPid.status, 400);
    assert.equal((await body(badPid)).field, 'pid');
    const long = await api.collectorProbes(req('GET', `/api/collectors/local/probes?q=${'a'.repeat(513)}`), 'local', deps());
    assert.equal((await body(long)).field, 'q');
    assert.equal((await api.collectorProbes(req('GET', '/api/collectors/x/probes?q=a'), 'x', deps())).status, 404);
  });

  test('processes of a collector; unknown collector → 404; unknown capture → 404', async () => {
    const r = await api.collectorProcesses(req('GET', '/api/collectors/local/processes'), 'local', deps());
    assert.equal(r.status, 200);
    assert.deepEqual((await body(r)).processes, [{ pid: 1, comm: 'init', cmdline: '/sbin/init' }]);
    assert.equal((await api.collectorProcesses(req('GET', '/api/collectors/x/processes'), 'x', deps())).status, 404);
    const c = await api.getCapture(req('GET', '/api/captures/zzzzzzzzzz'), 'zzzzzzzzzz', deps());
    assert.equal(c.status, 404);
    assert.match((await body(c)).error, /no capture with id "zzzzzzzzzz"/);
    assert.equal((await api.captureEvents(req('GET', '/api/captures/q/events'), 'q', deps())).status, 404);
  });
});

describe('snapshots API', () => {
  const folded = 'nginx;main;serve;read 7\nnginx;main;serve;write 3\nredis;main;loop 5\n';

  test('upload folded → 201, list, get json and every export format, delete → 204, then 404', async () => {
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=web%20before&notes=n1&fileName=x.folded', folded), deps());
    assert.equal(r.status, 201, await r.clone().text());
    const { id, url } = await body(r);
    assert.equal(url, `/s/${id}`);

    r = await api.listSnapshots(req('GET', '/api/snapshots?q=before'), deps());
    const list = (await body(r)).snapshots;
    assert.deepEqual(
      list.map((s: any) => s.id),
      [id],
    );
    assert.equal(list[0].name, 'web before');
    assert.equal(list[0].tool, 'import');
    assert.equal(list[0].total, 15);
    assert.equal(list[0].unit, 'samples');

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}`), id, deps());
    assert.equal(r.status, 200);
    const j = await body(r);
    assert.equal(j.snapshot.id, id);
    assert.equal(j.snapshot.notes, 'n1');
    assert.equal(j.snapshot.total, 15);
    assert.equal(j.snapshot.format, 'folded');
    assert.equal(typeof j.profile, 'object');

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}?format=folded`), id, deps());
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-disposition')!, /attachment; filename="web_before\.folded"/);
    const text = await r.text();
    assert.match(text, /^nginx;main;serve;read 7$/m);
    assert.match(text, /^redis;main;loop 5$/m);

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}?format=pprof`), id, deps());
    assert.equal(r.status, 200);
    const pb = new Uint8Array(await r.arrayBuffer());
    assert.ok(pb.length > 20);
    assert.match(r.headers.get('content-disposition')!, /filename="web_before\.pb(\.gz)?"/);

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}?format=speedscope`), id, deps());
    assert.equal(r.status, 200);
    assert.match(JSON.parse(await r.text()).$schema, /speedscope/);

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}?format=svg`), id, deps());
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /image\/svg\+xml/);
    assert.match(r.headers.get('content-security-policy')!, /sandbox/);
    assert.match(await r.text(), /<svg[\s\S]*serve/);

    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}?format=png`), id, deps());
    assert.equal(r.status, 400);
    assert.match((await body(r)).error, /format: must be one of json, folded, pprof, speedscope, svg/);

    r = await api.deleteSnapshot(req('DELETE', `/api/snapshots/${id}`), id, deps());
    assert.equal(r.status, 204);
    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}`), id, deps());
    assert.equal(r.status, 404);
    assert.match((await body(r)).error, /no snapshot with id/);
    r = await api.deleteSnapshot(req('DELETE', `/api/snapshots/${id}`), id, deps());
    assert.equal(r.status, 404);
  });

  test('gzipped perf script from the corpus imports with 9880 samples', async () => {
    const gz = fs.readFileSync(path.join(CORPUS, 'perf-script-busy.txt.gz'));
    const r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=corpus&fileName=perf-script-busy.txt.gz', new Uint8Array(gz)), deps());
    assert.equal(r.status, 201, await r.clone().text());
    const { id } = await body(r);
    const s = (await store.get(id))!;
    assert.equal(s.snapshot.total, 9880);
    assert.equal(s.snapshot.format, 'perf-script');
    assert.equal(s.profile.total, 9880);
  });

  test('malformed, empty and wrongly-labelled uploads → 400 naming what was wrong; nothing stored', async () => {
    const n = await store.count();
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', ''), deps());
    assert.equal(r.status, 400);
    assert.match((await body(r)).error, /body is empty/);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x&format=folded', 'a;b 1\nthis line has no count\n'), deps());
    assert.equal(r.status, 400);
    assert.match((await body(r)).error, /line 2/);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x&format=excel', 'a;b 1\n'), deps());
    assert.equal(r.status, 400);
    assert.equal((await body(r)).field, 'format');
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x&format=pprof', 'a;b 1\n'), deps());
    assert.equal(r.status, 400);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3])), deps());
    assert.equal(r.status, 400);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', 'hello world, not a profile'), deps());
    assert.equal(r.status, 400);
    assert.equal(await store.count(), n);
  });

  test('too large → 413, by Content-Length and by streamed size (and after gunzip)', async () => {
    const small = { ...env, BPFSCOPE_MAX_UPLOAD_MB: '0.01' }; // 10 KiB
    const d = { ...deps(), env: small };
    const n = await store.count();
    const big = 'a;b;c 1\n'.repeat(3000); // 24 KB
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=big', big, { 'content-length': String(big.length) }), d);
    assert.equal(r.status, 413);
    assert.match((await body(r)).error, /too large .*limit is 0\.01 MiB .*BPFSCOPE_MAX_UPLOAD_MB/);
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled++ > 1000) return c.close();
        c.enqueue(new TextEncoder().encode('x;y 1\n'.repeat(100)));
      },
    });
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=big', stream), d);
    assert.equal(r.status, 413);
    assert.ok(pulled < 40, `stopped reading soon after the cap (pulled ${pulled} chunks)`);
    const bomb = zlib.gzipSync(Buffer.from('p;q 1\n'.repeat(20000)));
    assert.ok(bomb.length < 10240);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=bomb', new Uint8Array(bomb)), d);
    assert.equal(r.status, 413);
    assert.equal(await store.count(), n);
  });

  test('list validates limit; unknown ids → 404', async () => {
    let r = await api.listSnapshots(req('GET', '/api/snapshots?limit=0'), deps());
    assert.equal(r.status, 400);
    assert.equal((await body(r)).field, 'limit');
    r = await api.getSnapshot(req('GET', '/api/snapshots/nope?format=folded'), 'nope', deps());
    assert.equal(r.status, 404);
  });
});

describe('operator token and cross-site checks', () => {
  const folded = 'a;b 1\n';
  test('non-loopback without tokens refuses changes and reads alike (nobody on the network lists snapshots)', async () => {
    const d = { ...deps(), env: { BPFSCOPE_WEB_HOST: '0.0.0.0' } };
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded), d);
    assert.equal(r.status, 403);
    assert.match((await body(r)).error, /BPFSCOPE_WEB_TOKEN is not set/);
    r = await api.listSnapshots(req('GET', '/api/snapshots'), d);
    assert.equal(r.status, 403);
  });
  test('non-loopback with a token: missing/wrong → 401, Bearer or cookie → allowed', async () => {
    const d = { ...deps(), env: { BPFSCOPE_WEB_HOST: '0.0.0.0', BPFSCOPE_WEB_TOKEN: 's3cret-operator' } };
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded), d);
    assert.equal(r.status, 401);
    assert.match((await body(r)).error, /needs the operator token/);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded, { authorization: 'Bearer nope' }), d);
    assert.equal(r.status, 401);
    assert.match((await body(r)).error, /wrong operator token/);
    r = await api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 1 }), d);
    assert.equal(r.status, 401);
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded, { authorization: 'Bearer s3cret-operator' }), d);
    assert.equal(r.status, 201);
    const { id } = await body(r);
    r = await api.deleteSnapshot(req('DELETE', `/api/snapshots/${id}`), id, d);
    assert.equal(r.status, 401);
    r = await api.deleteSnapshot(req('DELETE', `/api/snapshots/${id}`, undefined, { cookie: 'theme=dark; bpfscope_token=s3cret-operator' }), id, d);
    assert.equal(r.status, 204);
  });
  test('session: the browser trades the operator token for an HttpOnly cookie that then authorizes', async () => {
    const d = { ...deps(), env: { BPFSCOPE_WEB_HOST: '0.0.0.0', BPFSCOPE_WEB_TOKEN: 's3cret-operator' } };
    let r = await api.getSession(req('GET', '/api/session'), d);
    assert.deepEqual(await body(r), { required: true, authorized: false, readRequired: true, canRead: false, role: null });
    r = await api.createSession(req('POST', '/api/session', { token: 'nope' }), d);
    assert.equal(r.status, 401);
    r = await api.createSession(req('POST', '/api/session', {}), d);
    assert.equal(r.status, 400);
    assert.equal((await body(r)).field, 'token');
    r = await api.createSession(req('POST', '/api/session', { token: 's3cret-operator' }), d);
    assert.equal(r.status, 204);
    const setCookie = r.headers.get('set-cookie')!;
    assert.match(setCookie, /^bpfscope_token=s3cret-operator; Path=\/; HttpOnly; SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    r = await api.getSession(req('GET', '/api/session', undefined, { cookie }), d);
    assert.deepEqual(await body(r), { required: true, authorized: true, readRequired: true, canRead: true, role: 'operator' });
    r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded, { cookie }), d);
    assert.equal(r.status, 201);
    r = await api.deleteSession(req('DELETE', '/api/session'));
    assert.match(r.headers.get('set-cookie')!, /Max-Age=0/);
    // on loopback no token is needed
    r = await api.getSession(req('GET', '/api/session'), deps());
    assert.deepEqual(await body(r), { required: false, authorized: true, readRequired: false, canRead: true, role: null });
  });
  test('cross-site requests may not change anything, even on loopback', async () => {
    let r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=x', folded, { 'sec-fetch-site': 'cross-site' }), deps());
    assert.equal(r.status, 403);
    r = await api.createCapture(
      req('POST', '/api/captures', { tool: 'profile', durationSec: 1 }, { origin: 'https://evil.example', host: '127.0.0.1:3000' }),
      deps(),
    );
    assert.equal(r.status, 403);
    assert.match((await body(r)).error, /origin https:\/\/evil\.example/);
    r = await api.uploadSnapshot(
      req('POST', '/api/snapshots?name=x', folded, { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', 'sec-fetch-site': 'same-origin' }),
      deps(),
    );
    assert.equal(r.status, 201);
  });
});

describe('access off loopback: viewer token, operator token, public links', () => {
  const OP = 's3cret-operator-token';
  const VIEW = 'viewer-token-42';
  const offLoopback = () => ({ ...deps(), env: { BPFSCOPE_WEB_HOST: '0.0.0.0', BPFSCOPE_WEB_TOKEN: OP, BPFSCOPE_VIEW_TOKEN: VIEW } });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  let id = '';
  before(async () => {
    const r = await api.uploadSnapshot(req('POST', '/api/snapshots?name=shared', 'app;main;work 5\n'), deps());
    id = (await body(r)).id;
  });

  /** Every read the console makes, as one call each. */
  const reads: [string, (h: Record<string, string>, d: Partial<api.Deps>) => Promise<Response>][] = [
    ['GET /api/snapshots', (h, d) => api.listSnapshots(req('GET', '/api/snapshots', undefined, h), d)],
    ['GET /api/snapshots/<id>', (h, d) => api.getSnapshot(req('GET', `/api/snapshots/${id}`, undefined, h), id, d)],
    ['GET /api/snapshots/<id>?format=folded', (h, d) => api.getSnapshot(req('GET', `/api/snapshots/${id}?format=folded`, undefined, h), id, d)],
    ['GET /api/collectors', (h, d) => api.listCollectors(req('GET', '/api/collectors', undefined, h), d)],
    ['GET /api/collectors/local/processes', (h, d) => api.collectorProcesses(req('GET', '/api/collectors/local/processes', undefined, h), 'local', d)],
    ['GET /api/captures', (h, d) => api.listCaptures(req('GET', '/api/captures', undefined, h), d)],
    ['GET /api/collectors/local/probes', (h, d) => api.collectorProbes(req('GET', '/api/collectors/local/probes?q=vfs_rea', undefined, h), 'local', d)],
  ];
  /** Reads of one capture: refused before the id is even looked up (no probing for ids). */
  const captureReads: [string, (h: Record<string, string>, d: Partial<api.Deps>) => Promise<Response>][] = [
    ['GET /api/captures/<id>', (h, d) => api.getCapture(req('GET', '/api/captures/nope', undefined, h), 'nope', d)],
    ['GET /api/captures/<id>/events', (h, d) => api.captureEvents(req('GET', '/api/captures/nope/events', undefined, h), 'nope', d)],
  ];

  test('reading needs the viewer or the operator token (Bearer or cookie); none or a wrong one is 401 with what to send', async () => {
    const d = offLoopback();
    for (const [what, call] of reads) {
      let r = await call({}, d);
      assert.equal(r.status, 401, what);
      assert.match((await body(r)).error, /viewer token \(BPFSCOPE_VIEW_TOKEN\)/, what);
      r = await call(bearer('guess'), d);
      assert.equal(r.status, 401, what);
      r = await call(bearer(VIEW.slice(0, -1)), d);
      assert.equal(r.status, 401, `${what}: a prefix of the token is not the token`);
      r = await call(bearer(VIEW + 'x'), d);
      assert.equal(r.status, 401, `${what}: a longer string is not the token`);
      for (const h of [bearer(VIEW), bearer(OP), { cookie: `bpfscope_token=${VIEW}` }]) {
        r = await call(h, d);
        assert.ok(r.status === 200 || r.status === 503, `${what} with ${JSON.stringify(h)}: ${r.status}`);
        await r.arrayBuffer();
      }
    }
  });

  test('one capture and its live events need a token too; with one, an unknown id is 404', async () => {
    const d = offLoopback();
    for (const [what, call] of captureReads) {
      assert.equal((await call({}, d)).status, 401, what);
      assert.equal((await call(bearer(VIEW), d)).status, 404, what);
    }
  });

  test('on loopback reading stays open (no token needed)', async () => {
    for (const [what, call] of reads) {
      const r = await call({}, deps());
      assert.notEqual(r.status, 401, what);
      await r.arrayBuffer();
    }
  });

  test('off loopback with no token configured, reads are refused naming the variables to set', async () => {
    const d = { ...deps(), env: { BPFSCOPE_WEB_HOST: '10.0.0.5' } };
    const r = await api.listSnapshots(req('GET', '/api/snapshots'), d);
    assert.equal(r.status, 403);
    assert.match((await body(r)).error, /BPFSCOPE_VIEW_TOKEN.*BPFSCOPE_WEB_TOKEN/);
  });

  test('the viewer token cannot capture, import, delete or share (403 saying the operator token is needed)', async () => {
    const d = offLoopback();
    const h = bearer(VIEW);
    const writes: [string, Promise<Response>][] = [
      ['capture', api.createCapture(req('POST', '/api/captures', { tool: 'profile', durationSec: 1 }, h), d)],
      ['import', api.uploadSnapshot(req('POST', '/api/snapshots?name=x', 'a;b 1\n', h), d)],
      ['delete', api.deleteSnapshot(req('DELETE', `/api/snapshots/${id}`, undefined, h), id, d)],
      ['share', api.setSnapshotPublic(req('POST', `/api/snapshots/${id}/public`, undefined, h), id, true, d)],
    ];
    for (const [what, p] of writes) {
      const r = await p;
      assert.equal(r.status, 403, what);
      assert.match((await body(r)).error, /viewer token allows browsing and exporting only/, what);
    }
    assert.ok(await store.getMeta(id), 'still there');
  });

  test('the viewer token signs a browser in for reading only', async () => {
    const d = offLoopback();
    let r = await api.createSession(req('POST', '/api/session', { token: VIEW }), d);
    assert.equal(r.status, 204);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    r = await api.getSession(req('GET', '/api/session', undefined, { cookie }), d);
    assert.deepEqual(await body(r), { required: true, authorized: false, readRequired: true, canRead: true, role: 'viewer' });
    r = await api.listSnapshots(req('GET', '/api/snapshots', undefined, { cookie }), d);
    assert.equal(r.status, 200);
  });

  test('a public link serves the snapshot to anyone, without a token, until its owner makes it private', async () => {
    const d = offLoopback();
    let r = await api.setSnapshotPublic(req('POST', `/api/snapshots/${id}/public`, undefined, bearer(OP)), id, true, d);
    assert.equal(r.status, 200);
    const pub = await body(r);
    assert.equal(pub.public, true);
    assert.match(pub.token, /^[0-9A-Za-z]{22}$/);
    assert.equal(pub.url, `/p/${pub.token}`);
    // the link works with no credential at all, in every export format
    r = await api.getPublicSnapshot(req('GET', `/api/public/${pub.token}?format=json`), pub.token, d);
    assert.equal(r.status, 200);
    const j = await body(r);
    assert.equal(j.snapshot.name, 'shared');
    r = await api.getPublicSnapshot(req('GET', `/api/public/${pub.token}?format=folded`), pub.token, d);
    assert.equal(r.status, 200);
    assert.equal((await r.text()).trim(), 'app;main;work 5');
    // ...but it opens only that snapshot: the list and the id URL still need a token
    r = await api.listSnapshots(req('GET', '/api/snapshots'), d);
    assert.equal(r.status, 401);
    r = await api.getSnapshot(req('GET', `/api/snapshots/${id}`), id, d);
    assert.equal(r.status, 401);
    // a wrong or made-up link is 404
    r = await api.getPublicSnapshot(req('GET', '/api/public/0000000000000000000000'), '0000000000000000000000', d);
    assert.equal(r.status, 404);
    r = await api.getPublicSnapshot(req('GET', `/api/public/${id}`), id, d);
    assert.equal(r.status, 404, 'the snapshot id is not a public link');
    // private again: the link is dead
    r = await api.setSnapshotPublic(req('DELETE', `/api/snapshots/${id}/public`, undefined, bearer(OP)), id, false, d);
    assert.deepEqual(await body(r), { id, public: false });
    r = await api.getPublicSnapshot(req('GET', `/api/public/${pub.token}`), pub.token, d);
    assert.equal(r.status, 404);
    r = await api.setSnapshotPublic(req('POST', '/api/snapshots/nope123456/public', undefined, bearer(OP)), 'nope123456', true, d);
    assert.equal(r.status, 404);
  });

  test('token checks are constant-time: every comparison goes through tokenEquals (hash, then timingSafeEqual)', async () => {
    const { tokenEquals } = await import('../server/http');
    assert.equal(tokenEquals('abc', 'abc'), true);
    assert.equal(tokenEquals('abc', 'abd'), false);
    assert.equal(tokenEquals('abc', 'abcd'), false);
    assert.equal(tokenEquals('', 'a'), false);
    const src =
      fs.readFileSync(path.join(import.meta.dirname, '../server/http.ts'), 'utf8') +
      fs.readFileSync(path.join(import.meta.dirname, '../server/api.ts'), 'utf8');
    assert.match(src, /timingSafeEqual\(x, y\)/);
    assert.match(src, /createHash\('sha256'\)/);
    // no token is compared with === / !== / startsWith / includes anywhere in the hub's request code
    assert.doesNotMatch(src, /(given|token|tok)\s*[!=]==\s*(policy|op|view|env)/i);
    assert.doesNotMatch(src, /(policy\.token|BPFSCOPE_(WEB|VIEW)_TOKEN)\s*[!=]==/);
  });
});

describe('configuration of the shared store and of a console alone', () => {
  test('BPFSCOPE_COLLECTOR_URL=none: no local collector; BPFSCOPE_DATABASE_URL_FILE: the URL from a file', async () => {
    const { collectorConfigs, databaseUrl } = await import('../server/config');
    assert.deepEqual(
      collectorConfigs({ BPFSCOPE_COLLECTOR_URL: 'none', BPFSCOPE_DATA_DIR: dir }).map((c) => c.id),
      [],
    );
    assert.deepEqual(
      collectorConfigs({ BPFSCOPE_DATA_DIR: dir }).map((c) => c.id),
      ['local'],
    );
    const f = path.join(dir, 'db.url');
    fs.writeFileSync(f, 'postgres://u:p@db:5432/bpfscope\n');
    assert.equal(databaseUrl({ BPFSCOPE_DATABASE_URL_FILE: f }), 'postgres://u:p@db:5432/bpfscope');
    assert.equal(databaseUrl({ BPFSCOPE_DATABASE_URL: '' }), undefined);
    assert.throws(() => databaseUrl({ BPFSCOPE_DATABASE_URL_FILE: path.join(dir, 'missing') }), /BPFSCOPE_DATABASE_URL_FILE .* cannot be read/);
  });
});
