/**
 * Kernel stacks without the tracer (issue #9 §2): a stack taken inside a raw tracepoint program
 * starts in the program itself (a JIT address) and the tracepoint's dispatcher (bpf_trace_runN,
 * __bpf_trace_<tp>). None of that was traced. Checked on real stacks of every stack tool, for both
 * attach types: no tracer frame anywhere, no unnamed kernel frame, and the leaf is the function
 * that fires the tracepoint (so no traced frame was skipped either).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openOffcputime, openOffwaketime, openProfile, openWakeuptime } from '../src/index.js';
import type { StackDelta, ToolHandle } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import type { SymbolizedFrame, Symbolizer } from '../src/symbolize/index.js';
import { stripTracer } from '../src/tools/stacks.js';
import { ROOT_SKIP, PIPE_PAIR_MAIN, buildC, run, names, drainUntil, withAttachMode } from './helpers.js';

const TRACER = /^(bpf_prog_[0-9a-f]{16}|bpf_trace_run\d|__bpf_trace_|__traceiter_|bpf_trampoline)/;

// a reader blocked in read() on a pipe, woken 20 times by a writer that sleeps 10 ms between bytes;
// then a short CPU burn making syscalls (for profile's kernel stacks)
const WORKLOAD = `
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
int fds[2];
void *bpfscope_reader(void *arg) {
  prctl(PR_SET_NAME, "bpfs_reader");
  char c;
  for (int i = 0; i < 20; i++) if (read(fds[0], &c, 1) != 1) _exit(2);
  return 0;
}
void *bpfscope_writer(void *arg) {
  prctl(PR_SET_NAME, "bpfs_writer");
  struct timespec ts = { 0, 10 * 1000000L };
  for (int i = 0; i < 20; i++) { nanosleep(&ts, 0); if (write(fds[1], "x", 1) != 1) _exit(3); }
  return 0;
}
int main(void) {
  ${PIPE_PAIR_MAIN}
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t), getppid(); while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
  return 0;
}
`;

/**
 * The leaf must be the function that fires the tracepoint: nothing of the tracer after it, nothing
 * traced skipped. The blocked thread's own stack (our workload, in a syscall) must have no tracer
 * or unnamed frame anywhere; a waker's may (it can be any process, e.g. one running another
 * tool's BPF program when it woke ours), so for it only the leaf is checked.
 */
function checkKernel(frames: SymbolizedFrame[], leaf: RegExp | undefined, what: string, own: boolean): void {
  const n = names(frames);
  if (own) {
    const bad = frames.filter((f) => TRACER.test(f.name) || f.kind === 'unknown');
    assert.equal(bad.length, 0, `${what}: tracer or unnamed frames in ${n.join(';')}`);
  }
  if (leaf && n.length) assert.match(n[n.length - 1], leaf, `${what}: the leaf is where the tracepoint fires: ${n.join(';')}`);
}

type Open = (pid: number, sym: Symbolizer) => ToolHandle<StackDelta>;
// sched_switch fires in __schedule; sched_waking in try_to_wake_up, sched_wakeup_new in wake_up_new_task
const SWITCH_LEAF = /^__schedule$/;
const WAKE_LEAF = /^(try_to_wake_up|wake_up_new_task)$/;
const TOOLS: Array<[string, Open, RegExp | undefined, RegExp | undefined]> = [
  ['offcputime', (pid, sym) => openOffcputime({ pid: [pid] }, sym), SWITCH_LEAF, undefined],
  ['wakeuptime', (pid, sym) => openWakeuptime({ pid: [pid] }, sym), undefined, WAKE_LEAF],
  ['offwaketime', (pid, sym) => openOffwaketime({ pid: [pid] }, sym), SWITCH_LEAF, WAKE_LEAF],
];

for (const mode of ['tp_btf', 'raw_tp']) {
  for (const [tool, open, leaf, wakerLeaf] of TOOLS) {
    test(`${tool} (${mode}): no tracer frame in any kernel stack`, { skip: ROOT_SKIP, timeout: 120000 }, async () => {
      const bin = buildC(`bpfscope_tracer_${tool}`, WORKLOAD);
      const { child, done, go, ready } = run(bin);
      await ready;
      const h: ToolHandle<StackDelta> = withAttachMode(mode, () => open(child.pid!, createSymbolizer()));
      await h.ready; // the CFI walker's tools attach once the unwind tables are loaded
      go();
      try {
        const d = await drainUntil(h, done);
        let stacks = 0;
        for (const r of d.records) {
          if (tool !== 'wakeuptime' && r.kernel.length) {
            stacks++;
            checkKernel(r.kernel, leaf, `${tool} ${r.comm}`, r.pid === child.pid);
          }
          if (r.waker?.kernel.length) {
            stacks++;
            checkKernel(r.waker.kernel, wakerLeaf, `${tool} waker ${r.waker.comm}`, false);
          }
        }
        // the reader blocks 20 times and is woken by the writer: there must be stacks to check
        assert.ok(stacks >= 2, `${tool}: kernel stacks to check (${stacks})`);
      } finally {
        h.close();
        child.kill('SIGKILL');
      }
    });
  }
}

test('profile: perf_event stacks start at the interrupted code (nothing skipped, no own frames)', { skip: ROOT_SKIP, timeout: 120000 }, async () => {
  const bin = buildC('bpfscope_tracer_profile', WORKLOAD);
  const { child, done, go, ready } = run(bin);
  await ready;
  const h = openProfile({ pid: [child.pid!], frequency: 499 }, createSymbolizer());
  await h.ready;
  go();
  try {
    const d = await drainUntil(h, done);
    let kernelSamples = 0;
    for (const r of d.records) {
      const n = names(r.kernel);
      assert.ok(!n.some((x) => /^bpf_prog_[0-9a-f]{16}_do_sample$/.test(x)), `profile's own program on a stack: ${n.join(';')}`);
      if (n.length) kernelSamples += r.value;
    }
    // the getppid() loop spends much of its time in the kernel: its kernel stacks were taken
    assert.ok(kernelSamples > 0, `kernel stacks of the workload's syscalls (${d.records.length} records)`);
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

test('stripTracer: trims the tracer at the leaf, keeps everything else', () => {
  const k = (name: string): SymbolizedFrame => ({ name, kind: 'kernel', module: 'vmlinux', offset: 0 });
  const unk: SymbolizedFrame = { name: '[unknown]', kind: 'unknown' };
  const s = (fs: SymbolizedFrame[]) => names(stripTracer(fs)).join(';');
  assert.equal(s([k('schedule'), k('__schedule'), k('bpf_trace_run4'), unk]), 'schedule;__schedule');
  assert.equal(
    s([k('schedule'), k('__schedule'), k('__bpf_trace_sched_switch'), k('bpf_trace_run4'), k('bpf_prog_0123456789abcdef_sched_switch_btf')]),
    'schedule;__schedule',
  );
  assert.equal(s([k('try_to_wake_up'), k('bpf_trace_run1_[k]')]), 'try_to_wake_up');
  // several probes on the tracepoint: it calls them through __traceiter_<tp>
  assert.equal(s([k('__schedule'), k('__traceiter_sched_switch'), k('__bpf_trace_sched_switch'), k('bpf_trace_run4'), unk]), '__schedule');
  // kernel functions that merely start with bpf_prog_ are not programs; an unknown leaf alone stays
  assert.equal(s([k('worker_thread'), k('bpf_prog_free_deferred')]), 'worker_thread;bpf_prog_free_deferred');
  assert.equal(s([k('do_syscall_64'), unk]), 'do_syscall_64;[unknown]');
  // only at the leaf end: a program legitimately running deeper in the stack is kept
  assert.equal(s([k('bpf_trace_run2'), k('bpf_prog_0123456789abcdef_x'), k('copy_from_user')]), 'bpf_trace_run2;bpf_prog_0123456789abcdef_x;copy_from_user');
});
