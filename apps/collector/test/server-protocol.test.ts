/**
 * Protocol, auth, limits, relay and slow-client logic of the collector over real sockets, with the
 * test-only FakeEngine standing in for BPF (the real engine is exercised in server-bpf.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { type TestClient, TOKEN, connect, defaultRecords, httpGet, sleep, startFakeServer } from './server-helpers.js';
import { loadConfig } from '../src/server/config.js';
import { mulberry32 } from '@bpfscope/viz';
import { PROTOCOL_VERSION } from '@bpfscope/viz/wire';

type Started = Awaited<ReturnType<typeof startFakeServer>>;

function nonexistentPid(): number {
  for (let p = 3_999_999; ; p--) if (!existsSync(`/proc/${p}`)) return p;
}

describe('collector protocol (fake engine)', () => {
  let s: Started;
  before(async () => {
    s = await startFakeServer({ maxConcurrentCaptures: 2, maxDurationSec: 60, maxFrequency: 500 });
  });
  after(async () => {
    await s.server.shutdown();
  });

  test('GET /healthz reports the host and capture count', async () => {
    const r = await httpGet(`${s.http}/healthz`);
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body);
    assert.equal(h.hostname, 'testhost');
    assert.equal(h.kernel, '6.18.0-test');
    assert.equal(h.btf, true);
    assert.equal(h.privileged, true);
    assert.equal(h.cpus, 2);
    assert.equal(h.activeCaptures, 0);
    assert.ok(Array.isArray(h.tools) && h.tools.includes('profile'));
    assert.match(h.version, /^\d+\.\d+\.\d+/);
    assert.equal((await httpGet(`${s.http}/nope`)).status, 404);
  });

  test('missing token, wrong token and wrong origin are refused before the upgrade', async () => {
    await assert.rejects(connect(s.url, {}), (e: { statusCode?: number }) => e.statusCode === 401);
    await assert.rejects(connect(s.url, { token: 'not-the-token-xxxx' }), (e: { statusCode?: number }) => e.statusCode === 401);
    await assert.rejects(connect(s.url, { token: TOKEN, origin: 'http://evil.example' }), (e: { statusCode?: number }) => e.statusCode === 403);
    // wrong token with a good origin is still 401 (token first)
    await assert.rejects(connect(s.url, { token: 'nope-nope-nope', origin: 'http://localhost:3000' }), (e: { statusCode?: number }) => e.statusCode === 401);
    const ok = await connect(s.url, { token: TOKEN, origin: 'http://localhost:3000' });
    await ok.hello();
    ok.close();
  });

  test('hello is required first; a wrong version is refused with 4400', async () => {
    const c = await connect(s.url);
    c.send({ type: 'ping' });
    const e = await c.next('error');
    assert.equal(e.code, 'no_hello');
    const w = await c.hello();
    assert.equal(w.version, PROTOCOL_VERSION);
    assert.equal(w.limits.maxDurationSec, 60);
    assert.equal(w.limits.maxFrequency, 500);
    c.send({ type: 'ping', id: 'p1' });
    assert.equal((await c.next('pong')).id, 'p1');
    c.close();

    const v = await connect(s.url);
    v.send({ type: 'hello', version: 99 });
    const ve = await v.next('error');
    assert.equal(ve.code, 'bad_version');
    assert.equal(ve.field, 'version');
    assert.match(ve.message, /speaks protocol 1, 2 or 3, not 99/);
    await v.closed;
    assert.equal(v.closeCode, 4400);
  });

  test('each bad input gets an error naming the field and reason, and the connection keeps working', async () => {
    const c = await connect(s.url);
    await c.hello();
    const missingPid = nonexistentPid();
    const cases: Array<[unknown, string, string | undefined, RegExp]> = [
      ['{"type": "start", ', 'bad_json', undefined, /malformed JSON/],
      ['[1,2]', 'bad_message', undefined, /JSON object/],
      ['"hello"', 'bad_message', undefined, /JSON object/],
      [{ notype: 1 }, 'bad_message', 'type', /type/],
      [{ type: 'launch_missiles' }, 'unknown_type', 'type', /unknown message type "launch_missiles"/],
      [{ type: 'start', requestId: 'r1', tool: 'flamethrower', durationSec: 5 }, 'unknown_tool', 'tool', /unknown tool "flamethrower"/],
      [{ type: 'start', requestId: 'r2', tool: 'profile', durationSec: -5 }, 'bad_message', 'durationSec', /durationSec/],
      [{ type: 'start', requestId: 'r3', tool: 'profile', durationSec: 1e12 }, 'bad_message', 'durationSec', /durationSec/],
      [{ type: 'start', requestId: 'r4', tool: 'profile', durationSec: 61 }, 'limit', 'durationSec', /longer than this collector allows \(60 s\)/],
      [{ type: 'start', requestId: 'r5', tool: 'profile', durationSec: 5, options: { frequency: 999 } }, 'limit', 'options.frequency', /999 Hz is above/],
      [{ type: 'start', requestId: 'r6', tool: 'profile', durationSec: 5, options: { pid: 0 } }, 'bad_option', 'options.pid', /options\.pid/],
      [{ type: 'start', requestId: 'r7', tool: 'profile', durationSec: 5, options: { pid: 'abc' } }, 'bad_option', 'options.pid', /options\.pid/],
      [
        { type: 'start', requestId: 'r8', tool: 'profile', durationSec: 5, options: { pid: missingPid } },
        'no_such_pid',
        'options.pid',
        new RegExp(`no process ${missingPid}`),
      ],
      [
        { type: 'start', requestId: 'r9', tool: 'profile', durationSec: 5, options: { pid: [process.pid, missingPid] } },
        'no_such_pid',
        'options.pid.1',
        /no process/,
      ],
      [{ type: 'start', requestId: 'r10', tool: 'profile', durationSec: 5, options: { frequncy: 99 } }, 'bad_option', 'options', /frequncy/],
      [
        { type: 'start', requestId: 'r11', tool: 'biolatency', durationSec: 5, options: { frequency: 99 } },
        'bad_option',
        'options.frequency',
        /does not apply to biolatency/,
      ],
      [
        { type: 'start', requestId: 'r12', tool: 'profile', durationSec: 5, options: { intervalSec: 0.01 } },
        'bad_option',
        'options.intervalSec',
        /intervalSec/,
      ],
      [
        { type: 'start', requestId: 'r13', tool: 'profile', durationSec: 5, options: { userStacksOnly: true, kernelStacksOnly: true } },
        'bad_option',
        'options.kernelStacksOnly',
        /mutually exclusive/,
      ],
      [{ type: 'stop', captureId: 'c_nope' }, 'no_such_capture', 'captureId', /no running capture/],
      [{ type: 'subscribe', captureId: 'c_nope' }, 'no_such_capture', 'captureId', /no running capture/],
      [{ type: 'stop' }, 'bad_message', 'captureId', /captureId/],
    ];
    for (const [msg, code, field, re] of cases) {
      c.send(msg);
      const e = await c.next('error');
      assert.equal(e.code, code, `code for ${JSON.stringify(msg)}: ${e.message}`);
      assert.equal(e.field, field, `field for ${JSON.stringify(msg)}: ${e.message}`);
      assert.match(e.message, re, `message for ${JSON.stringify(msg)}`);
      if (typeof msg === 'object' && msg && 'requestId' in msg) assert.equal(e.requestId, (msg as { requestId: string }).requestId);
    }
    // nothing started, connection still fine
    c.send({ type: 'ping', id: 'still' });
    assert.equal((await c.next('pong')).id, 'still');
    assert.equal(s.server.captures.size, 0);
    assert.deepEqual(c.invalid, []);
    c.close();
  });

  test('profile capture: deltas intern stacks (never resent), carry timeline/progress/loss; end has totals', async () => {
    const c = await connect(s.url);
    await c.hello();
    // 2.1 s at 0.25 s intervals: 8 ticks and a final one, so a few late timers on a busy machine
    // still leave the 4 deltas checked below
    c.send({ type: 'start', requestId: 'p', tool: 'profile', durationSec: 2.1, options: { frequency: 99, intervalSec: 0.25 } });
    const st = await c.next('started');
    assert.equal(st.requestId, 'p');
    assert.equal(st.intervalMs, 250);
    assert.equal(st.host, 'testhost');
    const end = await c.next('end', () => true, 5000);
    const deltas = c.messages.filter((m) => m.type === 'delta') as Array<Extract<(typeof c.messages)[number], { type: 'delta' }>>;
    assert.ok(deltas.length >= 4, `expected >= 4 deltas, got ${deltas.length}`);
    assert.equal(end.reason, 'completed');
    // seq increases by one
    deltas.forEach((d, i) => assert.equal(d.seq, i + 1));
    // each stack defined exactly once across all deltas
    const defined = deltas.flatMap((d) => (d.stacks ?? []).map((x) => x[0]));
    assert.equal(new Set(defined).size, defined.length);
    assert.equal(defined.length, 2);
    assert.ok(deltas[0]!.stacks?.length === 2 && deltas[1]!.stacks === undefined, 'second delta must not resend stacks');
    // merged result
    const frames = new Map<number, string>();
    for (const d of deltas) for (const [id, name] of d.frames ?? []) frames.set(id, name);
    const stacks = new Map<number, number[]>();
    for (const d of deltas) for (const [id, f] of d.stacks ?? []) stacks.set(id, f);
    const folded = new Map<string, number>();
    for (const d of deltas)
      for (const [id, w] of d.counts ?? []) {
        const key = stacks
          .get(id)!
          .map((f) => frames.get(f))
          .join(';');
        folded.set(key, (folded.get(key) ?? 0) + w);
      }
    assert.equal(folded.get('busy;main;spin_hot'), 3 * deltas.length);
    assert.equal(folded.get('busy;main;spin_cold;asm_sysvec_apic_timer_interrupt'), 1 * deltas.length);
    assert.equal(end.total, 4 * deltas.length);
    assert.equal(end.samples, 4 * deltas.length);
    assert.equal(end.unit, 'samples');
    assert.equal(end.meta.tool, 'profile');
    assert.equal(end.meta.host, 'testhost');
    assert.deepEqual(end.meta.options, { frequency: 99, intervalSec: 0.25 });
    assert.equal(end.loss?.kernelStackMissing, deltas.length);
    // timeline entries refer to defined stacks
    for (const d of deltas) {
      assert.equal(d.timelineResolutionMs, 10);
      for (const [off, sid, n] of d.timeline ?? []) {
        assert.ok(off >= 0 && stacks.has(sid) && n > 0);
      }
      assert.ok(typeof d.intervalEnd === 'number' && Math.abs(d.intervalEnd - Date.now()) < 10000);
    }
    const last = deltas[deltas.length - 1]!;
    assert.equal(last.progress.samples, end.samples);
    assert.ok(s.engine.sources.at(-1)!.closed, 'programs detached at the end');
    assert.equal(s.server.captures.size, 0);
    assert.deepEqual(c.invalid, []);
    c.close();
  });

  test('a late subscriber gets one full delta with everything so far, then live deltas; several clients watch one capture', async () => {
    const a = await connect(s.url);
    await a.hello();
    a.send({ type: 'start', requestId: 'x', tool: 'offcputime', durationSec: 30, options: { intervalSec: 0.25 } });
    const st = await a.next('started');
    await a.next('delta', (d) => d.seq === 3);
    const b = await connect(s.url);
    await b.hello();
    b.send({ type: 'captures', requestId: 'l' });
    const list = await b.next('captures');
    assert.ok(list.captures.some((x) => x.captureId === st.captureId && x.tool === 'offcputime' && x.subscribers === 1));
    b.send({ type: 'subscribe', captureId: st.captureId });
    const full = await b.next('delta');
    assert.equal(full.full, true);
    assert.ok(full.seq >= 3);
    assert.equal(full.stacks?.length, 2);
    const cum = new Map(full.counts);
    assert.equal(cum.get(full.stacks![0]![0]), 3 * full.seq);
    const nextB = await b.next('delta');
    assert.equal(nextB.seq, full.seq + 1);
    assert.equal(nextB.full, undefined);
    assert.equal(nextB.stacks, undefined, 'definitions already sent in the full delta');
    const nextA = await a.next('delta', (d) => d.seq === nextB.seq);
    assert.deepEqual(nextA.counts, nextB.counts);
    // the starter leaves: capture continues for b
    a.close();
    await a.closed;
    // once the server has seen a leave (b is the only subscriber), the capture is still running
    const t0 = Date.now();
    while (s.server.captures.get(st.captureId)!.subscribers.size > 1 && Date.now() - t0 < 10000) await sleep(20);
    assert.equal(s.server.captures.get(st.captureId)!.subscribers.size, 1);
    assert.equal(s.server.captures.size, 1);
    b.send({ type: 'stop', captureId: st.captureId });
    const end = await b.next('end');
    assert.equal(end.reason, 'stopped');
    assert.equal(end.unit, 'microseconds');
    assert.equal(s.server.captures.size, 0);
    b.close();
  });

  test('cancel ends without a final delta; concurrent capture limit', async () => {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'a', tool: 'profile', durationSec: 30 });
    c.send({ type: 'start', requestId: 'b', tool: 'biolatency', durationSec: 30, options: { milliseconds: true } });
    c.send({ type: 'start', requestId: 'c', tool: 'wakeuptime', durationSec: 30 });
    const a = await c.next('started', (m) => m.requestId === 'a');
    const b = await c.next('started', (m) => m.requestId === 'b');
    const e = await c.next('error', (m) => m.requestId === 'c');
    assert.equal(e.code, 'limit');
    assert.match(e.message, /too many captures: 2 running, limit 2/);
    const h = await c.next('delta', (d) => d.captureId === b.captureId);
    assert.equal(h.histograms?.length, 1);
    assert.deepEqual(h.histograms![0]!.slots, [0, 0, 1, 4, 2]);
    assert.equal(h.histUnit, 'usecs');
    assert.ok(h.histograms![0]!.end >= h.histograms![0]!.start);
    c.send({ type: 'cancel', captureId: a.captureId });
    const endA = await c.next('end', (m) => m.captureId === a.captureId);
    assert.equal(endA.reason, 'cancelled');
    c.send({ type: 'stop', captureId: b.captureId });
    const endB = await c.next('end', (m) => m.captureId === b.captureId);
    assert.equal(endB.reason, 'stopped');
    assert.equal(endB.unit, 'count');
    assert.ok(endB.total >= 7);
    c.close();
  });

  test('disconnect stops the capture and detaches its programs (unless someone else watches)', async () => {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'd', tool: 'profile', durationSec: 30 });
    const st = await c.next('started');
    const src = s.engine.sources.at(-1)!;
    assert.equal(src.closed, false);
    c.ws.terminate();
    // poll (no timed assertion: how fast belongs in bench/)
    const t0 = Date.now();
    while (!src.closed && Date.now() - t0 < 10000) await sleep(10);
    assert.ok(src.closed, 'source closed after the disconnect');
    assert.equal(s.server.captures.has(st.captureId), false);
  });

  test('unsubscribe of the last watcher stops the capture', async () => {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'u', tool: 'profile', durationSec: 30 });
    const st = await c.next('started');
    c.send({ type: 'unsubscribe', captureId: st.captureId });
    const t0 = Date.now();
    while (s.server.captures.has(st.captureId) && Date.now() - t0 < 10000) await sleep(10);
    assert.equal(s.server.captures.has(st.captureId), false);
    assert.ok(s.engine.sources.at(-1)!.closed);
    c.close();
  });

  test('messages over the size limit close the connection (1009); the server keeps serving', async () => {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'ping', id: 'x'.repeat((1 << 20) + 10) });
    await c.closed;
    assert.equal(c.closeCode, 1009);
    const d = await connect(s.url);
    await d.hello();
    d.close();
  });

  test('processes list for a PID picker includes this process', async () => {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'processes', requestId: 'ps' });
    const p = await c.next('processes');
    const me = p.processes.find((x) => x.pid === process.pid);
    assert.ok(me, 'own pid listed');
    assert.match(me.cmdline, /node/);
    c.close();
  });
});

describe('collector limits (fake engine)', () => {
  test('rate limit: a flood gets rate_limited errors, then repeated abuse closes with 4429', async () => {
    const s = await startFakeServer({ rateLimitPerSec: 20, rateBurst: 10 });
    try {
      const c = await connect(s.url);
      await c.hello();
      for (let i = 0; i < 40; i++) c.send({ type: 'ping', id: String(i) });
      const e = await c.next('error');
      assert.equal(e.code, 'rate_limited');
      const pongs = () => c.messages.filter((m) => m.type === 'pong').length;
      await sleep(200);
      assert.ok(pongs() <= 12, `at most the burst is answered, got ${pongs()}`);
      for (let i = 0; i < 200; i++) c.send({ type: 'ping' });
      await c.closed;
      assert.equal(c.closeCode, 4429);
      const d = await connect(s.url);
      await d.hello();
      d.close();
    } finally {
      await s.server.shutdown();
    }
  });

  test('unique stack limit: new stacks go to "[other stacks]" with a notice', async () => {
    let n = 0;
    const s = await startFakeServer(
      { maxUniqueStacks: 5 },
      {
        records: () =>
          Array.from({ length: 4 }, () => ({ pid: 1, tid: 1, comm: 'gen', user: [{ name: `fn_${n++}`, kind: 'user' as const }], kernel: [], value: 2 })),
      },
    );
    try {
      const c = await connect(s.url);
      await c.hello();
      c.send({ type: 'start', requestId: 's', tool: 'profile', durationSec: 1 });
      const notice = await c.next('notice');
      assert.equal(notice.code, 'stack_limit');
      const end = await c.next('end', () => true, 5000);
      const deltas = c.messages.filter((m) => m.type === 'delta') as Array<Extract<(typeof c.messages)[number], { type: 'delta' }>>;
      const stacks = deltas.flatMap((d) => d.stacks ?? []);
      assert.equal(stacks.length, 6, '5 real stacks + the catch-all');
      const frameDefs = deltas.flatMap((d) => d.frames ?? []);
      assert.equal(frameDefs.length, 5 + 1 + 1, 'past the limit no new frames are sent (5 fn_ frames, comm, [other stacks])');
      const frames = new Map(deltas.flatMap((d) => (d.frames ?? []).map((f) => [f[0], f[1]] as const)));
      const other = stacks.find(([, f]) => frames.get(f[0]!) === '[other stacks]');
      assert.ok(other);
      const otherWeight = deltas
        .flatMap((d) => d.counts ?? [])
        .filter(([id]) => id === other[0])
        .reduce((a, [, w]) => a + w, 0);
      assert.equal(end.total, end.samples);
      assert.equal(otherWeight, end.total - 10);
      assert.equal(end.loss?.otherStacks, otherWeight);
      c.close();
    } finally {
      await s.server.shutdown();
    }
  });

  test('slow client: deltas are coalesced while it lags (nothing lost), then a stuck client is closed with 4408', async () => {
    // every drain brings 3000 new ~250-byte frame names: each delta is ~1 MB, so an unread socket fills fast
    let d = 0;
    const s = await startFakeServer(
      { coalesceBufferBytes: 64 << 10, maxClientBufferBytes: 16 << 20, maxClientLagSec: 8 },
      {
        records: () => {
          d++;
          return Array.from({ length: 3000 }, (_, i) => ({
            pid: 1,
            tid: 1,
            comm: 'big',
            user: [{ name: `function_${d}_${i}_${'x'.repeat(240)}`, kind: 'user' as const }],
            kernel: [],
            value: 1,
          }));
        },
      },
    );
    type D = Extract<(typeof TestClient.prototype.messages)[number], { type: 'delta' }>;
    const pauseSock = (c: TestClient, on: boolean) => {
      const sock = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      if (on) sock.pause();
      else sock.resume();
    };
    try {
      const fast = await connect(s.url);
      await fast.hello();
      fast.send({ type: 'start', requestId: 'f', tool: 'profile', durationSec: 60 });
      const st = await fast.next('started');
      const lagging = await connect(s.url, { token: TOKEN, validate: false }); // 1 MB messages: skip zod to keep up
      await lagging.hello();
      // the stuck client never parses what it gets (so draining its socket at the end is cheap)
      const stuck = await connect(s.url, { token: TOKEN, raw: true });
      stuck.send({ type: 'hello', version: 1 });
      lagging.send({ type: 'subscribe', captureId: st.captureId });
      stuck.send({ type: 'subscribe', captureId: st.captureId });
      await lagging.next('delta', (m) => m.full === true);
      while (s.server.captures.get(st.captureId)!.subscribers.size < 3) await sleep(20);
      pauseSock(lagging, true);
      pauseSock(stuck, true);
      // wait until the server holds deltas back for both (their socket buffers are full)
      const tc = Date.now();
      while (s.server.clientStats().filter((x) => x.coalescing > 0).length < 2 && Date.now() - tc < 15000) await sleep(50);
      assert.equal(s.server.clientStats().filter((x) => x.coalescing > 0).length, 2, 'both paused clients are coalescing');
      pauseSock(lagging, false); // catches up before the lag limit
      const t0 = Date.now();
      while (s.server.captures.get(st.captureId)!.subscribers.size > 2 && Date.now() - t0 < 20000) await sleep(100);
      assert.equal(s.server.captures.get(st.captureId)!.subscribers.size, 2, 'the stuck client was dropped');
      pauseSock(stuck, false);
      await stuck.closed;
      assert.equal(stuck.closeCode, 4408);
      assert.match(stuck.closeReason, /too slow/);
      // the lagging client got coalesced deltas and, summed, exactly what the fast client got
      const seq = (await lagging.next('delta', (m) => m.intervals === undefined && m.seq > 0, 10000)).seq;
      await fast.next('delta', (m) => m.seq === seq, 10000);
      const lag = lagging.messages.filter((m): m is D => m.type === 'delta');
      assert.ok(
        lag.some((m) => (m.intervals ?? 1) > 1),
        'at least one coalesced delta (intervals > 1)',
      );
      const sum = (ms: D[], upTo: number) =>
        ms.filter((m) => m.seq <= upTo && !m.full).reduce((a, m) => a + (m.counts ?? []).reduce((x, [, w]) => x + w, 0), 0);
      const firstLag = Math.min(...lag.map((m) => m.seq - (m.intervals ?? 1)));
      const fastAll = fast.messages.filter((m): m is D => m.type === 'delta' && m.seq > firstLag);
      assert.equal(sum(lag, seq - 1), sum(fastAll, seq - 1), 'no weight lost by coalescing');
      fast.close();
      lagging.close();
    } finally {
      await s.server.shutdown();
    }
  });

  test('engine failures: open error → error "bpf"; no privileges → error "privileges"; drain failure → end "failed"', async () => {
    const a = await startFakeServer({}, { failOpen: 'bpf_object__load: Operation not permitted (EPERM)' });
    const b = await startFakeServer({}, { privileged: false });
    const c = await startFakeServer(
      {},
      {
        records: (n) => {
          if (n >= 2) throw new Error('map read failed: EFAULT');
          return defaultRecords();
        },
      },
    );
    try {
      const ca = await connect(a.url);
      await ca.hello();
      ca.send({ type: 'start', requestId: 'a', tool: 'profile', durationSec: 5 });
      const ea = await ca.next('error');
      assert.equal(ea.code, 'bpf');
      assert.match(ea.message, /cannot start profile: bpf_object__load: Operation not permitted/);
      assert.equal(a.server.captures.size, 0);
      const cb = await connect(b.url);
      await cb.hello();
      cb.send({ type: 'start', requestId: 'b', tool: 'offcputime', durationSec: 5 });
      assert.equal((await cb.next('error')).code, 'privileges');
      const cc = await connect(c.url);
      await cc.hello();
      cc.send({ type: 'start', requestId: 'c', tool: 'profile', durationSec: 5 });
      const end = await cc.next('end');
      assert.equal(end.reason, 'failed');
      assert.match(end.error ?? '', /drain failed: map read failed: EFAULT/);
      assert.ok(c.engine.sources[0]!.closed, 'a failed capture is detached');
      cc.send({ type: 'ping', id: 'alive' });
      assert.equal((await cc.next('pong')).id, 'alive');
      for (const x of [ca, cb, cc]) x.close();
    } finally {
      await Promise.all([a.server.shutdown(), b.server.shutdown(), c.server.shutdown()]);
    }
  });

  test('config: non-loopback without a token is refused; bad values are named', () => {
    assert.throws(() => loadConfig(['--host', '0.0.0.0'], {}), /refusing to listen on non-loopback address 0\.0\.0\.0 without a token/);
    assert.doesNotThrow(() => loadConfig(['--host', '0.0.0.0'], { BPFSCOPE_TOKEN: 'abcdefgh12345' }));
    assert.throws(() => loadConfig(['--port', 'x'], {}), /--port: expected an integer/);
    assert.throws(() => loadConfig([], { BPFSCOPE_COLLECTOR_PORT: '70000' }), /BPFSCOPE_COLLECTOR_PORT: port must be 0-65535/);
    assert.throws(() => loadConfig([], { BPFSCOPE_TOKEN_FILE: '/nonexistent/tok' }), /BPFSCOPE_TOKEN_FILE: cannot read token file/);
    assert.throws(() => loadConfig([], { BPFSCOPE_ALLOWED_ORIGINS: 'localhost:3000' }), /is not an origin/);
    assert.throws(() => loadConfig(['--bogus'], {}), /unknown argument "--bogus"/);
    const c = loadConfig(['--max-captures=7'], { BPFSCOPE_MAX_DURATION: '30', BPFSCOPE_COLLECTOR_PORT: '9801' });
    assert.equal(c.limits.maxConcurrentCaptures, 7);
    assert.equal(c.limits.maxDurationSec, 30);
    assert.equal(c.port, 9801);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(loadConfig([], {}).port, 9700);
  });
});

describe('fuzz', () => {
  test('random and truncated messages never crash the server; a good client is served afterwards', async () => {
    const s = await startFakeServer({ rateLimitPerSec: 100000, rateBurst: 100000, maxConcurrentCaptures: 4 });
    try {
      // seeded PRNG so failures reproduce
      const rnd = mulberry32(0x5eed1234);
      const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
      const values = () =>
        pick<unknown>([null, true, -1, 0, 1e308, -1e-9, 'x', '', '\u0000\ud800', [], {}, [1, 'a'], { a: { b: 1 } }, 2 ** 53, NaN, 'profile', 'c_0']);
      const good = [
        { type: 'start', requestId: 'r', tool: 'profile', durationSec: 0.5, options: { frequency: 49 } },
        { type: 'hello', version: 1 },
        { type: 'ping' },
        { type: 'subscribe', captureId: 'c_x' },
        { type: 'processes', requestId: 'p' },
        { type: 'start', requestId: 'r', tool: 'biolatency', durationSec: 0.3, options: { perDisk: true } },
      ];
      const keys = ['type', 'requestId', 'tool', 'durationSec', 'options', 'captureId', 'version', 'pid', '__proto__', 'constructor'];
      const clients: TestClient[] = [];
      for (let k = 0; k < 4; k++) {
        const c = await connect(s.url);
        if (k % 2 === 0) await c.hello();
        clients.push(c);
      }
      const t0 = Date.now();
      let sent = 0;
      for (let i = 0; i < 3000 && Date.now() - t0 < 8000; i++) {
        const c = clients[i % clients.length]!;
        if (c.ws.readyState !== WebSocket.OPEN) continue;
        let text: string;
        const mode = rnd();
        if (mode < 0.3) {
          const base = JSON.stringify(pick(good));
          text = base.slice(0, Math.floor(rnd() * base.length)); // truncated
        } else if (mode < 0.6) {
          const o: Record<string, unknown> = { ...(pick(good) as Record<string, unknown>) };
          for (let j = 0; j < 1 + rnd() * 3; j++) o[pick(keys)] = rnd() < 0.5 ? values() : { [pick(keys)]: values(), pid: values(), frequency: values() };
          text = JSON.stringify(o);
        } else if (mode < 0.8) {
          const n = Math.floor(rnd() * 64);
          text = Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
        } else {
          const base = Buffer.from(JSON.stringify(pick(good)));
          for (let j = 0; j < 3; j++) base[Math.floor(rnd() * base.length)] = Math.floor(rnd() * 256);
          text = base.toString('latin1');
        }
        if (rnd() < 0.05) c.ws.send(Buffer.from(text), { binary: true });
        else c.send(text);
        sent++;
        if (i % 200 === 0) await sleep(5);
      }
      assert.ok(sent > 500, `sent ${sent}`);
      await sleep(300);
      for (const c of clients) assert.deepEqual(c.invalid, [], 'every server message valid against the schema');
      const errors = clients.flatMap((c) => c.messages).filter((m) => m.type === 'error');
      assert.ok(errors.length > 100);
      assert.ok(!errors.some((e) => e.type === 'error' && e.code === 'internal'), 'no internal errors');
      for (const c of clients) c.ws.terminate();
      // a good client still gets a full capture
      const g = await connect(s.url);
      await g.hello();
      const t1 = Date.now();
      while (s.server.captures.size > 0 && Date.now() - t1 < 3000) await sleep(20);
      assert.equal(s.server.captures.size, 0, "the fuzzers' captures ended with their connections");
      g.send({ type: 'start', requestId: 'ok', tool: 'profile', durationSec: 0.6 });
      await g.next('started');
      const end = await g.next('end', () => true, 5000);
      assert.equal(end.reason, 'completed');
      assert.ok(end.total > 0);
      assert.ok(
        s.engine.sources.every((x) => x.closed),
        'every source detached',
      );
      g.close();
    } finally {
      await s.server.shutdown();
    }
  });
});

describe('protocol versions: the unwind option and its loss counters (v2) next to v1 clients', () => {
  let s: Awaited<ReturnType<typeof startFakeServer>>;
  before(async () => {
    s = await startFakeServer({}, { loss: { unwindNoTable: 2, unwindReadFault: 1 } });
  });
  after(async () => {
    await s.server.shutdown();
  });

  test('a v2 client sets unwind and gets the unwind loss counters', async () => {
    const c = await connect(s.url);
    assert.equal((await c.hello(2)).version, 2);
    c.send({ type: 'start', requestId: 'u', tool: 'offcputime', durationSec: 0.6, options: { unwind: 'cfi', intervalSec: 0.25 } });
    await c.next('started');
    assert.equal((s.engine.sources.at(-1)!.options as { unwind?: string }).unwind, 'cfi');
    const d = await c.next('delta');
    assert.equal(d.loss?.unwindNoTable, 2);
    assert.equal(d.loss?.unwindReadFault, 1);
    const end = await c.next('end');
    assert.ok((end.loss?.unwindNoTable ?? 0) >= 2);
    c.send({ type: 'start', requestId: 'bad', tool: 'profile', durationSec: 1, options: { unwind: 'dwarf' } });
    const e = await c.next('error');
    assert.equal(e.code, 'bad_option');
    assert.equal(e.field, 'options.unwind');
    c.send({ type: 'start', requestId: 'bio', tool: 'biolatency', durationSec: 1, options: { unwind: 'fp' } });
    assert.match((await c.next('error')).message, /options\.unwind: does not apply to biolatency/);
    assert.deepEqual(c.invalid, []);
    c.close();
  });

  test('a v1 client (no unwind option: the engine default, auto) gets only the loss counters v1 knows', async () => {
    const c = await connect(s.url, { token: TOKEN, validate: false });
    assert.equal((await c.hello(1)).version, 1);
    c.send({ type: 'start', requestId: 'v1', tool: 'profile', durationSec: 0.6, options: { intervalSec: 0.25 } });
    await c.next('started');
    assert.equal((s.engine.sources.at(-1)!.options as { unwind?: string }).unwind, undefined);
    const d = await c.next('delta');
    const end = await c.next('end');
    for (const m of [d, end]) {
      assert.ok(m.loss, 'loss still sent');
      assert.equal(m.loss!.kernelStackMissing !== undefined, true);
      for (const k of ['unwindNoTable', 'unwindReadFault', 'unwindUnsupported', 'timelineDropped']) assert.ok(!(k in m.loss!), `${k} not sent to a v1 client`);
    }
    c.close();
  });
});

describe('protocol v3: source lines', () => {
  let s: Awaited<ReturnType<typeof startFakeServer>>;
  const at = (name: string, file?: string, line?: number) => ({ name, kind: 'user' as const, ...(file ? { file, line } : {}) });
  before(async () => {
    s = await startFakeServer(
      {},
      {
        records: () => [
          { pid: 10, tid: 10, comm: 'busy', user: [at('main', 'm.c', 3), at('hot', 'h.c', 10)], kernel: [], value: 3 },
          { pid: 10, tid: 10, comm: 'busy', user: [at('main', 'm.c', 3), at('hot', 'h.c', 11)], kernel: [], value: 1 },
          { pid: 10, tid: 10, comm: 'busy', user: [at('main'), at('hot')], kernel: [], value: 2 },
        ],
      },
    );
  });
  after(async () => {
    await s.server.shutdown();
  });

  test('a v3 client gets lines per stack (frames stay functions); a v2 client the same stacks without lines; a late subscriber gets them in its full delta', async () => {
    const c = await connect(s.url);
    const old = await connect(s.url, { token: TOKEN, validate: false });
    assert.equal((await c.hello()).version, 3);
    assert.equal((await old.hello(2)).version, 2);
    c.send({ type: 'start', requestId: 'l', tool: 'profile', durationSec: 0.8, options: { intervalSec: 0.25 } });
    const st = await c.next('started');
    old.send({ type: 'subscribe', captureId: st.captureId });
    const d = await c.next('delta', (m) => !!m.stacks?.length);
    assert.deepEqual(
      d.frames?.map((f) => f[1]),
      ['busy', 'main', 'hot'],
      'one frame per function, whatever its lines',
    );
    assert.equal(d.stacks?.length, 3, 'three stacks: two line combinations and one without lines');
    assert.deepEqual(d.lines?.map(([, f, l]) => `${f}:${l}`).sort(), ['h.c:10', 'h.c:11', 'm.c:3']);
    assert.equal(d.stackLines?.length, 2, 'only stacks with lines have stack lines');
    for (const [, ls] of d.stackLines ?? []) assert.equal(ls.length, 3, 'aligned to the stack: comm, main, hot');
    const late = await connect(s.url);
    await late.hello();
    late.send({ type: 'subscribe', captureId: st.captureId });
    const full = await late.next('delta', (m) => !!m.full);
    assert.equal(full.lines?.length, 3);
    assert.equal(full.stackLines?.length, 2);
    await c.next('end');
    const od = old.messages.filter((m) => m.type === 'delta') as Array<Record<string, unknown>>;
    assert.ok(od.length > 0);
    for (const m of od) assert.ok(!('lines' in m) && !('stackLines' in m), 'no lines for a v2 client');
    assert.ok(
      od.some((m) => Array.isArray(m.stacks) && m.stacks.length === 3),
      'the v2 client gets the same stacks',
    );
    assert.deepEqual(c.invalid, []);
    for (const x of [c, old, late]) x.close();
  });
});

test('protocol v3: past the stack limit, stacks known with their lines keep counting, new ones go to [other stacks]', async () => {
  const at = (name: string, file?: string, line?: number) => ({ name, kind: 'user' as const, ...(file ? { file, line } : {}) });
  const s = await startFakeServer(
    { maxUniqueStacks: 2 },
    {
      records: () => [
        { pid: 10, tid: 10, comm: 'busy', user: [at('main', 'm.c', 3), at('hot', 'h.c', 10)], kernel: [], value: 3 },
        { pid: 10, tid: 10, comm: 'busy', user: [at('main', 'm.c', 3), at('hot', 'h.c', 11)], kernel: [], value: 1 },
        { pid: 10, tid: 10, comm: 'busy', user: [at('main', 'm.c', 3), at('hot', 'h.c', 12)], kernel: [], value: 2 },
      ],
    },
  );
  try {
    const c = await connect(s.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'l', tool: 'profile', durationSec: 0.8, options: { intervalSec: 0.25 } });
    await c.next('started');
    const end = await c.next('end');
    const deltas = c.messages.filter((m) => m.type === 'delta') as Array<Extract<(typeof c.messages)[number], { type: 'delta' }>>;
    const counts = new Map<number, number>();
    for (const d of deltas) for (const [id, w] of d.counts ?? []) counts.set(id, (counts.get(id) ?? 0) + w);
    const drains = deltas.filter((d) => d.counts?.length).length;
    assert.ok(drains >= 2, `several intervals (${drains})`);
    assert.equal(counts.get(0), 3 * drains, 'h.c:10 counted every interval');
    assert.equal(counts.get(1), 1 * drains, 'h.c:11 counted every interval');
    assert.equal(end.loss?.otherStacks, 2 * drains, 'h.c:12 (a third line) is past the limit');
    c.close();
  } finally {
    await s.server.shutdown();
  }
});
