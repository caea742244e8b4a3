import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openProfile } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, GATE, run, names, drainUntil, sleep } from './helpers.js';
import { buildNoFp, tablesReady, useTestTables } from './unwind-walk-helpers.js';
import { unwindMemoryLimit } from '../src/unwind/session.js';

useTestTables();

const CHAIN = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
volatile unsigned long sink;
static long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void ub_leaf(void) { for (unsigned long i = 0; i < 200000; i++) sink += i * i; }
__attribute__((noipa)) void ub_mid(void) { ub_leaf(); sink++; }
__attribute__((noipa)) void ub_top(void) { ub_mid(); sink++; }
int main(void) {
  ${GATE}
  while (cpu_ms() < 1000) ub_top(); /* CPU time: the same number of samples on a busy machine */
  return 0;
}
`;

test('profile --unwind cfi: a call chain built without frame pointers has its exact stack', { skip: ROOT_SKIP, timeout: 120000 }, async (t) => {
  const bin = buildNoFp('ub_chain', CHAIN);
  const sym = createSymbolizer();
  const { child, done, go, ready } = run(bin);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: 199, unwind: 'cfi', userStacksOnly: true }, sym);
  try {
    assert.ok(h.unwind, 'the walker is on');
    // tables of the workload, libc and ld.so are ready before it starts working
    await tablesReady(h);
    go();
    const d = await drainUntil(h, done);
    let total = 0;
    let exact = 0;
    const seen = new Map<string, number>();
    for (const r of d.records) {
      if (r.pid !== child.pid) continue;
      total += r.value;
      const u = names(r.user);
      const key = u.join(';');
      seen.set(key, (seen.get(key) ?? 0) + r.value);
      const i = u.indexOf('main');
      if (u[0] === '_start' && i > 0 && u.slice(i).join(';') === 'main;ub_top;ub_mid;ub_leaf') exact += r.value;
    }
    const top = [...seen.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    t.diagnostic(`top stacks ${JSON.stringify(top)} loss ${JSON.stringify(d.loss)} unwinder ${JSON.stringify(h.unwind!())}`);
    assert.ok(total > 50, `samples of the workload: ${total}`);
    assert.ok(
      exact >= total * 0.9,
      `${exact} of ${total} samples have _start;…;main;ub_top;ub_mid;ub_leaf: ${JSON.stringify(top)} loss ${JSON.stringify(d.loss)} ${JSON.stringify(h.unwind!())}`,
    );
    // the process is gone: its mapping array and the tables only it used are freed (exit check ≤ 1 s)
    let info = h.unwind!();
    for (let i = 0; i < 60 && (info.processes > 0 || info.tables > 0 || info.bytes > 0); i++) {
      await sleep(100);
      info = h.unwind!();
    }
    assert.deepEqual([info.processes, info.tables, info.bytes], [0, 0, 0], `freed after exit: ${JSON.stringify(info)}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

test('profile (cfi): BPF map memory of the unwinder stays within BPFSCOPE_UNWIND_MAX_MB; what does not fit is counted', {
  skip: ROOT_SKIP,
  timeout: 120000,
}, async (t) => {
  const bin = buildNoFp('ub_chain_bound', CHAIN);
  const sym = createSymbolizer();
  const { child, done, go, ready } = run(bin);
  await ready;
  // 0.2 MiB: the workload's own table and ld.so's fit, libc's (~30k rows, ~0.5 MiB in the kernel) does not
  process.env.BPFSCOPE_UNWIND_MAX_MB = '0.2';
  let h;
  try {
    h = openProfile({ pid: [child.pid!], frequency: 199, unwind: 'cfi', userStacksOnly: true }, sym);
  } finally {
    delete process.env.BPFSCOPE_UNWIND_MAX_MB;
  }
  try {
    await tablesReady(h);
    // while the process lives (its tables are freed when it exits)
    const info = h.unwind!();
    t.diagnostic(JSON.stringify(info));
    go();
    const d = await drainUntil(h, done);
    assert.equal(info.limitBytes, Math.round(0.2 * 1024 * 1024));
    assert.ok(info.bytes <= info.limitBytes, `within the bound: ${info.bytes} of ${info.limitBytes} bytes`);
    assert.ok(
      info.overLimit >= 1 && Object.values(info.errors).some((e) => /byte BPF map bound/.test(e)),
      `a table left out is reported: ${JSON.stringify(info)}`,
    );
    const samples = d.records.filter((r) => r.pid === child.pid).reduce((n, r) => n + r.value, 0);
    // the workload's frames are still walked by CFI; where libc's table is missing, frame pointers (counted)
    const chain = d.records
      .filter((r) => r.pid === child.pid && names(r.user).join(';').endsWith('main;ub_top;ub_mid;ub_leaf'))
      .reduce((n, r) => n + r.value, 0);
    assert.ok(samples > 50 && chain >= samples * 0.9, `${chain} of ${samples} samples with main;ub_top;ub_mid;ub_leaf`);
    assert.ok((d.loss.unwindNoTable ?? 0) >= samples * 0.9, `walks through libc without its table are counted: ${JSON.stringify(d.loss)}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

test('unwind: a bad BPFSCOPE_UNWIND_MAX_MB is a clear error', () => {
  assert.throws(() => unwindMemoryLimit({ BPFSCOPE_UNWIND_MAX_MB: 'lots' }), /BPFSCOPE_UNWIND_MAX_MB=lots: expected a number of MiB/);
  assert.equal(unwindMemoryLimit({}), 64 * 1024 * 1024);
});

test('profile (cfi): node --perf-basic-prof keeps its JIT frames (frame pointers where there is no CFI) and reaches the root', {
  skip: ROOT_SKIP,
  timeout: 180000,
}, async (t) => {
  // JS hot loop started after the capture and the tables are ready (a line on stdin)
  const js = `process.stdout.write('R');
process.stdin.once('data', () => {
  function bpfscopeJitLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i); return s; }
  function bpfscopeJitOuter() { return bpfscopeJitLoop(2e6); }
  const t0 = process.cpuUsage().user;
  while (process.cpuUsage().user - t0 < 1.5e6) bpfscopeJitOuter();
  process.exit(0);
});`;
  const { child, done, go, ready } = run(process.execPath, ['--perf-basic-prof', '-e', js]);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: 199, unwind: 'cfi', userStacksOnly: true }, createSymbolizer());
  try {
    for (let i = 0; i < 1200 && (h.unwind!().pending > 0 || h.unwind!().tables === 0); i++) await sleep(50); // node's table: ~1M rows, cold
    go();
    const d = await drainUntil(h, done);
    let total = 0;
    let jit = 0;
    let rooted = 0;
    for (const r of d.records) {
      if (r.pid !== child.pid) continue;
      total += r.value;
      const u = names(r.user);
      if (u.some((n) => /bpfscopeJitLoop/.test(n))) jit += r.value;
      if (u.includes('__libc_start_call_main')) rooted += r.value;
    }
    t.diagnostic(`${jit} of ${total} samples in bpfscopeJitLoop, ${rooted} reaching __libc_start_call_main; loss ${JSON.stringify(d.loss)}`);
    assert.ok(total > 100, `samples ${total}`);
    assert.ok(jit >= total * 0.8, `JIT frames named from perf-PID.map: ${jit} of ${total}`);
    assert.ok((d.loss.unwindNoTable ?? 0) <= total - rooted, `complete stacks through code without CFI are not counted as loss: ${JSON.stringify(d.loss)}`);
    assert.ok(rooted >= total * 0.9, `through V8's frames (frame pointers) and node's C++ (CFI) to the root: ${rooted} of ${total}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

// no gate: the workload works from its first instruction after main, as a process started just
// before `bpfscope profile -p PID` does; once told "go" (after sampling started) it works 1.5 s of
// CPU time more and exits (CPU time: the same number of samples on a busy machine)
const FRESH = `
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>
volatile unsigned long sink;
static long cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
__attribute__((noipa)) void uf_leaf(void) { for (unsigned long i = 0; i < 200000; i++) sink += i * i; }
__attribute__((noipa)) void uf_mid(void) { uf_leaf(); sink++; }
int main(void) {
  if (write(1, "R", 1) != 1) return 1;
  fcntl(0, F_SETFL, O_NONBLOCK);
  char b[8];
  while (read(0, b, sizeof b) <= 0) uf_mid();
  long t0 = cpu_ms();
  while (cpu_ms() - t0 < 1500) uf_mid();
  return 0;
}
`;

test('profile -p (cfi): a process started just before the capture is sampled only once its tables are loaded: no stack walked without a table, >= 99 % complete', {
  skip: ROOT_SKIP,
  timeout: 120000,
}, async (t) => {
  const bin = buildNoFp('uf_fresh', FRESH);
  const sym = createSymbolizer();
  const { child, done, go, ready } = run(bin);
  await ready; // exec'd and running: its tables (generated cold, no disk cache) are not loaded yet
  const h = openProfile({ pid: [child.pid!], frequency: 199, unwind: 'cfi', userStacksOnly: true }, sym);
  try {
    assert.ok(h.unwind, 'the walker is on');
    assert.ok(h.ready, 'sampling waits for the tables');
    const opened = Date.now();
    await h.ready;
    const info = h.unwind!();
    t.diagnostic(`sampling started after ${h.startTime - opened} ms; unwinder ${JSON.stringify(info)}`);
    assert.equal(info.pending, 0, `every table generated before sampling: ${JSON.stringify(info)}`);
    assert.ok(info.tables >= 3, `tables of the workload, libc and ld.so loaded: ${JSON.stringify(info)}`);
    go();
    const d = await drainUntil(h, done);
    let total = 0;
    let complete = 0;
    for (const r of d.records) {
      if (r.pid !== child.pid) continue;
      total += r.value;
      const u = names(r.user);
      if (u[0] === '_start' && u.includes('main')) complete += r.value;
    }
    t.diagnostic(`${complete} of ${total} samples complete; loss ${JSON.stringify(d.loss)}`);
    assert.equal(d.loss.unwindNoTable ?? 0, 0, `no stack walked without its table: ${JSON.stringify(d.loss)}`);
    assert.ok(total > 100, `samples of the workload: ${total}`);
    assert.ok(complete >= total * 0.99, `${complete} of ${total} samples reach _start through main: ${JSON.stringify(d.loss)}`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});
