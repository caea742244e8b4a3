import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openOffcputime, BpfError } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, GATE, buildC, run, names, drainUntil, withAttachMode } from './helpers.js';

// 3 threads named bpfs_sleeper, each sleeping 6 × 80 ms: 1.44 s of known blocked time.
const THREADS = 3;
const ROUNDS = 6;
const SLEEP_MS = 80;
const WORKLOAD = `
#include <pthread.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <time.h>
#include <stdio.h>
#include <stdatomic.h>
_Atomic long slept_us; /* measured by the workload itself: the independent count */
static long now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000L + t.tv_nsec / 1000; }
void bpfscope_do_sleep(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  long t0 = now_us();
  nanosleep(&ts, 0);
  slept_us += now_us() - t0;
}
void *bpfscope_sleeper(void *arg) {
  prctl(PR_SET_NAME, "bpfs_sleeper");
  for (int i = 0; i < ${ROUNDS}; i++) bpfscope_do_sleep(${SLEEP_MS});
  return 0;
}
int main(void) {
  ${GATE}
  pthread_t t[${THREADS}];
  for (int i = 0; i < ${THREADS}; i++) pthread_create(&t[i], 0, bpfscope_sleeper, 0);
  for (int i = 0; i < ${THREADS}; i++) pthread_join(t[i], 0);
  printf("%ld\\n", (long)slept_us);
  return 0;
}
`;

for (const mode of ['tp_btf', 'raw_tp']) {
  test(`offcputime (${mode}): threads sleeping a known time are reported within 10%`, { skip: ROOT_SKIP, timeout: 120000 }, async (t) => {
    const bin = buildC('bpfscope_offcpu', WORKLOAD);
    const sym = createSymbolizer();
    const { child, done, go, ready, stdout } = run(bin);
    await ready;
    const h = withAttachMode(mode, () => openOffcputime({ pid: [child.pid!], userThreadsOnly: true }, sym));
    await h.ready; // the CFI walker's tools attach once the unwind tables are loaded
    go();
    try {
      const d = await drainUntil(h, done);
      assert.equal(d.unit, 'microseconds');
      let sleeperUs = 0;
      const tids = new Set<number>();
      let withStack = 0;
      for (const r of d.records) {
        assert.equal(r.pid, child.pid);
        if (r.comm !== 'bpfs_sleeper') continue;
        sleeperUs += r.value;
        tids.add(r.tid);
        const k = names(r.kernel);
        const u = names(r.user);
        if (k.some((n) => /nanosleep/.test(n)) && u.includes('bpfscope_sleeper')) {
          withStack += r.value;
          assert.ok(u.indexOf('bpfscope_sleeper') < u.length - 1 || u.length === 1, 'user stack root first');
          assert.ok(k.indexOf('do_syscall_64') < k.findIndex((n) => /nanosleep/.test(n)), `kernel stack root first: ${k.join(';')}`);
        }
      }
      const nominal = THREADS * ROUNDS * SLEEP_MS * 1000;
      // what the threads measured around nanosleep (≥ nominal; more when the machine is busy)
      const expected = Number(stdout().trim());
      assert.ok(expected >= nominal && expected < nominal * 2, `workload measured ${expected} µs of sleep`);
      if (process.env.DEBUG_BPF_TEST)
        for (const r of d.records) console.log(r.tid, r.comm, r.value, names(r.user).join(';'), names(r.kernel).join(';'), d.loss, d.events);
      assert.equal(tids.size, THREADS, 'one set of records per sleeping thread');
      t.diagnostic(`offcputime ${sleeperUs} µs vs ${expected} µs measured by the threads (${((sleeperUs / expected - 1) * 100).toFixed(1)}%)`);
      assert.ok(Math.abs(sleeperUs - expected) <= expected * 0.1, `blocked total ${sleeperUs} µs ≈ ${expected} µs measured by the threads (±10%)`);
      const sample = d.records.filter((r) => r.comm === 'bpfs_sleeper').map((r) => `${names(r.user).join(';')} | ${names(r.kernel).join(';')} ${r.value}`);
      assert.ok(
        withStack >= expected * 0.8,
        `the sleeps carry the nanosleep kernel stack and the bpfscope_sleeper user frame (${withStack} µs): ${sample.join(' / ')}`,
      );
    } finally {
      h.close();
      child.kill('SIGKILL');
    }
  });
}

test('offcputime: bad options give a clear BpfError', () => {
  const sym = { kernel: () => [], user: () => [], notePid: () => {} };
  assert.throws(
    () => openOffcputime({ minBlockUs: 10, maxBlockUs: 5 }, sym),
    (e: unknown) => e instanceof BpfError && /minBlockUs/.test(e.message),
  );
  assert.throws(() => openOffcputime({ userThreadsOnly: true, kernelThreadsOnly: true }, sym), /mutually exclusive/);
  assert.throws(() => openOffcputime({ state: 1.5 }, sym), /invalid state/);
});

test('offcputime: --state filter and kernel-only stacks', { skip: ROOT_SKIP, timeout: 120000 }, async () => {
  const bin = buildC('bpfscope_offcpu_state', WORKLOAD);
  const sym = createSymbolizer();
  // nanosleep sleeps in TASK_INTERRUPTIBLE (1): state=1 keeps it, state=2 (TASK_UNINTERRUPTIBLE) drops it
  for (const state of [1, 2]) {
    const { child, done, go, ready } = run(bin);
    await ready;
    const h = openOffcputime({ pid: [child.pid!], state, kernelStacksOnly: true }, sym);
    await h.ready;
    go();
    try {
      const d = await drainUntil(h, done);
      const sleeps = d.records.filter((r) => r.comm === 'bpfs_sleeper' && names(r.kernel).includes('do_nanosleep'));
      const us = sleeps.reduce((s, r) => s + r.value, 0);
      const nominal = THREADS * ROUNDS * SLEEP_MS * 1000;
      for (const r of d.records) assert.deepEqual(r.user, [], 'kernelStacksOnly: no user stacks');
      if (state === 1) assert.ok(us >= nominal * 0.9, `state=1 keeps the interruptible sleeps: ${us} µs`);
      else assert.equal(us, 0, `state=2 drops the interruptible sleeps: ${us} µs`);
    } finally {
      h.close();
      child.kill('SIGKILL');
    }
  }
});
