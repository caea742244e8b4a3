/**
 * The real service (`bpfscope serve` as a child process, real BPF engine, real kernel) driven by a
 * real ws client: profile / offcputime / biolatency captures of workloads built here with gcc,
 * detach on disconnect, kill -9 cleanup (program ids checked with bpftool), SIGTERM tells clients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaAccumulator, type ServerMessage } from '@bpfscope/viz/wire';
import { functionLines } from '@bpfscope/viz';
import { TOKEN, connect, httpGet, sleep, startService, type ServiceProcess, type TestClient } from './server-helpers.js';

const ROOT_SKIP = process.geteuid?.() === 0 ? false : 'needs root to load BPF programs (run the suite as root)';

const WORKLOAD = `
#include <stdlib.h>
#include <string.h>
#include <time.h>
volatile unsigned long bpfscope_sink;
void bpfscope_spin_inner(void) { for (unsigned long i = 0; i < 200000; i++) bpfscope_sink += i * 7; }
void bpfscope_spin_outer(void) { for (;;) bpfscope_spin_inner(); }
void bpfscope_do_sleep(void) { struct timespec ts = { 0, 20 * 1000000L }; nanosleep(&ts, 0); }
void bpfscope_blocker(void) { for (;;) bpfscope_do_sleep(); }
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "sleep") == 0) bpfscope_blocker();
  bpfscope_spin_outer();
  return 0;
}
`;

/** -O2 -g: one function with two hot loops on their own lines, the first ~2-3× the work of the second. */
const LINES_WORKLOAD = `volatile unsigned long sink;
__attribute__((noipa)) unsigned long lines_hot(unsigned long x) {
  for (int i = 0; i < 3000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL; /* HOT_A */
  for (int i = 0; i < 1000; i++) x ^= (x >> 3) * 2654435761UL; /* HOT_B */
  return x;
}
int main(void) { for (;;) sink += lines_hot(sink); }
`;
const linesLineOf = (marker: string) => LINES_WORKLOAD.split('\n').findIndex((l) => l.includes(marker)) + 1;

type Delta = Extract<ServerMessage, { type: 'delta' }>;

/** Merge deltas into folded lines "a;b;c" → weight. */
function merge(deltas: Delta[]): Map<string, number> {
  const frames = new Map<number, string>();
  const stacks = new Map<number, number[]>();
  const out = new Map<string, number>();
  for (const d of deltas) {
    for (const [id, name] of d.frames ?? []) frames.set(id, name);
    for (const [id, f] of d.stacks ?? []) stacks.set(id, f);
    for (const [id, w] of d.counts ?? []) {
      const f = stacks.get(id);
      assert.ok(f, `stack ${id} used before it was defined (seq ${d.seq})`);
      const key = f.map((x) => frames.get(x)).join(';');
      out.set(key, (out.get(key) ?? 0) + w);
    }
  }
  return out;
}

function deltasOf(c: TestClient, captureId: string): Delta[] {
  return c.messages.filter((m): m is Delta => m.type === 'delta' && m.captureId === captureId);
}

/** BPF program ids held open by a process (from /proc/PID/fdinfo: prog fds and link fds). */
function progIdsOf(pid: number): Set<number> {
  const ids = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return ids;
  }
  for (const fd of fds) {
    try {
      const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return ids;
}

function loadedProgIds(): Set<number> {
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' });
  return new Set((JSON.parse(out) as Array<{ id: number }>).map((p) => p.id));
}

async function waitGone(ids: Set<number>, ms: number): Promise<number[]> {
  const t0 = Date.now();
  for (;;) {
    const live = loadedProgIds();
    const left = [...ids].filter((id) => live.has(id));
    if (left.length === 0 || Date.now() - t0 > ms) return left;
    await sleep(50);
  }
}

describe('collector service with the real BPF engine', { skip: ROOT_SKIP }, () => {
  let svc: ServiceProcess;
  let dir: string;
  let bin: string;
  const kids: ChildProcess[] = [];
  const spawnWorkload = (mode: 'spin' | 'sleep') => {
    const c = spawn(bin, mode === 'sleep' ? ['sleep'] : [], { stdio: 'ignore' });
    kids.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bpfscope-srv-'));
    writeFileSync(join(dir, 'w.c'), WORKLOAD);
    bin = join(dir, 'bpfscope_work');
    execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', bin, join(dir, 'w.c')]);
    svc = await startService(['--allowed-origins', 'http://localhost:3000']);
  });
  after(async () => {
    for (const k of kids) k.kill('SIGKILL');
    await svc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("profile of an -O2 -g workload: deltas carry source lines; its function's hottest lines are its hot loops", { timeout: 60000 }, async (t) => {
    writeFileSync(join(dir, 'lines_work.c'), LINES_WORKLOAD);
    const lbin = join(dir, 'lines_work');
    execFileSync('gcc', ['-O2', '-g', '-fno-omit-frame-pointer', '-o', lbin, join(dir, 'lines_work.c')]);
    const w = spawn(lbin, [], { stdio: 'ignore' });
    kids.push(w);
    const c = await connect(svc.url);
    await c.hello();
    // 997 Hz (prime): no lock-step with the workload's loop; the CPU is shared, so no absolute counts
    c.send({ type: 'start', requestId: 'l', tool: 'profile', durationSec: 3, options: { pid: w.pid!, frequency: 997, intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    const end = await c.next('end', () => true, 20000);
    const deltas = deltasOf(c, st.captureId);
    assert.ok(
      deltas.some((d) => d.lines?.length && d.stackLines?.length),
      'protocol 3 deltas define lines and stack lines',
    );
    const acc = new DeltaAccumulator('profile');
    for (const d of deltas) acc.apply(d);
    acc.finish(end);
    const p = acc.toProfile();
    const fn = p.frames.findIndex((f) => f.name === 'lines_hot');
    assert.ok(
      fn >= 0,
      `lines_hot sampled; frames: ${p.frames
        .map((f) => f.name)
        .slice(0, 20)
        .join(', ')}`,
    );
    const fl = functionLines(p, [fn]);
    t.diagnostic(`lines_hot: ${fl.total} samples, unknown ${fl.unknown}, lines ${JSON.stringify(fl.rows.slice(0, 5))}`);
    assert.ok(fl.total > 50, `samples in lines_hot: ${fl.total}`);
    const a = linesLineOf('HOT_A');
    const b = linesLineOf('HOT_B');
    assert.ok(
      fl.rows.every((r) => r.file.endsWith('lines_work.c')),
      'lines are in the workload source',
    );
    assert.equal(fl.rows[0]?.line, a, `the hottest line is the long loop (line ${a}): ${JSON.stringify(fl.rows)}`);
    assert.ok(
      fl.rows.some((r) => r.line === b),
      `the short loop (line ${b}) is listed: ${JSON.stringify(fl.rows)}`,
    );
    const inLoops = fl.rows.filter((r) => r.line === a || r.line === b).reduce((x, r) => x + r.weight, 0);
    assert.ok(inLoops >= fl.total * 0.8, `nearly all of lines_hot's samples are on its loop lines (${inLoops} of ${fl.total})`);
    w.kill('SIGKILL');
    c.close();
  });

  test('healthz reports privileges, BTF and the tools', async () => {
    const r = await httpGet(`http://127.0.0.1:${svc.port}/healthz`);
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body);
    assert.equal(h.privileged, true);
    assert.equal(h.btf, true);
    assert.deepEqual([...h.tools].sort(), [
      'biolatency',
      'funccount',
      'funclatency',
      'offcputime',
      'offwaketime',
      'profile',
      'runqlat',
      'stackcount',
      'wakeuptime',
    ]);
    assert.equal(h.authRequired, true);
  });

  test('unauthenticated and wrong-origin connections are refused', async () => {
    await assert.rejects(connect(svc.url, {}), (e: { statusCode?: number }) => e.statusCode === 401);
    await assert.rejects(connect(svc.url, { token: TOKEN, origin: 'http://attacker.example' }), (e: { statusCode?: number }) => e.statusCode === 403);
    assert.doesNotMatch(svc.stderr(), new RegExp(TOKEN), 'the token never appears in the logs');
  });

  test('profile of a busy workload: merged deltas name its functions; programs detach at the end', async () => {
    const w = spawnWorkload('spin');
    const c = await connect(svc.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'p', tool: 'profile', durationSec: 2, options: { pid: w.pid!, frequency: 199, intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    await sleep(300);
    const held = progIdsOf(svc.child.pid!);
    assert.ok(held.size > 0, 'the collector holds the profile program while capturing');
    const end = await c.next('end', () => true, 15000);
    assert.equal(end.reason, 'completed');
    const deltas = deltasOf(c, st.captureId);
    assert.ok(deltas.length >= 3, `a delta every 0.5 s over 2 s (got ${deltas.length})`);
    const folded = merge(deltas);
    const hot = [...folded].filter(([k]) => k.startsWith('bpfscope_work;') && k.includes('bpfscope_spin_inner'));
    const hotSamples = hot.reduce((a, [, v]) => a + v, 0);
    // pid-filtered: nearly every sample is the workload's hot loop (CPU is shared, so no absolute count)
    assert.ok(
      hotSamples > 20 && hotSamples >= end.samples * 0.9,
      `bpfscope_spin_inner sampled (${hotSamples} of ${end.samples}); stacks: ${[...folded.keys()].slice(0, 5).join(' | ')}`,
    );
    assert.ok(
      hot.some(([k]) => /main;bpfscope_spin_outer;bpfscope_spin_inner/.test(k)),
      'root-first user stack main;outer;inner',
    );
    assert.equal(
      end.samples,
      [...folded.values()].reduce((a, b) => a + b, 0),
    );
    const tl = deltas.flatMap((d) => d.timeline ?? []);
    assert.equal(
      tl.reduce((a, [, , n]) => a + n, 0),
      end.samples,
      'timeline buckets add up to the samples',
    );
    assert.equal(end.meta.kernel, JSON.parse((await httpGet(`http://127.0.0.1:${svc.port}/healthz`)).body).kernel);
    // freeing a program waits for an RCU grace period: poll (how fast belongs in bench/, not here)
    assert.deepEqual(await waitGone(held, 15000), [], 'programs detached after the end');
    w.kill('SIGKILL');
    c.close();
  });

  test('offcputime of a sleeping workload names its function', async () => {
    const w = spawnWorkload('sleep');
    const c = await connect(svc.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'o', tool: 'offcputime', durationSec: 1.5, options: { pid: w.pid!, intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    const end = await c.next('end', () => true, 15000);
    assert.equal(end.reason, 'completed');
    assert.equal(end.unit, 'microseconds');
    const folded = merge(deltasOf(c, st.captureId));
    const blocked = [...folded].filter(([k]) => k.includes('bpfscope_blocker')).reduce((a, [, v]) => a + v, 0);
    assert.ok(blocked > 500_000, `bpfscope_blocker blocked > 0.5 s (got ${blocked} µs); stacks: ${[...folded.keys()].slice(0, 3).join(' | ')}`);
    w.kill('SIGKILL');
    c.close();
  });

  test('biolatency sees direct I/O (dd oflag=direct)', async () => {
    const c = await connect(svc.url);
    await c.hello();
    // a long capture stopped once dd is done (stop keeps what was gathered): a busy disk cannot push
    // the writes past the end of the capture
    c.send({ type: 'start', requestId: 'b', tool: 'biolatency', durationSec: 60, options: { intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    const file = join(dir, 'io.bin');
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4k', 'count=300', 'oflag=direct', 'status=none']);
    c.send({ type: 'stop', captureId: st.captureId });
    const end = await c.next('end', () => true, 15000);
    assert.equal(end.reason, 'stopped');
    const hists = deltasOf(c, st.captureId).flatMap((d) => d.histograms ?? []);
    const ios = hists.reduce((a, h) => a + h.slots.reduce((x, y) => x + y, 0), 0);
    assert.ok(ios >= 300, `at least the 300 direct writes were timed (got ${ios})`);
    assert.equal(end.total, ios);
    assert.equal(end.unit, 'count');
    c.close();
  });

  test('runqlat -P of a busy workload: latency histograms keyed by its pid', async () => {
    const w = spawnWorkload('spin');
    const c = await connect(svc.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'r', tool: 'runqlat', durationSec: 1.5, options: { pid: w.pid!, perProcess: true, intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    const end = await c.next('end', () => true, 15000);
    assert.equal(end.reason, 'completed');
    assert.equal(end.unit, 'count');
    const hists = deltasOf(c, st.captureId).flatMap((d) => d.histograms ?? []);
    const waits = hists.reduce((a, h) => a + h.slots.reduce((x, y) => x + y, 0), 0);
    // a thread that spins on a shared machine is preempted and waits on the run queue, many times a second
    assert.ok(waits > 0, 'run-queue waits of the spinning workload');
    assert.deepEqual([...new Set(hists.map((h) => h.key))], [String(w.pid)]);
    assert.equal(end.total, waits);
    w.kill('SIGKILL');
    c.close();
  });

  test('stackcount and funclatency of a user function (uprobes): stacks name its callers, durations >= its 20 ms sleep', async () => {
    const w = spawnWorkload('sleep');
    const c = await connect(svc.url);
    await c.hello();
    const pattern = `${bin}:bpfscope_do_sleep`;
    c.send({ type: 'start', requestId: 's', tool: 'stackcount', durationSec: 1.5, options: { pattern, pid: w.pid!, userStacksOnly: true, intervalSec: 0.5 } });
    const st = await c.next('started', () => true, 15000);
    const end = await c.next('end', () => true, 15000);
    assert.equal(end.reason, 'completed');
    assert.equal(end.unit, 'count');
    const folded = merge(deltasOf(c, st.captureId));
    const calls = [...folded].filter(([k]) => /main;bpfscope_blocker;bpfscope_do_sleep$/.test(k)).reduce((a, [, v]) => a + v, 0);
    // one call every 20+ ms for 1.5 s: at most 75, and many on any machine
    assert.ok(calls >= 10 && calls <= 76, `calls of bpfscope_do_sleep with its callers: ${calls}; stacks: ${[...folded.keys()].slice(0, 3).join(' | ')}`);

    c.send({ type: 'start', requestId: 'f', tool: 'funclatency', durationSec: 1.5, options: { pattern, pid: w.pid!, intervalSec: 0.5 } });
    const st2 = await c.next('started', () => true, 15000);
    const end2 = await c.next('end', (m) => m.captureId === st2.captureId, 15000);
    assert.equal(end2.reason, 'completed');
    const hists = deltasOf(c, st2.captureId).flatMap((d) => d.histograms ?? []);
    const n = hists.reduce((a, h) => a + h.slots.reduce((x, y) => x + y, 0), 0);
    assert.ok(n >= 10, `timed calls: ${n}`);
    // a 20 ms nanosleep never returns early: nothing below the bucket of 20 000 µs ([16384, 32767])
    for (const h of hists) h.slots.forEach((x, i) => assert.ok(x === 0 || i >= 14, `slot ${i} has ${x}`));

    // funccount: one bar per function, its calls as the weight; with the kernel's bpf_stats on (for
    // this capture only, restored after), the deltas carry what one run of the program costs
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    let st3;
    let end3;
    try {
      c.send({ type: 'start', requestId: 'n', tool: 'funccount', durationSec: 1.5, options: { pattern: `${bin}:bpfscope_*`, pid: w.pid!, intervalSec: 0.5 } });
      st3 = await c.next('started', () => true, 15000);
      end3 = await c.next('end', (m) => m.captureId === st3!.captureId, 15000);
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
    }
    const costs = deltasOf(c, st3.captureId).map((d) => d.progress.bpfNsPerRun);
    assert.ok(
      costs.some((x) => x !== undefined && x > 0),
      `bpf cost per run in the deltas: ${costs.join(',')}`,
    );
    assert.equal(end3.reason, 'completed');
    const counts = merge(deltasOf(c, st3.captureId));
    const sleeps = counts.get(`${bin}:bpfscope_do_sleep`) ?? 0;
    assert.ok(sleeps >= 10 && sleeps <= 76, `calls of bpfscope_do_sleep: ${sleeps} in ${[...counts.keys()].join(' | ')}`);
    assert.deepEqual(
      [...counts.keys()].filter((k) => !k.startsWith(`${bin}:bpfscope_`)),
      [],
      'one frame per function',
    );
    w.kill('SIGKILL');
    c.close();
  });

  test('probes: suggestions for the probe picker from kallsyms, tracepoints and a binary', async () => {
    const c = await connect(svc.url);
    await c.hello();
    c.send({ type: 'probes', requestId: 'q1', query: 'vfs_rea' });
    const k = await c.next('probes', (m) => m.requestId === 'q1', 15000);
    assert.equal(k.scope, 'kernel');
    assert.equal(k.matches[0], 'vfs_read');
    c.send({ type: 'probes', requestId: 'q2', query: `${bin}:bpfscope_spin` });
    const u = await c.next('probes', (m) => m.requestId === 'q2', 15000);
    assert.deepEqual([...u.matches].sort(), [`${bin}:bpfscope_spin_inner`, `${bin}:bpfscope_spin_outer`]);
    c.send({ type: 'probes', requestId: 'q3', query: '/no/such/bin:x' });
    const e = await c.next('probes', (m) => m.requestId === 'q3', 15000);
    assert.match(e.error ?? '', /does not exist/);
    c.close();
  });

  test('probe patterns the engine cannot resolve are bad_option errors naming options.pattern', async () => {
    const c = await connect(svc.url);
    await c.hello();
    for (const [options, re] of [
      [{ pattern: 'vfs_raed' }, /options\.pattern: no kernel function matches "vfs_raed"; close matches: .*vfs_read/],
      [{ pattern: '/no/such/binary:main' }, /options\.pattern: binary or library "\/no\/such\/binary" does not exist/],
      [{ pattern: `${bin}:no_such_function` }, /options\.pattern: no function of .* matches "no_such_function"/],
      [{}, /options\.pattern: required/],
    ] as const) {
      c.send({ type: 'start', requestId: 'bp', tool: 'stackcount', durationSec: 5, options });
      const e = await c.next('error');
      assert.equal(e.code, 'bad_option', e.message);
      assert.equal(e.field, 'options.pattern');
      assert.match(e.message, re);
    }
    c.close();
  });

  test('limits and bad input on the real service: too long, too many captures, frequency, missing pid', async () => {
    const c = await connect(svc.url);
    await c.hello();
    c.send({ type: 'start', requestId: 'l1', tool: 'profile', durationSec: 601 });
    assert.equal((await c.next('error')).field, 'durationSec');
    c.send({ type: 'start', requestId: 'l2', tool: 'profile', durationSec: 5, options: { frequency: 5000 } });
    const f = await c.next('error');
    assert.equal(f.code, 'limit');
    assert.equal(f.field, 'options.frequency');
    c.send({ type: 'start', requestId: 'l3', tool: 'offcputime', durationSec: 5, options: { pid: 4194303 } });
    const p = await c.next('error');
    assert.equal(p.code, 'no_such_pid');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      c.send({ type: 'start', requestId: `m${i}`, tool: 'biolatency', durationSec: 30 });
      ids.push((await c.next('started', (m) => m.requestId === `m${i}`, 15000)).captureId);
    }
    c.send({ type: 'start', requestId: 'm5', tool: 'biolatency', durationSec: 30 });
    const e = await c.next('error', (m) => m.requestId === 'm5', 15000);
    assert.equal(e.code, 'limit');
    assert.match(e.message, /limit 4/);
    for (const id of ids) c.send({ type: 'cancel', captureId: id });
    for (const id of ids) assert.equal((await c.next('end', (m) => m.captureId === id)).reason, 'cancelled');
    c.close();
  });

  test('a client that disconnects stops its capture; the programs are gone', async () => {
    const c = await connect(svc.url);
    await c.hello();
    const before = progIdsOf(svc.child.pid!);
    // frame pointers: a system-wide capture with the CFI walker starts sampling only once the unwind
    // tables of every process are loaded (up to TABLE_WAIT_ALL_MS, 5 s, and it takes all of that on a
    // loaded host), so its first delta may come 6 s after `started`; this test is about the detach
    c.send({ type: 'start', requestId: 'd', tool: 'profile', durationSec: 60, options: { frequency: 49, unwind: 'fp' } });
    await c.next('started', () => true, 15000);
    await c.next('delta', () => true, 5000);
    const held = new Set([...progIdsOf(svc.child.pid!)].filter((id) => !before.has(id)));
    assert.ok(held.size > 0);
    c.ws.terminate();
    assert.deepEqual(await waitGone(held, 15000), [], 'programs detached after the disconnect');
    const h = JSON.parse((await httpGet(`http://127.0.0.1:${svc.port}/healthz`)).body);
    assert.equal(h.activeCaptures, 0);
  });
});

describe('collector process lifecycle', { skip: ROOT_SKIP }, () => {
  test('SIGTERM ends captures with reason "shutdown" and exits 0', async () => {
    const svc = await startService();
    try {
      const c = await connect(svc.url);
      await c.hello();
      c.send({ type: 'start', requestId: 't', tool: 'profile', durationSec: 60, options: { frequency: 49 } });
      const st = await c.next('started', () => true, 15000);
      const held = progIdsOf(svc.child.pid!);
      const code = await svc.stop('SIGTERM');
      const end = await c.next('end', (m) => m.captureId === st.captureId, 5000);
      assert.equal(end.reason, 'shutdown');
      await c.closed;
      assert.equal(c.closeCode, 1001);
      assert.equal(code, 0);
      assert.deepEqual(await waitGone(held, 2000), []);
    } finally {
      await svc.stop('SIGKILL');
    }
  });

  test('kill -9 during captures leaves no program attached (fd-owned links)', async () => {
    const svc = await startService();
    try {
      const c = await connect(svc.url);
      await c.hello();
      c.send({ type: 'start', requestId: 'k1', tool: 'profile', durationSec: 60, options: { frequency: 49 } });
      c.send({ type: 'start', requestId: 'k2', tool: 'offcputime', durationSec: 60 });
      c.send({ type: 'start', requestId: 'k3', tool: 'biolatency', durationSec: 60 });
      for (const r of ['k1', 'k2', 'k3']) await c.next('started', (m) => m.requestId === r, 15000);
      const held = progIdsOf(svc.child.pid!);
      assert.ok(held.size >= 3, `programs held: ${[...held]}`);
      const live = loadedProgIds();
      assert.ok(
        [...held].every((id) => live.has(id)),
        'bpftool lists them while running',
      );
      await svc.stop('SIGKILL');
      assert.deepEqual(await waitGone(held, 3000), [], 'bpftool no longer lists any of them');
      await c.closed;
    } finally {
      await svc.stop('SIGKILL');
    }
  });
});
