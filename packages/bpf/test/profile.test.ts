import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openProfile, BpfError } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, GATE, buildC, run, names, drainUntil } from './helpers.js';

// Spends 70% of its CPU time in bpfscope_hot_a and 30% in bpfscope_hot_b (measured with the
// thread CPU clock, so the shares hold even when the machine is busy), for `argv[1]` ms of CPU.
const WORKLOAD = `
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
static double cpu_ms(void) {
  struct timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
volatile unsigned long sink;
void bpfscope_hot_a(double ms) {
  double end = cpu_ms() + ms;
  do { for (int i = 0; i < 20000; i++) sink += i * 7; } while (cpu_ms() < end);
}
void bpfscope_hot_b(double ms) {
  double end = cpu_ms() + ms;
  do { for (int i = 0; i < 20000; i++) sink += i * 3; } while (cpu_ms() < end);
}
int main(int argc, char **argv) {
  ${GATE}
  double total = atof(argv[1]), spent = 0;
  while (spent < total) { bpfscope_hot_a(7); bpfscope_hot_b(3); spent += 10; }
  return 0;
}
`;

test('profile: known 70/30 split, root-first stacks, timeline', { skip: ROOT_SKIP, timeout: 120000 }, async (t) => {
  const bin = buildC('bpfscope_prof', WORKLOAD);
  const sym = createSymbolizer();
  const { child, done, go, ready, stdout } = run(bin, ['1500']);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: 499 }, sym);
  go();
  try {
    // drain while it runs, as the collector does (the symbolizer reads /proc/PID/maps while it lives)
    const d = await drainUntil(h, done);
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
    // ~1.5 s of CPU at 499 Hz ≈ 750 samples (fewer if preempted; at least a few hundred)
    assert.ok(a + b >= 300, `enough samples in the two functions: ${a}+${b} of ${total}`);
    assert.ok((a + b) / total > 0.9, `most samples in the two functions: ${a + b}/${total}`);
    const shareA = a / (a + b);
    t.diagnostic(`samples: hot_a ${a}, hot_b ${b}, total ${total}; hot_a share ${shareA.toFixed(3)} (expected 0.70)`);
    // binomial sd at n≥300 is ≤ 2.7%; allow 3 sd plus scheduling noise
    assert.ok(Math.abs(shareA - 0.7) < 0.09, `bpfscope_hot_a share ${shareA.toFixed(3)} ≈ 0.70`);

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
  assert.throws(() => openProfile({ frequency: 0 }, sym), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && /frequency/.test(e.message));
  assert.throws(() => openProfile({ userStacksOnly: true, kernelStacksOnly: true }, sym), /mutually exclusive/);
  assert.throws(() => openProfile({ pid: [-3] }, sym), /invalid pid -3/);
});
