// Real-kernel tests of the bpfscope CLI: BPF programs are loaded and attached for real against small
// C workloads built here (gcc -fno-omit-frame-pointer, function names we choose). Needs root; as
// non-root only the checks that need no privileges run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleForNobody, runAsNobody } from '../../../tests/support/unprivileged.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MAIN = 'apps/collector/src/cli/main.ts';
const isRoot = process.geteuid?.() === 0;
const NOT_ROOT = isRoot ? false : 'needs root: loads and attaches BPF programs (CI runs as root)';

let dir = '';
const workloads = new Set<ChildProcess>();

const SPIN_C = `
#include <stdint.h>
#include <unistd.h>
volatile uint64_t sink;
__attribute__((noinline)) void bpfscope_hot_leaf(void) { for (int i = 0; i < 200000; i++) sink += i * 7; }
volatile int keep_going = 1;
/* loops on a volatile flag, not for (;;): a call gcc knows never returns leaves a return address
 * past the caller's end, which names the next function in every profiler */
__attribute__((noinline)) void bpfscope_outer(void) { while (keep_going) bpfscope_hot_leaf(); }
int main(void) { bpfscope_outer(); return sink == 42; }
`;

// nanosleep through an inline syscall: libc's wrapper has no frame pointer, so a frame-pointer
// unwinder would skip its caller (the function we look for)
const SLEEP_C = `
#include <time.h>
__attribute__((noinline)) void bpfscope_sleepy_wait(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(35L), "D"(&ts), "S"(0L) : "rcx", "r11", "memory");
}
volatile int keep_going = 1;
int main(void) { while (keep_going) bpfscope_sleepy_wait(); return 0; }
`;

function build(name: string, src: string): string {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(c, src);
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', c, '-o', exe]);
  return exe;
}

function startWorkload(exe: string): ChildProcess {
  const c = spawn(exe, [], { stdio: 'ignore' });
  workloads.add(c);
  return c;
}

function stopWorkload(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  workloads.delete(c);
}

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[], opts: { prefix?: string[]; onSpawn?: (c: ChildProcess) => void; timeoutMs?: number } = {}): Promise<Result> {
  const argv = [...(opts.prefix ?? []), process.execPath, '--conditions=source', '--import', 'tsx', MAIN, ...args];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 60000);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
    opts.onSpawn?.(c);
  });
}

const CLK_TCK = 100; // USER_HZ: the unit of utime/stime in /proc/PID/stat on Linux

/** utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function foldedLines(text: string): Array<{ frames: string[]; value: number }> {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const sp = l.lastIndexOf(' ');
      return { frames: l.slice(0, sp).split(';'), value: Number(l.slice(sp + 1)) };
    });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfscope-cli-'));
});

after(() => {
  for (const c of workloads) stopWorkload(c);
  rmSync(dir, { recursive: true, force: true });
});

test('unknown PID: usage + the PID named, exit 2 (no privileges needed)', async () => {
  const r = await cli(['profile', '-f', '-p', '999999999', '1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^usage: bpfscope profile/);
  assert.match(r.stderr, /PID 999999999 does not exist/);
  assert.equal(r.stdout, '');
});

test('bad flag: usage + reason naming the flag, exit 2', async () => {
  const r = await cli(['biolatency', '-Z']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^usage: bpfscope biolatency/);
  assert.match(r.stderr, /unrecognized arguments: -Z/);
});

test('without privileges (uid 65534): one clear sentence, exit 1', { skip: isRoot ? false : 'needs root to switch to uid 65534 with setpriv' }, async () => {
  // the CLI's entry point bundled into a world-readable temp dir: user nobody may not be able to
  // enter the checkout (a clone under /root or in a 0700 directory)
  const bundle = await bundleForNobody(MAIN);
  try {
    const r = await runAsNobody(bundle, ['profile', '-f', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^bpfscope profile: needs root, or CAP_BPF \+ CAP_PERFMON/);
  } finally {
    bundle.dispose();
  }
});

test('profile -f -p PID 2: folded lines name the workload functions, root first', { skip: NOT_ROOT }, async () => {
  const w = startWorkload(build('spinner', SPIN_C));
  try {
    await new Promise((r) => setTimeout(r, 200));
    const cpu0 = cpuTicks(w.pid!);
    const r = await cli(['profile', '-f', '-F', '99', '-p', String(w.pid), '2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = foldedLines(r.stdout);
    assert.ok(lines.length > 0, `no folded lines; stderr: ${r.stderr}`);
    for (const l of lines) {
      assert.equal(l.frames[0], 'spinner', `comm first: ${l.frames.join(';')}`);
      assert.ok(Number.isInteger(l.value) && l.value > 0);
    }
    const hot = lines.filter((l) => l.frames.includes('bpfscope_hot_leaf'));
    const hotSamples = hot.reduce((a, l) => a + l.value, 0);
    const total = lines.reduce((a, l) => a + l.value, 0);
    // a spinning thread at 99 Hz for 2 s: at most 99 per second of the CPU time it got while the
    // CLI ran (less on a busy machine: no fixed lower count), nearly all of them in the leaf
    const cpuSec = (cpuTicks(w.pid!) - cpu0) / CLK_TCK;
    const most = 99 * cpuSec + 4.5 * Math.sqrt(99 * cpuSec) + 2;
    assert.ok(total >= 5 && total <= most, `total samples ${total}, at most ${most.toFixed(0)} for ${cpuSec.toFixed(2)} s of CPU`);
    assert.ok(hotSamples / total > 0.8, `hot leaf share ${hotSamples}/${total}\n${r.stdout}`);
    const l = hot.sort((a, b) => b.value - a.value)[0];
    const iMain = l.frames.indexOf('main');
    const iOuter = l.frames.indexOf('bpfscope_outer');
    const iLeaf = l.frames.indexOf('bpfscope_hot_leaf');
    assert.ok(iMain > 0 && iMain < iOuter && iOuter < iLeaf, `root → leaf order: ${l.frames.join(';')}`);
  } finally {
    stopWorkload(w);
  }
});

test('offcputime -f -p PID 2: the sleeping function, with blocked time in µs close to the duration', { skip: NOT_ROOT }, async () => {
  const w = startWorkload(build('sleeper', SLEEP_C));
  try {
    await new Promise((r) => setTimeout(r, 200));
    const r = await cli(['offcputime', '-f', '-p', String(w.pid), '2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = foldedLines(r.stdout);
    assert.ok(lines.length > 0, `no folded lines; stderr: ${r.stderr}`);
    const mine = lines.filter((l) => l.frames[0] === 'sleeper');
    assert.equal(mine.length, lines.length, 'only the traced PID');
    const sleepy = mine.filter((l) => l.frames.includes('bpfscope_sleepy_wait'));
    assert.ok(sleepy.length > 0, r.stdout);
    const us = sleepy.reduce((a, l) => a + l.value, 0);
    // 2 s of capture, the thread sleeps nearly all the time (in 20 ms naps): at least 80% of the
    // 2 s, and at most the CLI's whole run time (the capture may end late on a busy machine)
    assert.ok(us > 1.6e6 && us <= r.ms * 1000, `blocked µs ${us} (CLI ran ${r.ms} ms)\n${r.stdout}`);
    const l = sleepy[0].frames;
    assert.ok(l.indexOf('main') < l.indexOf('bpfscope_sleepy_wait'), l.join(';'));
  } finally {
    stopWorkload(w);
  }
});

test('biolatency -j 1 1 with direct I/O running prints valid JSON with the I/O counted', { skip: NOT_ROOT }, async () => {
  const file = join(dir, 'dio.bin');
  // writes until stopped, however long the CLI takes to start on a busy machine
  const dd = spawn('bash', ['-c', `while :; do dd if=/dev/zero of=${file} bs=64k count=16 oflag=direct conv=notrunc status=none; sleep 0.05; done`], {
    stdio: 'ignore',
  });
  workloads.add(dd);
  try {
    const r = await cli(['biolatency', '-j', '1', '1']);
    assert.equal(r.code, 0, r.stderr);
    const objs = r.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { ts: string; val_type: string; data: Array<Record<string, number>> });
    assert.equal(objs.length, 1, r.stdout);
    const o = objs[0];
    assert.match(o.ts, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(o.val_type, 'usecs');
    const count = o.data.reduce((a, b) => a + b.count, 0);
    assert.ok(count > 0, `no I/O counted: ${r.stdout}`);
    for (const [i, b] of o.data.entries()) {
      assert.deepEqual(Object.keys(b), ['interval-start', 'interval-end', 'count']);
      assert.equal(b['interval-end'], 2 ** (i + 1) - 1);
    }
  } finally {
    stopWorkload(dd);
  }
});

test('SIGINT ends a capture early and still prints what was gathered', { skip: NOT_ROOT }, async () => {
  const w = startWorkload(build('spinner2', SPIN_C));
  try {
    const r = await cli(['profile', '-p', String(w.pid)], {
      onSpawn: (c) => {
        let seen = '';
        c.stdout!.on('data', (d) => {
          seen += d;
          // the header is printed once attached: sample a moment, then Ctrl-C
          if (/Hit Ctrl-C to end\./.test(seen)) setTimeout(() => c.kill('SIGINT'), 1500);
        });
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Sampling at 49 Hertz of PID \[\d+\] by user \+ kernel stack\.\.\. Hit Ctrl-C to end\.\n\n/);
    assert.match(r.stdout, /    bpfscope_hot_leaf/);
    assert.match(r.stdout, /    -                spinner2 \(\d+\)\n        \d+\n/);
  } finally {
    stopWorkload(w);
  }
});
