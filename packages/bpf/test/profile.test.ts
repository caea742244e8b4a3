import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openProfile, BpfError } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, GATE, buildC, run, names, drainUntil } from './helpers.js';

// Alternates between bpfscope_hot_a and bpfscope_hot_b for `argv[1]` ms of CPU time, with segment
// lengths drawn at random (a: 1..9 ms, b: 0.5..4 ms of thread CPU time), so no sampling rate can
// stay phase-locked with the pattern. Each function measures the thread CPU time it really spent
// (CLOCK_THREAD_CPUTIME_ID: preemption on a busy machine does not count) and the workload prints
// the two totals at the end: the expected share is measured, not assumed.
const WORKLOAD = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
static double cpu_ms(void) {
  struct timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
volatile unsigned long sink;
static double spent_a, spent_b;
__attribute__((noinline)) void bpfscope_hot_a(double ms) {
  double start = cpu_ms(), end = start + ms, now;
  do { for (int i = 0; i < 2000; i++) sink += i * 7; now = cpu_ms(); } while (now < end);
  spent_a += now - start;
}
__attribute__((noinline)) void bpfscope_hot_b(double ms) {
  double start = cpu_ms(), end = start + ms, now;
  do { for (int i = 0; i < 2000; i++) sink += i * 3; now = cpu_ms(); } while (now < end);
  spent_b += now - start;
}
int main(int argc, char **argv) {
  ${GATE}
  struct timespec seed; clock_gettime(CLOCK_MONOTONIC, &seed);
  srand48(seed.tv_nsec ^ getpid());
  double total = atof(argv[1]);
  while (spent_a + spent_b < total) { bpfscope_hot_a(1 + 8 * drand48()); bpfscope_hot_b(0.5 + 3.5 * drand48()); }
  printf("%.6f %.6f\\n", spent_a, spent_b);
  return 0;
}
`;

// a prime rate (and random segment lengths above): the sample instants cannot line up with the pattern
const HZ = 997;

test('profile: measured a/b CPU split, root-first stacks, timeline', { skip: ROOT_SKIP, timeout: 120000 }, async (t) => {
  const bin = buildC('bpfscope_prof', WORKLOAD);
  const sym = createSymbolizer();
  const { child, done, go, ready, stdout } = run(bin, ['1500']);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: HZ }, sym);
  await h.ready; // the CFI walker's tools sample once the unwind tables are loaded
  go();
  try {
    // drain while it runs, as the collector does (the symbolizer reads /proc/PID/maps while it lives)
    const d = await drainUntil(h, done);
    const [msA, msB] = stdout().trim().split(' ').map(Number);
    assert.ok(msA > 0 && msB > 0, `the workload reports its CPU time per function: ${JSON.stringify(stdout())}`);
    const expected = msA / (msA + msB);
    assert.equal(d.kind, 'stacks');
    assert.equal(d.unit, 'samples');
    let a = 0;
    let b = 0;
    let total = 0;
    for (const r of d.records) {
      assert.equal(r.pid, child.pid, 'pid filter lets only the workload through');
      assert.equal(r.comm, 'bpfscope_prof');
      total += r.value;
      const u = names(r.user);
      const ia = u.indexOf('bpfscope_hot_a');
      const ib = u.indexOf('bpfscope_hot_b');
      if (ia >= 0 || ib >= 0) {
        const im = u.indexOf('main');
        assert.ok(im >= 0 && im < Math.max(ia, ib), `root first: main before the leaf function in ${u.join(';')}`);
      }
      if (ia >= 0) a += r.value;
      if (ib >= 0) b += r.value;
    }
    // ~1.5 s of CPU at 997 Hz ≈ 1500 samples; a third of that still gives a tolerance under 0.06
    const n = a + b;
    assert.ok(n >= 500, `enough samples in the two functions: ${a}+${b} of ${total}`);
    assert.ok(n / total > 0.9, `most samples in the two functions: ${n}/${total}`);
    const shareA = a / n;
    // each sample lands in a with probability `expected`: the share's standard deviation is
    // sqrt(p(1-p)/n) (random segment lengths make the samples no more correlated than that);
    // 4.5 sd fails by chance about once in 150 000 runs
    const sd = Math.sqrt((expected * (1 - expected)) / n);
    const tol = 4.5 * sd;
    t.diagnostic(
      `CPU time: hot_a ${msA.toFixed(1)} ms, hot_b ${msB.toFixed(1)} ms (share ${expected.toFixed(3)}); ` +
        `samples: hot_a ${a}, hot_b ${b}, total ${total} (share ${shareA.toFixed(3)}, tolerance ±${tol.toFixed(3)})`,
    );
    assert.ok(
      Math.abs(shareA - expected) < tol,
      `bpfscope_hot_a sample share ${shareA.toFixed(3)} ≈ its CPU-time share ${expected.toFixed(3)} ± ${tol.toFixed(3)}`,
    );

    // timeline: every sample is in a bucket, buckets within the capture
    const tl = d.timeline!;
    assert.equal(tl.resolutionMs, 10);
    const tlTotal = tl.entries.reduce((s, e) => s + e.count, 0);
    assert.equal(tlTotal, total, 'timeline counts add up to the record values');
    const elapsed = Date.now() - h.startTime;
    for (const e of tl.entries) {
      assert.ok(e.offsetMs >= 0 && e.offsetMs <= elapsed, `offset ${e.offsetMs} within [0, ${elapsed}]`);
      assert.ok(e.record >= 0 && e.record < d.records.length);
    }
    // 1.5 s of CPU spans at least 150 buckets of 10 ms (more when the machine is busy)
    const buckets = new Set(tl.entries.map((e) => e.offsetMs));
    assert.ok(buckets.size > 50, `samples spread over many 10 ms buckets (${buckets.size})`);
    assert.ok(d.events >= total);

    // drained: the next interval starts empty
    const d2 = h.drain();
    assert.equal(d2.records.length, 0);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

test('profile: bad options give a clear BpfError', () => {
  const sym = { kernel: () => [], user: () => [], notePid: () => {} };
  assert.throws(
    () => openProfile({ frequency: 0 }, sym),
    (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && /frequency/.test(e.message),
  );
  assert.throws(() => openProfile({ userStacksOnly: true, kernelStacksOnly: true }, sym), /mutually exclusive/);
  assert.throws(() => openProfile({ pid: [-3] }, sym), /invalid pid -3/);
});
