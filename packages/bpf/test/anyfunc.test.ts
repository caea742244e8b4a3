/**
 * funccount / stackcount / funclatency / runqlat against the real kernel, with workloads whose
 * calls, durations and contention are known: exact call counts of a user function, the right log2
 * buckets for known sleeps, a kernel function and a tracepoint driven from the test's own process,
 * run-queue waits checked against the kernel's own schedstat accounting, and every bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openFunccount, openStackcount, openFunclatency, openRunqlat, createSymbolizer, BpfError, searchProbes, resolveProbes } from '../src/index.js';
import type { CountDelta, LatencyDelta, StackDelta } from '../src/index.js';
import { ROOT_SKIP, GATE, buildC, recursionMisses, run, sleep, tmpDir, names } from './helpers.js';
import { buildNoFp, tablesReady } from './unwind-walk-helpers.js';

const A_CALLS = 1234;
const B_CALLS = 321;
const READS = 77;
const FORKS = 9;

const SRC = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) int bs_target(int x) { __asm__ volatile(""); return x + 1; }
__attribute__((noinline)) void bs_caller_a(int n) { for (int i = 0; i < n; i++) bs_target(i); }
__attribute__((noinline)) void bs_caller_b(int n) { for (int i = 0; i < n; i++) bs_target(i); }
static void nap(long ms) { struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }; while (nanosleep(&ts, &ts)) {} }
__attribute__((noinline)) void bs_sleep_short(void) { nap(17); }
__attribute__((noinline)) void bs_sleep_long(void) { nap(140); }
static int pipefd[2];
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *spin(void *arg) {
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(atoi((char *)arg), &s);
  if (sched_setaffinity(0, sizeof s, &s)) { perror("affinity"); exit(3); }
  char c; if (read(pipefd[0], &c, 1) != 1) exit(4);
  double end = now() + 0.8; volatile unsigned long x = 0;
  while (now() < end) x++;
  for (;;) pause();
  return 0;
}
int main(int argc, char **argv) {
  pthread_t t1, t2;
  if (!strcmp(argv[1], "spin")) {
    if (pipe(pipefd)) return 2;
    pthread_create(&t1, 0, spin, argv[2]);
    pthread_create(&t2, 0, spin, argv[2]);
  }
  if (!strcmp(argv[1], "sleep")) {
    /* real-time priority: a wake-up runs at once even on a busy machine, so each sleep lasts what
     * it asked for plus microseconds, far from the end of its log2 bucket */
    struct sched_param sp = { .sched_priority = 10 };
    if (sched_setscheduler(0, SCHED_FIFO, &sp)) { perror("SCHED_FIFO"); return 6; }
  }
  ${GATE}
  if (!strcmp(argv[1], "calls")) { bs_caller_a(${A_CALLS}); bs_caller_b(${B_CALLS}); }
  if (!strcmp(argv[1], "sleep")) { for (int i = 0; i < 3; i++) bs_sleep_short(); for (int i = 0; i < 2; i++) bs_sleep_long(); }
  if (!strcmp(argv[1], "read")) {
    int fd = open(argv[2], O_RDONLY); char b[16];
    if (fd < 0) return 2;
    for (int i = 0; i < ${READS}; i++) if (pread(fd, b, sizeof b, 0) < 0) return 3;
  }
  if (!strcmp(argv[1], "fork")) {
    for (int i = 0; i < ${FORKS}; i++) { pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, 0, 0); }
  }
  if (!strcmp(argv[1], "spin")) {
    if (write(pipefd[1], "xx", 2) != 2) return 5;
    for (;;) pause();
  }
  return 0;
}
`;

let bin: string | undefined;
const workload = () => (bin ??= buildC('anyfunc_work', SRC));

async function exits(done: Promise<number>): Promise<void> {
  assert.equal(await done, 0, 'workload exit status');
}

function total(d: CountDelta, key: string): number {
  return d.counts.filter((c) => c.key === key).reduce((a, c) => a + c.value, 0);
}

test('funccount: a uprobe on a user function counts every call exactly (1234 + 321)', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  const w = run(workload(), ['calls']);
  await w.ready;
  const h = openFunccount({ pattern: `${workload()}:bs_*`, pid: [w.child.pid!] });
  try {
    assert.equal(h.attached.method, 'uprobe');
    assert.deepEqual(
      [...h.attached.probes].sort(),
      ['bs_caller_a', 'bs_caller_b', 'bs_sleep_long', 'bs_sleep_short', 'bs_target'].map((f) => `${workload()}:${f}`),
    );
    w.go();
    await exits(w.done);
    const d = h.drain();
    assert.equal(total(d, `${workload()}:bs_target`), A_CALLS + B_CALLS);
    assert.equal(total(d, `${workload()}:bs_caller_a`), 1);
    assert.equal(total(d, `${workload()}:bs_caller_b`), 1);
    assert.equal(total(d, `${workload()}:bs_sleep_short`), 0);
    assert.equal(d.loss.mapFull, 0);
  } finally {
    h.close();
  }
});

test('stackcount -U: user stacks of a uprobe name the function and its callers, counts exact (frame pointers and CFI)', {
  skip: ROOT_SKIP,
  timeout: 90000,
}, async () => {
  for (const unwind of ['fp', 'cfi'] as const) {
    const w = run(workload(), ['calls']);
    await w.ready;
    const sym = createSymbolizer();
    const h = openStackcount({ pattern: `${workload()}:bs_target`, pid: [w.child.pid!], userStacksOnly: true, unwind }, sym);
    try {
      assert.equal(!!h.unwind, unwind === 'cfi');
      await tablesReady(h);
      w.go();
      await exits(w.done);
      const d: StackDelta = h.drain();
      assert.equal(d.unit, 'events');
      const byCaller = new Map<string, number>();
      for (const r of d.records) {
        const f = names(r.user);
        assert.equal(f.at(-1), 'bs_target', `leaf of ${f.join(';')}`);
        assert.ok(f.includes('main'), `main in ${f.join(';')}`);
        const caller = f.at(-2)!;
        byCaller.set(caller, (byCaller.get(caller) ?? 0) + r.value);
        assert.equal(r.pid, w.child.pid);
        assert.equal(r.comm, 'anyfunc_work');
        assert.equal(r.kernel.length, 0);
      }
      assert.equal(byCaller.get('bs_caller_a'), A_CALLS, unwind);
      assert.equal(byCaller.get('bs_caller_b'), B_CALLS, unwind);
    } finally {
      h.close();
    }
  }
});

const CHAIN_CALLS = 250;
const NOFP = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
volatile unsigned long sink;
static unsigned long cmps;
__attribute__((noipa)) int uc_target(int x) { sink += x; return x + 1; }
__attribute__((noipa)) int uc_cmp(const void *a, const void *b) {
  cmps++;
  uc_target(*(const int *)a);
  return *(const int *)a - *(const int *)b;
}
__attribute__((noipa)) void uc_sort(void) {
  int v[64];
  for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64;
  qsort(v, 64, sizeof v[0], uc_cmp);
}
__attribute__((noipa)) void uc_c3(int i) { uc_target(i); sink++; }
__attribute__((noipa)) void uc_c2(int i) { uc_c3(i); sink++; }
__attribute__((noipa)) void uc_c1(int i) { uc_c2(i); sink++; }
int main(void) {
  ${GATE}
  for (int i = 0; i < ${CHAIN_CALLS}; i++) uc_c1(i);
  uc_sort();
  printf("%lu\\n", cmps);
  return 0;
}
`;

test('stackcount -U (cfi): a uprobe in a -O2 -fomit-frame-pointer program, reached through qsort and a call chain: exact callers, exact counts', {
  skip: ROOT_SKIP,
  timeout: 120000,
}, async () => {
  const bin = buildNoFp('anyfunc_nofp', NOFP);
  const w = run(bin);
  await w.ready;
  const sym = createSymbolizer();
  const h = openStackcount({ pattern: `${bin}:uc_target`, pid: [w.child.pid!], userStacksOnly: true, unwind: 'cfi' }, sym);
  try {
    assert.ok(h.unwind, 'the CFI walker is on');
    await tablesReady(h);
    w.go();
    await exits(w.done);
    const cmps = Number(w.stdout().trim());
    assert.ok(cmps > 64, `qsort compared ${cmps} times`);
    const d: StackDelta = h.drain();
    const by = new Map<string, number>();
    for (const r of d.records) {
      const k = names(r.user).join(';');
      by.set(k, (by.get(k) ?? 0) + r.value);
    }
    const shown = [...by].map(([k, v]) => `${v} ${k}`).join(' / ');
    let chain = 0;
    let sorted = 0;
    for (const [k, v] of by) {
      const u = k.split(';');
      const i = u.indexOf('main');
      // every stack reaches the process root: _start → __libc_start_* → main
      assert.equal(u[0], '_start', `root of ${k}`);
      assert.ok(i > 0, `main in ${k}`);
      const rest = u.slice(i + 1);
      if (rest.join(';') === 'uc_c1;uc_c2;uc_c3;uc_target') chain += v;
      // qsort tail-calls qsort_r; glibc's merge sort calls itself, then the comparator
      else if (
        rest[0] === 'uc_sort' &&
        rest[1] === 'qsort_r' &&
        rest.at(-2) === 'uc_cmp' &&
        rest.at(-1) === 'uc_target' &&
        rest.slice(2, -2).length > 0 &&
        rest.slice(2, -2).every((f) => f.startsWith('msort_with_tmp'))
      )
        sorted += v;
      else assert.fail(`unexpected stack ${v} ${k}; all: ${shown}`);
    }
    assert.equal(chain, CHAIN_CALLS, shown);
    assert.equal(sorted, cmps, shown);
    assert.equal(d.loss.unwindNoTable ?? 0, 0);
    assert.equal(d.loss.unwindUnsupported ?? 0, 0);
  } finally {
    h.close();
    w.child.kill('SIGKILL');
  }
});

/** the slot of a log2 histogram holding v */
const slotOf = (v: number) => Math.floor(Math.log2(v));

test('funclatency -F: user functions sleeping 17 ms and 140 ms land in their log2 buckets (ns, ms)', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  for (const unit of ['nsecs', 'msecs'] as const) {
    const w = run(workload(), ['sleep']);
    await w.ready;
    const h = openFunclatency({ pattern: `${workload()}:bs_sleep_*`, pid: [w.child.pid!], perFunction: true, unit });
    try {
      w.go();
      await exits(w.done);
      const d: LatencyDelta = h.drain();
      assert.equal(d.keyKind, 'function');
      const scale = unit === 'nsecs' ? 1e6 : 1;
      // a nanosleep never returns early; the buckets of 17 and 140 ms end at 33.5 and 268 ms
      for (const [fn, ms, n] of [
        ['bs_sleep_short', 17, 3],
        ['bs_sleep_long', 140, 2],
      ] as const) {
        const hist = d.histograms.find((x) => x.key === `${workload()}:${fn}`);
        assert.ok(hist, `${fn} in ${d.histograms.map((x) => x.key)}`);
        const expect = new Array(slotOf(ms * scale) + 1).fill(0);
        expect[slotOf(ms * scale)] = n;
        assert.deepEqual(hist.slots, expect, `${fn} ${unit}`);
        assert.equal(hist.count, n);
        assert.ok(hist.sum! >= n * ms * scale && hist.sum! < n * 2 ** (slotOf(ms * scale) + 1), `${fn} sum ${hist.sum}`);
      }
    } finally {
      h.close();
    }
  }
});

test('funclatency of kernel functions driven by the workload (one function; two by regex, per function)', { skip: ROOT_SKIP, timeout: 60000 }, async (t) => {
  for (const [pattern, regex, n] of [
    ['do_nanosleep', false, 1],
    ['do_nanosleep$|vfs_fsync_range$', true, 2],
  ] as const) {
    const w = run(workload(), ['sleep']);
    await w.ready;
    let h;
    try {
      h = openFunclatency({ pattern, regex, pid: [w.child.pid!], unit: 'usecs', perFunction: true });
    } catch (e) {
      w.child.kill('SIGKILL');
      const why = kernelFunctionsUnsupported(e);
      if (why) return void t.skip(why);
      throw e;
    }
    const method = h.attached.method;
    try {
      // fentry/fexit first (one object per function, shared maps), kretprobes where there is no BTF
      assert.match(method, /^(fentry\/fexit|kprobe\.multi|kprobe)$/);
      assert.equal(h.attached.probes.length, n);
      w.go();
      await exits(w.done);
      const d = h.drain();
      // vfs_fsync_range was not called: one histogram, do_nanosleep's
      assert.deepEqual(
        d.histograms.map((x) => x.key),
        ['do_nanosleep'],
      );
      const s = d.histograms[0].slots;
      assert.equal(s[slotOf(17000)], 3, `${method}: 17 ms sleeps in ${s}`);
      assert.equal(s[slotOf(140000)], 2, `${method}: 140 ms sleeps in ${s}`);
      assert.equal(d.histograms[0].count, 5);
    } finally {
      h.close();
    }
  }
});

test('funccount on a kernel function: vfs_read from the workload, exactly its reads', { skip: ROOT_SKIP, timeout: 60000 }, async (t) => {
  const file = path.join(tmpDir(), 'readme.txt');
  fs.writeFileSync(file, 'some bytes to read\n');
  const w = run(workload(), ['read', file]);
  await w.ready;
  let h;
  try {
    h = openFunccount({ pattern: 'vfs_rea?', pid: [w.child.pid!] });
  } catch (e) {
    w.child.kill('SIGKILL');
    const why = kernelFunctionsUnsupported(e);
    if (why) return void t.skip(why);
    throw e;
  }
  try {
    assert.equal(h.attached.kind, 'kernel');
    assert.ok(h.attached.probes.includes('vfs_read'));
    w.go();
    await exits(w.done);
    const d = h.drain();
    // the gate's read(0) began before the probe was attached: only the preads are counted
    assert.equal(total(d, 'vfs_read'), READS);
  } finally {
    h.close();
  }
});

test('tracepoint t:sched:sched_process_fork: funccount exact, stackcount kernel stacks from fork', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  const w = run(workload(), ['fork']);
  await w.ready;
  const sym = createSymbolizer();
  const c = openFunccount({ pattern: 't:sched:sched_process_fork', pid: [w.child.pid!] });
  const s = openStackcount({ pattern: 't:sched:sched_process_f*rk', pid: [w.child.pid!], kernelStacksOnly: true }, sym);
  try {
    assert.equal(c.attached.method, 'raw_tp');
    w.go();
    await exits(w.done);
    assert.equal(total(c.drain(), 't:sched:sched_process_fork'), FORKS);
    const d = s.drain();
    assert.equal(
      d.records.reduce((a, r) => a + r.value, 0),
      FORKS,
    );
    for (const r of d.records) {
      const k = names(r.kernel);
      assert.ok(k.includes('kernel_clone'), `kernel_clone in ${k.join(';')}`);
      assert.ok(!k.some((f) => f.startsWith('bpf_')), `no tracer frames in ${k.join(';')}`);
    }
  } finally {
    c.close();
    s.close();
  }
});

function schedstat(pid: number, tid: number): { runDelayNs: number; slices: number } {
  const f = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
  return { runDelayNs: f[1], slices: f[2] };
}

function threadState(pid: number, tid: number): string {
  const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2)[0];
}

test('runqlat -L: two threads pinned to one CPU; waits per thread match the kernel schedstat', { skip: ROOT_SKIP, timeout: 60000 }, async (t) => {
  const cpu = 0;
  const w = run(workload(), ['spin', String(cpu)]);
  await w.ready;
  const pid = w.child.pid!;
  const tids = fs
    .readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .filter((t) => t !== pid);
  assert.equal(tids.length, 2);
  // both threads blocked on their pipe first: a wait that began before the attach would be counted
  // by schedstat but not seen by runqlat
  const blockedBy = Date.now() + 20000;
  while (tids.some((t) => threadState(pid, t) !== 'S')) {
    assert.ok(Date.now() < blockedBy, 'threads did not block on their pipe');
    await sleep(20);
  }
  const h = openRunqlat({ pid: [pid], perThread: true });
  try {
    const before = tids.map((t) => schedstat(pid, t));
    w.go();
    // each thread spins 0.8 s then sleeps for good: wait until both sleep
    const deadline = Date.now() + 20000;
    await sleep(900);
    while (tids.some((t) => threadState(pid, t) !== 'S')) {
      assert.ok(Date.now() < deadline, 'spinning threads did not go to sleep');
      await sleep(50);
    }
    const after = tids.map((t) => schedstat(pid, t));
    const d = h.drain();
    assert.equal(d.keyKind, 'tid');
    tids.forEach((tid, i) => {
      const hist = d.histograms.find((x) => x.key === String(tid));
      assert.ok(hist, `thread ${tid} in ${d.histograms.map((x) => x.key)}`);
      assert.equal(hist.comm, 'anyfunc_work');
      const waits = hist.slots.reduce((a, b) => a + b, 0);
      const slices = after[i].slices - before[i].slices;
      const delayUs = (after[i].runDelayNs - before[i].runDelayNs) / 1000;
      // schedstat's count (sched_info.pcount) grows at a switch-in only when the thread had been
      // stamped as queued: by enqueue_task() (a wakeup, a new task, a move between run queues) or
      // by a switch-out in TASK_RUNNING. runqlat (like bcc's) times the switch-ins that follow
      // sched_wakeup / sched_wakeup_new or a switch-out that was a preemption or in TASK_RUNNING.
      // What was ruled out as the cause of runqlat counting a few fewer (0-4 of 30-170 here, in
      // about half the runs): our programs losing runs (recursion_misses stay 0 for all three,
      // checked below), the start or histogram maps refusing an update (lostEvents / mapFull 0),
      // migrations (both threads are pinned). An independent tracer applying the same rules on the
      // perf tracepoints and reading the thread's pcount at each switch-out (bpftrace, 5 runs,
      // ~1000 switch-ins) found no switch-in that schedstat counted without a preceding event, and
      // the deficit did not appear while it ran. Cause not found: the bound stays 10 %, and a
      // preemption of a thread already in a sleeping state (counted by runqlat, not by schedstat:
      // it is not TASK_RUNNING at the switch-out) could make runqlat count more, so this is not a
      // `waits <= slices` bound either way by construction; both directions are reported here.
      t.diagnostic(`thread ${tid}: runqlat ${waits}, schedstat ${slices}; recursion misses ${JSON.stringify(recursionMisses())}`);
      assert.equal(d.loss.lostEvents, 0, 'start map updates refused');
      assert.equal(d.loss.mapFull, 0, 'histogram map full');
      assert.ok(
        Object.values(recursionMisses()).every((n) => n === 0),
        `runs skipped: ${JSON.stringify(recursionMisses())}`,
      );
      assert.ok(waits >= slices * 0.9 && waits <= slices * 1.1, `waits of ${tid}: runqlat ${waits}, schedstat ${slices}`);
      // contention: the two threads share a CPU for 0.8 s, so each waits a large part of it
      assert.ok(delayUs > 200000, `thread ${tid} waited ${delayUs} us`);
      // the log2 buckets bound the total wait: [sum of lows, sum of highs]
      let lo = 0;
      let hi = 0;
      hist.slots.forEach((n, s) => {
        lo += n * (s === 0 ? 0 : 2 ** s);
        hi += n * 2 ** (s + 1);
      });
      assert.ok(delayUs >= lo && delayUs <= hi, `schedstat ${delayUs} us within runqlat's [${lo}, ${hi}]`);
    });
  } finally {
    h.close();
    w.child.kill('SIGKILL');
  }
});

/** Kernel functions need kprobe.multi, kprobes or fentry; some kernels offer none (this skip says which failed). */
function kernelFunctionsUnsupported(e: unknown): string | undefined {
  const m = e instanceof Error ? e.message : '';
  return /offers no way to probe kernel functions/.test(m) ? `this kernel cannot probe kernel functions: ${m}` : undefined;
}

test("searchProbes: kernel functions, tracepoints and a binary's functions as you type", { skip: ROOT_SKIP, timeout: 60000 }, () => {
  const k = searchProbes('vfs_rea', { limit: 10 });
  assert.equal(k.scope, 'kernel');
  assert.equal(k.matches[0], 'vfs_read', 'names starting with the query come first');
  const t = searchProbes('t:sched_swi');
  assert.equal(t.scope, 'tracepoint');
  assert.ok(
    t.matches.some((m) => /^t:(sched|\*):sched_switch$/.test(m)),
    t.matches.join(' '),
  );
  const u = searchProbes(`${workload()}:bs_tar`);
  assert.deepEqual(u.matches, [`${workload()}:bs_target`]);
  assert.equal(u.total, 1);
  // a suggestion is a pattern the tools accept
  assert.equal(resolveProbes(t.matches.find((m) => m.endsWith(':sched_switch'))!).probes.length, 1);
  const many = searchProbes('a', { limit: 7 });
  assert.equal(many.matches.length, 7);
  assert.ok(many.total > 7);
  rejects(() => searchProbes('/no/such/bin:x'), /binary or library "\/no\/such\/bin" does not exist/);
});

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BpfError, `a BpfError, got ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

test('bad input: no match names close matches, over the limit gives the count, missing binary/symbol, bad regex', { skip: ROOT_SKIP, timeout: 60000 }, () => {
  rejects(() => openFunccount({ pattern: 'vfs_raed' }), /no kernel function matches "vfs_raed"; close matches: .*vfs_read/);
  rejects(() => openFunccount({ pattern: 'vfs_*', limit: 3 }), /"vfs_\*" matches \d+ kernel functions, more than the limit of 3/);
  rejects(() => openFunccount({ pattern: '*' }), /matches \d{5,} kernel functions, more than the limit of 1000/);
  rejects(() => openFunccount({ pattern: '/no/such/binary:main' }), /binary or library "\/no\/such\/binary" does not exist/);
  rejects(() => openFunccount({ pattern: `${workload()}:bs_targte` }), /no function of .*anyfunc_work matches "bs_targte"; close matches: bs_target/);
  rejects(() => openFunccount({ pattern: 'nosuchlibzz:malloc' }), /no library or binary named "nosuchlibzz"/);
  rejects(() => openFunccount({ pattern: 'vfs_(read', regex: true }), /invalid regular expression "vfs_\(read" \(-r\)/);
  rejects(() => openFunccount({ pattern: 't:sched:sched_swich' }), /no tracepoint matches "sched_swich"; close matches: .*sched_switch/);
  rejects(() => openFunclatency({ pattern: 't:sched:sched_switch' }), /tracepoints .* have no return to time/);
  rejects(() => openFunccount({ pattern: 'u:c:probe' }), /USDT probes .* are not supported/);
  rejects(() => openFunccount({ pattern: 'x:c:malloc' }), /unknown probe type "x"/);
  rejects(() => openFunccount({ pattern: '' }), /empty probe pattern/);
  rejects(() => openFunccount({ pattern: 'vfs_read', pid: [0] }), /invalid pid 0/);
  rejects(() => openStackcount({ pattern: 'vfs_read', cpu: 9999 }, createSymbolizer()), /invalid cpu 9999: not an online CPU/);
  rejects(() => openStackcount({ pattern: 'vfs_read', userStacksOnly: true, kernelStacksOnly: true }, createSymbolizer()), /mutually exclusive/);
  rejects(() => openRunqlat({ perProcess: true, perThread: true }), /cannot be combined/);
});
