import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWakeuptime, openOffwaketime, type StackDelta } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import { ROOT_SKIP, PIPE_PAIR_MAIN, buildC, run, names, drainUntil } from './helpers.js';

// A reader thread (comm bpfs_reader) blocks in read() on a pipe; a writer thread (bpfs_writer)
// sleeps 100 ms then writes a byte, 10 times: the reader is blocked ~1 s, woken by the writer. The
// reader's own measure also holds the wait for a CPU after each wakeup (not blocked time): long
// waits keep that small next to the blocked time even on a busy machine.
const PIPE_WRITE = /^(anon_)?pipe_write$/;
const PIPE_READ = /^(anon_)?pipe_read$/;
const ROUNDS = 10;
const WAIT_MS = 100;
const WORKLOAD = `
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
int fds[2];
long read_us; /* the reader's own measure of its time in read(): the independent count */
static long now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000L + t.tv_nsec / 1000; }
void bpfscope_do_read(char *c) {
  long t0 = now_us();
  if (read(fds[0], c, 1) != 1) _exit(2);
  read_us += now_us() - t0;
}
void *bpfscope_reader(void *arg) {
  prctl(PR_SET_NAME, "bpfs_reader");
  char c;
  for (int i = 0; i < ${ROUNDS}; i++) bpfscope_do_read(&c);
  return 0;
}
void bpfscope_do_write(void) { if (write(fds[1], "x", 1) != 1) _exit(3); }
void *bpfscope_writer(void *arg) {
  prctl(PR_SET_NAME, "bpfs_writer");
  struct timespec ts = { 0, ${WAIT_MS} * 1000000L };
  for (int i = 0; i < ${ROUNDS}; i++) { nanosleep(&ts, 0); bpfscope_do_write(); }
  return 0;
}
int main(void) {
  ${PIPE_PAIR_MAIN}
  printf("%ld\\n", read_us);
  return 0;
}
`;

/**
 * The reader's blocked time `us` (from the records of `d`) against the reader's own measure of
 * its time in read() (the workload's output): that minus its short on-CPU parts. With
 * DEBUG_BPF_TEST set, every record is printed.
 */
function assertBlockedAsMeasured(d: StackDelta, us: number, output: string): void {
  const expected = Number(output.trim());
  assert.ok(expected >= ROUNDS * WAIT_MS * 1000 * 0.9, `reader measured ${expected} µs in read()`);
  if (process.env.DEBUG_BPF_TEST)
    for (const r of d.records)
      console.log(
        r.comm,
        r.value,
        names(r.user).join(';'),
        names(r.kernel).join(';'),
        '<-',
        r.waker?.comm,
        names(r.waker?.user ?? []).join(';'),
        names(r.waker?.kernel ?? []).join(';'),
        r.waker?.kernelMissing,
      );
  assert.ok(us > expected * 0.8 && us <= expected * 1.02, `reader blocked ${us} µs ≈ ${expected} µs it measured in read()`);
}

test('wakeuptime: the pipe writer wakes the reader, through pipe_write', { skip: ROOT_SKIP, timeout: 120000 }, async () => {
  const bin = buildC('bpfscope_pipe', WORKLOAD);
  const { child, done, go, ready, stdout } = run(bin);
  await ready;
  const h = openWakeuptime({ pid: [child.pid!] }, createSymbolizer());
  await h.ready; // the CFI walker's tools attach once the unwind tables are loaded
  go();
  try {
    const d = await drainUntil(h, done);
    const byWriter = d.records.filter((r) => r.comm === 'bpfs_reader' && r.waker?.comm === 'bpfs_writer');
    assert.ok(byWriter.length > 0, `reader woken by bpfs_writer; got ${d.records.map((r) => `${r.comm}<-${r.waker?.comm}`).join(', ')}`);
    let us = 0;
    let viaPipe = 0;
    for (const r of byWriter) {
      assert.equal(r.pid, child.pid);
      assert.equal(r.waker!.pid, child.pid);
      assert.notEqual(r.waker!.tid, r.tid);
      us += r.value;
      const k = names(r.waker!.kernel);
      // 6.x kernels name it anon_pipe_write (pipe_write before): the waker is inside the write
      const ip = k.findIndex((n) => PIPE_WRITE.test(n));
      const it = k.indexOf('try_to_wake_up');
      if (ip >= 0) {
        viaPipe += r.value;
        assert.ok(it > ip, `root first: pipe_write before try_to_wake_up in ${k.join(';')}`);
        assert.ok(!k.some((n) => n.startsWith('bpf_prog_')), 'tracer frames stripped');
      }
    }
    assertBlockedAsMeasured(d, us, stdout());
    assert.ok(viaPipe >= us * 0.9, `the waker's kernel stack goes through pipe_write (${viaPipe}/${us} µs)`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

test('offwaketime: blocked reader stacks plus the writer as waker', { skip: ROOT_SKIP, timeout: 120000 }, async () => {
  const bin = buildC('bpfscope_pipe2', WORKLOAD);
  const { child, done, go, ready, stdout } = run(bin);
  await ready;
  const h = openOffwaketime({ pid: [child.pid!] }, createSymbolizer());
  await h.ready;
  go();
  try {
    const d = await drainUntil(h, done);
    const recs = d.records.filter((r) => r.comm === 'bpfs_reader' && r.waker?.comm === 'bpfs_writer');
    assert.ok(recs.length > 0, `reader woken by bpfs_writer; got ${d.records.map((r) => `${r.comm}<-${r.waker?.comm}`).join(', ')}`);
    let us = 0;
    let full = 0;
    for (const r of recs) {
      us += r.value;
      const tk = names(r.kernel);
      const tu = names(r.user);
      const wk = names(r.waker!.kernel);
      const ir = tk.findIndex((n) => PIPE_READ.test(n));
      if (ir >= 0 && wk.some((n) => PIPE_WRITE.test(n)) && tu.includes('bpfscope_reader')) {
        full += r.value;
        assert.ok(ir < tk.indexOf('schedule'), `target kernel stack root first: ${tk.join(';')}`);
        assert.ok(tu.indexOf('start_thread') < tu.indexOf('bpfscope_reader') || !tu.includes('start_thread'), 'user stack root first');
      }
    }
    assertBlockedAsMeasured(d, us, stdout());
    assert.ok(full >= us * 0.9, `blocked in pipe_read, woken through pipe_write (${full}/${us} µs)`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});
