/**
 * CFI unwinding on a real kernel: exact user stacks of workloads built -O2 -fomit-frame-pointer
 * (callbacks from libc, threads, signal handlers, recursion deeper than the limit, a library
 * dlopen'ed during the capture), on-CPU (profile) and off-CPU (offcputime, offwaketime).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openProfile, openOffcputime, openOffwaketime } from '../src/index.js';
import type { StackDelta, StackRecord } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, GATE, run, names, drainUntil, sleep, tmpDir, buildC, withAttachMode } from './helpers.js';
import { buildNoFp, tablesReady, useTestTables, profileCfi } from './unwind-walk-helpers.js';
import { setUnwindTableSource } from '../src/unwind/session.js';
import { UnwindTables } from '../src/unwind/tables.js';
import { ROW_SIZE } from '../src/unwind/format.js';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

useTestTables();

const ONCPU = `
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
static long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
static volatile int stop;
__attribute__((noipa)) int ua_cmp(const void *a, const void *b) {
  for (int i = 0; i < 300; i++) sink += i;
  return *(const int *)a - *(const int *)b;
}
__attribute__((noipa)) void ua_sort(void) {
  int v[512];
  for (int i = 0; i < 512; i++) v[i] = (i * 7919) % 512;
  qsort(v, 512, sizeof v[0], ua_cmp);
  sink++;
}
__attribute__((noipa)) void ua_spin(void) { for (int i = 0; i < 100000; i++) sink += i; }
__attribute__((noipa)) void *ua_thread_fn(void *arg) { while (!stop) ua_spin(); sink++; return arg; }
__attribute__((noipa)) void ua_on_signal(int sig) { for (int i = 0; i < 1500000; i++) sink += i; sink += sig; }
__attribute__((noipa)) void ua_poke(void) { raise(SIGUSR1); sink++; }
__attribute__((noipa)) void ua_deep_spin(void) { for (int i = 0; i < 1000000; i++) sink += i; }
__attribute__((noipa)) void ua_recurse(int n) { if (n > 0) ua_recurse(n - 1); else ua_deep_spin(); sink++; }
int main(void) {
  ${GATE}
  pthread_t t;
  pthread_create(&t, 0, ua_thread_fn, 0);
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = ua_on_signal; sigaction(SIGUSR1, &sa, 0);
  /* by CPU time, not wall time: the same number of samples on a busy machine */
  while (cpu_ms() < 1500) { ua_sort(); ua_recurse(300); ua_poke(); }
  stop = 1;
  pthread_join(t, 0);
  return 0;
}
`;

function weights(d: StackDelta, pid: number, pick: (r: StackRecord) => boolean = () => true): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of d.records) {
    if (r.pid !== pid || !pick(r)) continue;
    const k = names(r.user).join(';');
    m.set(k, (m.get(k) ?? 0) + r.value);
  }
  return m;
}

function top(m: Map<string, number>, n = 8): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${v} ${k}`)
    .join('\\n');
}

test('profile (cfi): exact stacks through a qsort callback, a thread, a signal handler, and recursion past the depth limit', {
  skip: ROOT_SKIP,
  timeout: 180000,
}, async (t) => {
  const bin = buildNoFp('ua_oncpu', ONCPU);
  const sym = createSymbolizer();
  const { child, done, go, ready } = run(bin);
  const { h, d } = await profileCfi({ child, ready, go, done }, sym, 199);
  try {
    const all = weights(d, child.pid!);
    t.diagnostic(top(all, 12));
    t.diagnostic(`loss ${JSON.stringify(d.loss)}`);
    let total = 0;
    const odd: string[] = [];
    const n = { cmp: 0, cmpExact: 0, thread: 0, threadExact: 0, sig: 0, sigExact: 0, deep: 0, deepExact: 0 };
    for (const [k, v] of all) {
      total += v;
      const u = k.split(';');
      const leaf = u[u.length - 1];
      if (leaf === 'ua_cmp') {
        n.cmp += v;
        // _start … main;ua_sort;qsort_r;msort_with_tmp…;ua_cmp: the callback's callers inside libc are
        // there (qsort tail-calls qsort_r, so qsort itself is not on the stack, as with perf)
        const i = u.indexOf('main');
        const sorter = u.slice(i + 3, -1);
        if (
          u[0] === '_start' &&
          i > 0 &&
          u[i + 1] === 'ua_sort' &&
          u[i + 2] === 'qsort_r' &&
          sorter.length > 0 &&
          sorter.every((f) => f.startsWith('msort_with_tmp'))
        )
          n.cmpExact += v;
      }
      if (leaf === 'ua_spin') {
        n.thread += v;
        if (/^(__)?clone3?$/.test(u[0]) && u.slice(1).join(';') === 'start_thread;ua_thread_fn;ua_spin') n.threadExact += v;
      }
      if (leaf === 'ua_on_signal') {
        n.sig += v;
        // the handler, the kernel's signal trampoline, then the interrupted code down to _start
        const r = u.indexOf('__restore_rt');
        const interrupted = u.slice(0, r).join(';');
        if (u[u.length - 2] === '__restore_rt' && /^(_start;.*;main;ua_|(__)?clone3?;start_thread;ua_thread_fn|\[truncated\];ua_recurse)/.test(interrupted))
          n.sigExact += v;
        else odd.push(`${v} ${k}`);
      }
      if (leaf === 'ua_deep_spin') {
        n.deep += v;
        // 301 frames of ua_recurse: the walk stops at 127 frames and marks the root side truncated
        if (u.length === 128 && u[0] === '[truncated]' && u.slice(1, 126).every((f) => f === 'ua_recurse') && u[126] === 'ua_recurse') n.deepExact += v;
      }
    }
    t.diagnostic(JSON.stringify(n));
    assert.ok(n.cmp >= 5 && n.cmpExact >= n.cmp * 0.95, `qsort callback stacks: ${n.cmpExact} of ${n.cmp} exact`);
    assert.ok(n.thread >= 10 && n.threadExact >= n.thread * 0.95, `thread stacks: ${n.threadExact} of ${n.thread} exact`);
    assert.ok(n.sig >= 5 && n.sigExact >= n.sig * 0.9, `signal handler stacks: ${n.sigExact} of ${n.sig} exact; others: ${odd.join(' / ')}`);
    assert.ok(n.deep >= 5 && n.deepExact >= n.deep * 0.95, `truncated recursion: ${n.deepExact} of ${n.deep} marked`);
    assert.ok(d.loss.truncatedStacks >= n.deep, `truncation counted: ${d.loss.truncatedStacks}`);
    assert.ok(total > 100, `samples ${total}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

const OFFCPU = `
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
int fds[2];
__attribute__((noipa)) void ub_nap(long ms) { struct timespec ts = { 0, ms * 1000000L }; nanosleep(&ts, 0); sink++; }
__attribute__((noipa)) void ub_wait(int fd) { char c; if (read(fd, &c, 1) != 1) sink++; sink++; }
__attribute__((noipa)) void *ub_sleeper(void *a) { prctl(PR_SET_NAME, "ub_sleeper"); for (int i = 0; i < 6; i++) ub_nap(60); return a; }
__attribute__((noipa)) void *ub_writer(void *a) {
  prctl(PR_SET_NAME, "ub_writer");
  for (int i = 0; i < 4; i++) { ub_nap(80); if (write(fds[1], "x", 1) != 1) sink++; }
  return a;
}
int main(void) {
  ${GATE}
  if (pipe(fds)) return 1;
  pthread_t s, w;
  pthread_create(&s, 0, ub_sleeper, 0);
  pthread_create(&w, 0, ub_writer, 0);
  for (int i = 0; i < 4; i++) ub_wait(fds[0]);
  pthread_join(s, 0);
  pthread_join(w, 0);
  return 0;
}
`;

// minBlockUs 1000: user stacks of blocked system calls are walked when the call returns (deferred);
// default minimum (1 µs): walked at switch-out
for (const [mode, minBlockUs] of [
  ['tp_btf', 1000],
  ['raw_tp', 1000],
  ['tp_btf', undefined],
] as const) {
  test(`offcputime (cfi, ${mode}, ${minBlockUs ? 'walked at the system call exit' : 'walked at switch-out'}): the function that called nanosleep()/read() is on the blocked stack`, {
    skip: ROOT_SKIP,
    timeout: 180000,
  }, async (t) => {
    const bin = buildNoFp('ub_offcpu', OFFCPU);
    const sym = createSymbolizer();
    const { child, done, go, ready } = run(bin);
    await ready;
    const h = withAttachMode(mode, () => openOffcputime({ pid: [child.pid!], unwind: 'cfi', minBlockUs }, sym));
    try {
      await tablesReady(h);
      go();
      const d = await drainUntil(h, done);
      const all = weights(d, child.pid!);
      t.diagnostic(top(all, 8));
      let nap = 0;
      let napExact = 0;
      let wait = 0;
      let waitExact = 0;
      // libc with debug info (libc6-dbg): its inline frames (__GI___libc_read inlined in read) are libc's too
      const libcOnly = (fs: string[]) => fs.length > 0 && fs.every((f) => /^(__GI_)?(__libc_|__)?read$|nanosleep|syscall_cancel/.test(f));
      for (const r of d.records) {
        if (r.pid !== child.pid) continue;
        const u = names(r.user);
        if (r.comm === 'ub_sleeper') {
          nap += r.value;
          // clone3;start_thread;ub_sleeper;ub_nap;<libc's nanosleep>
          const i = u.indexOf('ub_nap');
          if (/^(__)?clone3?$/.test(u[0]) && u.slice(1, i + 1).join(';') === 'start_thread;ub_sleeper;ub_nap' && libcOnly(u.slice(i + 1))) napExact += r.value;
        } else if (r.comm === 'ub_offcpu' && r.tid === child.pid) {
          const i = u.indexOf('ub_wait');
          if (i < 0 && !/^(__libc_|__)?read$/.test(u[u.length - 1] ?? '')) continue; // pthread_join etc.
          wait += r.value;
          // _start;__libc_start_main;__libc_start_call_main;main;ub_wait;<libc's read>
          if (u[0] === '_start' && i > 0 && u[i - 1] === 'main' && libcOnly(u.slice(i + 1))) waitExact += r.value;
        }
      }
      t.diagnostic(JSON.stringify({ nap, napExact, wait, waitExact, loss: d.loss }));
      if (process.env.DEBUG_BPF_TEST)
        for (const r of d.records)
          t.diagnostic(`${r.tid} ${r.comm} ${r.value} ${r.userMissing ? 'MISSING' : ''} ${names(r.user).join(';')} | ${names(r.kernel).slice(-3).join(';')}`);
      assert.ok(nap >= 6 * 60000 * 0.9, `the sleeper's blocked time: ${nap} µs`);
      assert.ok(napExact >= nap * 0.95, `${napExact} of ${nap} µs of sleeping carry clone3;start_thread;ub_sleeper;ub_nap;nanosleep`);
      assert.ok(wait >= 4 * 80000 * 0.8, `the reader's blocked time: ${wait} µs`);
      assert.ok(waitExact >= wait * 0.95, `${waitExact} of ${wait} µs of reading carry _start;…;main;ub_wait;read`);
    } finally {
      h.close();
      child.kill('SIGKILL');
    }
  });
}

test('offwaketime (cfi): blocked stack and the waker user stack, both through libc wrappers', { skip: ROOT_SKIP, timeout: 180000 }, async (t) => {
  const bin = buildNoFp('ub_offwake', OFFCPU);
  const sym = createSymbolizer();
  const { child, done, go, ready } = run(bin);
  await ready;
  const h = openOffwaketime({ pid: [child.pid!], unwind: 'cfi', minBlockUs: 1000 }, sym);
  try {
    await tablesReady(h);
    go();
    const d = await drainUntil(h, done);
    let wait = 0;
    let exact = 0;
    const seen: string[] = [];
    for (const r of d.records) {
      if (r.pid !== child.pid || r.tid !== child.pid) continue;
      const u = names(r.user);
      if (!u.includes('ub_wait')) continue;
      wait += r.value;
      const wu = names(r.waker?.user ?? []);
      seen.push(`${r.value} ${u.join(';')} <- ${r.waker?.comm} ${wu.join(';')}`);
      // woken by ub_writer's write(): clone3;start_thread;ub_writer;write (taken in the waker's context)
      const i = wu.indexOf('ub_writer');
      if (
        r.waker?.comm === 'ub_writer' &&
        /^(__)?clone3?$/.test(wu[0]) &&
        wu[1] === 'start_thread' &&
        i === 2 &&
        wu.slice(3).length > 0 &&
        wu.slice(3).every((f) => /write|syscall_cancel/.test(f))
      )
        exact += r.value;
    }
    t.diagnostic(seen.slice(0, 4).join(' / '));
    assert.ok(wait >= 4 * 80000 * 0.8, `the reader's blocked time: ${wait} µs`);
    assert.ok(exact >= wait * 0.95, `${exact} of ${wait} µs name the waker's stack clone3;start_thread;ub_writer;write: ${seen.join(' / ')}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

const PLUGIN = `
volatile unsigned long plug_sink;
__attribute__((noipa)) void ub_plug_spin(void) { for (int i = 0; i < 200000; i++) plug_sink += i; }
__attribute__((noipa)) void ub_plug_entry(long ms, long (*now)(void), long (*cpu)(void)) { long end = now() + ms, cend = cpu() + 1000; while (now() < end || cpu() < cend) ub_plug_spin(); plug_sink++; }
`;

const AFTER_EXEC = `
#include <stdio.h>
#include <time.h>
volatile unsigned long sink;
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void ub_exec_spin(void) { for (int i = 0; i < 200000; i++) sink += i; }
static long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void ub_exec_main(void) { long end = now_ms() + 2500, cend = cpu_ms() + 1000; while (now_ms() < end || cpu_ms() < cend) ub_exec_spin(); sink++; }
int main(void) { printf("E%ld\\n", now_ms()); fflush(stdout); ub_exec_main(); return 0; }
`;

const DLOPEN = (lib: string, after: string) => `
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void ub_before(void) { for (int i = 0; i < 200000; i++) sink += i; }
__attribute__((noipa)) int ub_use_plugin(void) {
  printf("D%ld\\n", now_ms()); fflush(stdout);
  void *h = dlopen(${JSON.stringify(lib)}, RTLD_NOW);
  if (!h) return 1;
  void (*entry)(long, long (*)(void), long (*)(void)) = (void (*)(long, long (*)(void), long (*)(void)))dlsym(h, "ub_plug_entry");
  if (!entry) return 1;
  entry(2500, now_ms, cpu_ms);
  sink++;
  return 0;
}
int main(void) {
  ${GATE}
  long end = now_ms() + 300;
  while (now_ms() < end) ub_before();
  if (ub_use_plugin()) return 1;
  execl(${JSON.stringify(after)}, "ub_after", (char *)0);
  return 1;
}
`;

test("profile (cfi): a library dlopen'ed and a program exec'ed during the capture have complete stacks within 1 s", {
  skip: ROOT_SKIP,
  timeout: 180000,
}, async (t) => {
  const dir = tmpDir();
  const lib = path.join(dir, 'libub_plug.so');
  fs.writeFileSync(path.join(dir, 'ub_plug.c'), PLUGIN);
  execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-shared', '-fPIC', '-o', lib, path.join(dir, 'ub_plug.c')], { stdio: 'pipe' });
  const after = buildNoFp('ub_after', AFTER_EXEC);
  const bin = buildNoFp('ub_dlopen', DLOPEN(lib, after), ['-ldl']);
  const sym = createSymbolizer();
  const { child, done, go, ready, stdout } = run(bin);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: 199, unwind: 'cfi', userStacksOnly: true }, sym);
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  // per drain: when it happened (CLOCK_MONOTONIC ms, like the workload's clock) and what it held
  const drains: Array<{ atMs: number; d: StackDelta }> = [];
  try {
    await tablesReady(h);
    go();
    while (!finished) {
      await sleep(150);
      drains.push({ atMs: Number(process.hrtime.bigint() / 1_000_000n), d: h.drain() });
    }
    assert.equal(await done, 0, 'workload ran');
    const out = stdout();
    const dlopenAt = Number(/D(\d+)/.exec(out)?.[1]);
    const execAt = Number(/E(\d+)/.exec(out)?.[1]);
    assert.ok(dlopenAt > 0 && execAt > dlopenAt, `workload timestamps: ${out}`);
    const res = { plug: { early: 0, late: 0, lateExact: 0, firstCompleteMs: Infinity }, exec: { early: 0, late: 0, lateExact: 0, firstCompleteMs: Infinity } };
    const odd: string[] = [];
    for (let k = 0; k < drains.length; k++) {
      const since = k > 0 ? drains[k - 1].atMs : 0; // samples of drain k happened after the drain before it
      for (const r of drains[k].d.records) {
        if (r.pid !== child.pid) continue;
        const s = names(r.user).join(';');
        for (const [what, leaf, at, want] of [
          ['plug', 'ub_plug_spin', dlopenAt, /^_start;.*;main;ub_use_plugin;ub_plug_entry;ub_plug_spin$/],
          ['exec', 'ub_exec_spin', execAt, /^_start;__libc_start_main;__libc_start_call_main;main;ub_exec_main;ub_exec_spin$/],
        ] as const) {
          if (!s.endsWith(leaf)) continue;
          const c = res[what];
          if (since < at + 1000) {
            c.early += r.value;
            // the first drain with a complete stack: how soon after the code was mapped (≤ this)
            if (want.test(s)) c.firstCompleteMs = Math.min(c.firstCompleteMs, drains[k].atMs - at);
            continue;
          }
          c.late += r.value;
          if (want.test(s)) c.lateExact += r.value;
          else odd.push(s);
        }
      }
    }
    t.diagnostic(JSON.stringify(res));
    assert.ok(res.plug.late >= 20, `samples in the dlopen'ed library 1 s after dlopen: ${res.plug.late}`);
    assert.equal(res.plug.lateExact, res.plug.late, `complete stacks 1 s after dlopen: ${odd.slice(0, 3).join(' / ')}`);
    assert.ok(res.exec.late >= 20, `samples of the exec'ed program 1 s after exec: ${res.exec.late}`);
    assert.equal(res.exec.lateExact, res.exec.late, `complete stacks 1 s after exec: ${odd.slice(0, 3).join(' / ')}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

const FP_CHAIN = `
#include <time.h>
volatile unsigned long sink;
static long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void uc_leaf(void) { for (int i = 0; i < 200000; i++) sink += i; }
__attribute__((noipa)) void uc_mid(void) { uc_leaf(); sink++; }
__attribute__((noipa)) void uc_top(void) { uc_mid(); sink++; }
int main(void) {
  ${GATE}
  while (cpu_ms() < 1000) uc_top(); /* CPU time: the same number of samples on a busy machine */
  return 0;
}
`;

test('profile (cfi): an object without a usable table walks by frame pointers, counted; a corrupt table ends walks, counted; the capture goes on', {
  skip: ROOT_SKIP,
  timeout: 180000,
}, async (t) => {
  // built -O0 with frame pointers (in every function, leaves too), so the fallback has something to walk
  const bin = buildC('uc_fp', FP_CHAIN);
  const real = new UnwindTables({});
  try {
    for (const variant of ['no table', 'corrupt table'] as const) {
      setUnwindTableSource({
        getVdso: (pid) => real.getVdso(pid),
        get: async (p, o) => {
          const table = await real.get(p, o);
          if (p !== bin) return table;
          if (variant === 'no table') return { ...table, rows: new Uint8Array(0), count: 0, error: 'simulated: unreadable .eh_frame' };
          // rows at the right addresses with wrong rules (from a fixed seed)
          const rows = new Uint8Array(table.rows.subarray(0, table.count * ROW_SIZE));
          let x = 12345;
          for (let i = 0; i < table.count; i++) {
            x = (x * 1103515245 + 12345) >>> 0;
            const dv = new DataView(rows.buffer, rows.byteOffset + i * ROW_SIZE, ROW_SIZE);
            // CFA = rsp or rbp + a wrong offset: the return address is read from a wrong slot
            dv.setInt32(4, 8 * (1 + ((x >>> 8) % 64)), true);
            dv.setInt16(8, -8 * (1 + ((x >>> 4) % 8)), true);
            rows[i * ROW_SIZE + 10] = 1 + (x % 2);
            rows[i * ROW_SIZE + 11] = (x >>> 3) % 2;
          }
          return { ...table, rows };
        },
      });
      const sym = createSymbolizer();
      const { child, done, go, ready } = run(bin);
      const { h, d, loaded } = await profileCfi({ child, ready, go, done }, sym, 199);
      try {
        const all = weights(d, child.pid!);
        let total = 0;
        let chain = 0;
        for (const [k, v] of all) {
          total += v;
          if (k.includes('main;uc_top;uc_mid;uc_leaf')) chain += v;
        }
        const info = loaded!;
        t.diagnostic(
          `${variant}: ${chain} of ${total} samples with main;uc_top;uc_mid;uc_leaf; loss ${JSON.stringify(d.loss)}; errors ${JSON.stringify(info.errors)}`,
        );
        assert.ok(total > 50, `${variant}: the capture went on: ${total} samples`);
        if (variant === 'no table') {
          assert.ok(chain >= total * 0.9, `frame pointers walked the workload's frames: ${top(all)}`);
          assert.ok((d.loss.unwindNoTable ?? 0) >= total * 0.9, `walks through code without a table are counted: ${d.loss.unwindNoTable}`);
          assert.ok(info.failed >= 1 && Object.values(info.errors).some((e) => /simulated/.test(e)), `the reason is reported: ${JSON.stringify(info)}`);
        } else {
          // a wrong return address is 0, not user code (unsupported), unreadable (fault) or code no
          // mapping covers (no table): every walk that did not reach the root is counted one of these ways
          const ended = (d.loss.unwindUnsupported ?? 0) + (d.loss.unwindReadFault ?? 0) + (d.loss.unwindNoTable ?? 0);
          let short = 0;
          for (const [k, v] of all) if (!k.startsWith('_start;')) short += v;
          t.diagnostic(top(all, 4));
          assert.ok(short > 0 && ended >= short, `${short} short stacks, ${ended} counted: ${JSON.stringify(d.loss)}`);
        }
      } finally {
        h.close();
        child.kill('SIGKILL');
      }
    }
  } finally {
    useTestTables();
    real.close();
  }
});
