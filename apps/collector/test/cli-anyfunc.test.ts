// The CLI of funccount / stackcount / funclatency / runqlat: bcc's output from real BPF runs on a
// workload built here (a function called an exact number of times after the CLI has attached),
// and exit status 2 with the reason for every bad pattern.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/run.js';

const isRoot = process.geteuid?.() === 0;
const NOT_ROOT = isRoot ? false : 'needs root: loads and attaches BPF programs (CI runs as root)';
const CALLS = 4321;

const dir = mkdtempSync(join(tmpdir(), 'bpfscope-cli-anyfunc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// waits for a line on stdin (the CLI attaches meanwhile), then calls the function CALLS times
const SRC = `
#include <unistd.h>
__attribute__((noinline)) int bs_cli_target(int x) { __asm__ volatile(""); return x * 2; }
__attribute__((noinline)) void bs_cli_caller(void) { for (int i = 0; i < ${CALLS}; i++) bs_cli_target(i); }
int main(void) { char b[8]; if (read(0, b, sizeof b) <= 0) return 1; bs_cli_caller(); return 0; }
`;

function build(): string {
  const bin = join(dir, 'cliwork');
  writeFileSync(`${bin}.c`, SRC);
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', bin, `${bin}.c`]);
  return bin;
}

/**
 * The CLI's output, and `running`: resolves when its capture loop starts, which registers for stop
 * requests right after the tool's open() attached the probes (open is synchronous), so a workload
 * released then is traced from its first call, however long loading took on a busy machine.
 */
function captureIO(): { io: CliIO; out: () => string; err: () => string; running: Promise<void> } {
  let out = '';
  let err = '';
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const onStop = () => (started(), () => {});
  return { io: { out: (s) => void (out += s), err: (s) => void (err += s), onStop }, out: () => out, err: () => err, running };
}

function cliRun(args: string[]): { done: Promise<{ code: number; out: string; err: string }>; running: Promise<void> } {
  const c = captureIO();
  const done = main(args, { io: c.io }).then((code) => ({ code, out: c.out(), err: c.err() }));
  return { done, running: c.running };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliRun(args).done;
}

test('funccount / stackcount -U / funclatency on a uprobe: exact count, bcc layouts', { skip: NOT_ROOT, timeout: 120000 }, async () => {
  const bin = build();
  for (const [args, check] of [
    [
      ['funccount', '-d', '2', `${bin}:bs_cli_*`],
      (out: string) => {
        assert.match(out, /^Tracing 2 functions for ".*cliwork:bs_cli_\*"\.\.\. Hit Ctrl-C to end\.\n\nFUNC {32} {4}COUNT\n/);
        assert.match(out, new RegExp(`cliwork:bs_cli_caller +1\\n.*cliwork:bs_cli_target +${CALLS}\\nDetaching\\.\\.\\.\\n$`));
      },
    ],
    [
      // -p: the process's mappings are read at attach time, so its stacks get names after it exited
      ['stackcount', '-U', '-f', '-D', '2', '-p', 'PID', `${bin}:bs_cli_target`],
      (out: string) => assert.match(out, new RegExp(`^cliwork;(.*;)?main;bs_cli_caller;bs_cli_target ${CALLS}\n$`)),
    ],
    [
      ['funclatency', '-d', '2', '-j', `${bin}:bs_cli_target`],
      (out: string) => {
        const o = JSON.parse(out.trim()) as { val_type: string; count: number; data: Array<{ count: number }> };
        assert.equal(o.val_type, 'nsecs');
        assert.equal(o.count, CALLS);
        assert.equal(
          o.data.reduce((a, d) => a + d.count, 0),
          CALLS,
        );
      },
    ],
  ] as const) {
    const w = spawn(bin, [], { stdio: ['pipe', 'ignore', 'inherit'] });
    const run = cliRun(args.map((a) => (a === 'PID' ? String(w.pid) : a)));
    // released once the probes are attached (the workload takes a few ms of the 2 s capture); a CLI
    // that failed before attaching ends without running
    await Promise.race([run.running, run.done]);
    w.stdin!.end('go\n');
    const r = await run.done;
    assert.equal(r.code, 0, r.err);
    check(r.out);
  }
});

test('runqlat -P -j 1 1: one JSON histogram per process, flags from the tool table', { skip: NOT_ROOT, timeout: 60000 }, async () => {
  const r = await cli(['runqlat', '-P', '-j', '1', '1']);
  assert.equal(r.code, 0, r.err);
  const objs = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { val_type: string; pid: number; data: Array<{ count: number }> });
  assert.ok(objs.length > 0, 'some process waited on a run queue within a second');
  for (const o of objs) {
    assert.equal(o.val_type, 'usecs');
    assert.ok(Number.isInteger(o.pid) && o.pid > 0);
    assert.ok(o.data.some((d) => d.count > 0));
  }
  const t = await cli(['runqlat', '-m', '1', '1']);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^Tracing run queue latency\.\.\. Hit Ctrl-C to end\.\n\n {5}msecs {15}: count {5}distribution\n/);
});

test('bad patterns exit 2 naming what was wrong', { skip: NOT_ROOT, timeout: 60000 }, async () => {
  const bin = build();
  for (const [args, re] of [
    [['funccount', 'vfs_raed'], /error: no kernel function matches "vfs_raed"; close matches: .*vfs_read/],
    [['funccount', '--max-probes', '2', 'vfs_*'], /error: "vfs_\*" matches \d+ kernel functions, more than the limit of 2/],
    [['stackcount', '/no/such/bin:main'], /error: binary or library "\/no\/such\/bin" does not exist/],
    [['funclatency', `${bin}:no_such_fn`], /error: no function of .*cliwork matches "no_such_fn"/],
    [['funclatency', 't:sched:sched_switch'], /error: tracepoints .* have no return to time/],
    [['funccount', '-r', '(', 'x'], /unrecognized arguments: x/],
    [['funccount', '-r', 'vfs_('], /invalid regular expression/],
    [['funccount'], /the following arguments are required: pattern/],
    [['stackcount', '-K', '-U', 'vfs_read'], /not allowed with argument/],
    [['runqlat', '-P', '-L'], /not allowed with argument/],
    [['runqlat', '-p', '999999999'], /PID 999999999 does not exist/],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.match(r.err, /^usage: bpfscope /);
  }
});

test('-h of each tool prints bcc-style help and exits 0', async () => {
  for (const t of ['funccount', 'stackcount', 'funclatency', 'runqlat']) {
    const r = await cli([t, '-h']);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^usage: bpfscope ${t} `));
    assert.match(r.out, /examples:/);
  }
});
