// The CLI symbolizes once, after the capture (issue #9 §3): its output must be the same as when every
// drain symbolizes. A fake engine whose handle asks the symbolizer like the real tools do (notePid,
// then user() with leaf-first addresses) feeds real addresses of real processes through the real
// symbolizer: one process exits and one exec's another program between the drains that saw their
// stacks and the end of the capture, when the deferred path names them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSymbolizer, type StackRecord, type Symbolizer } from '@bpfscope/bpf';
import { main } from '../src/cli/main.js';
import { emptyLoss } from '../src/cli/aggregate.js';
import type { CaptureEngine, CaptureSource } from '../src/engine.js';
import type { CliIO } from '../src/cli/run.js';
import { DeferredSymbolizer, nextDrainMs } from '../src/cli/deferred.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfscope-deferred-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// prints the addresses of a three-deep call chain, then on "x" exits, on "e" exec's sleep
const PROG = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) void bpfscope_def_leaf(void) { asm volatile(""); }
__attribute__((noinline)) void bpfscope_def_mid(void) { bpfscope_def_leaf(); }
int main(void) {
  printf("%p %p %p\\n", (void *)bpfscope_def_leaf, (void *)bpfscope_def_mid, (void *)main);
  fflush(stdout);
  char c = 0;
  if (read(0, &c, 1) != 1) return 1;
  if (c == 'e') execl("/bin/sleep", "sleep", "30", (char *)0);
  bpfscope_def_mid();
  return 0;
}
`;
let exe = '';
function build(): string {
  if (!exe) {
    writeFileSync(join(dir, 'p.c'), PROG);
    exe = join(dir, 'bpfscope_def');
    execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', join(dir, 'p.c'), '-o', exe]);
  }
  return exe;
}

async function startChild(): Promise<{ child: ChildProcess; addrs: bigint[] }> {
  const child = spawn(build(), [], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.add(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => reject(new Error('workload exited early')));
  });
  // leaf first, like a stack trace: a pc inside the leaf, return addresses inside mid and main
  const addrs = line.split(' ').map((h) => BigInt(h) + 4n);
  return { child, addrs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One capture through the CLI: drain 1 sees both processes' stacks; then one exits and the other
 * exec's; drain 2 (over a second later, so the symbolizer's exec check runs) sees the exited one's
 * stack again; then the capture is stopped.
 */
async function capture(eager: boolean): Promise<string> {
  const a = await startChild();
  const b = await startChild();
  const sym = createSymbolizer();
  let drains = 0;
  let phase2 = false;
  const rec = (s: Symbolizer, pid: number, addrs: bigint[], comm: string, value: number): StackRecord => {
    s.notePid(pid); // the tools' StackResolver notes a pid before asking for its stacks
    return { pid, tid: pid, comm, user: s.user(pid, addrs).slice().reverse(), kernel: [], value };
  };
  let toolSym: Symbolizer | undefined;
  const handle: CaptureSource = {
    tool: 'profile',
    startTime: Date.now(),
    drain: () => {
      drains++;
      const records: StackRecord[] = [];
      if (drains === 1) {
        records.push(rec(toolSym!, a.child.pid!, a.addrs, 'exits', 3), rec(toolSym!, b.child.pid!, b.addrs, 'execs', 4));
      } else if (phase2) {
        phase2 = false;
        records.push(rec(toolSym!, a.child.pid!, a.addrs, 'exits', 2));
      }
      return { kind: 'stacks', unit: 'samples', records, loss: emptyLoss(), events: records.length };
    },
    close: () => {},
  };
  // like createEngine: the capture's symbolizer is the CLI's stand-in over the engine's one
  const engine: CaptureEngine = {
    open: (_tool, _options, settings) => ((toolSym = settings?.symbolizer?.(sym) ?? sym), handle),
    system: () => ({ host: 'test', kernel: 'test', btf: true, privileged: true, tools: ['profile'], cpus: 1 }),
  };
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const io: CliIO = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    onStop: (cb) => (listeners.add(cb), () => listeners.delete(cb)),
  };
  const done = main(['profile', '-f', '-p', String(a.child.pid)], {
    io,
    loadEngine: async () => engine,
    hasPrivileges: () => true,
    drainIntervalMs: 50,
    eagerSymbols: eager,
  });
  while (drains < 1) await sleep(10);
  const aExit = new Promise((r) => a.child.once('exit', r));
  a.child.stdin!.end('x');
  b.child.stdin!.end('e');
  await aExit;
  for (let i = 0; i < 200 && !readlinkSync(`/proc/${b.child.pid}/exe`).endsWith('/sleep'); i++) await sleep(10);
  assert.ok(!existsSync(`/proc/${a.child.pid}/exe`) || a.child.exitCode !== null, 'the first process exited');
  await sleep(1200); // past the symbolizer's once-a-second exec check
  phase2 = true;
  while (phase2) await sleep(10);
  listeners.forEach((l) => l());
  assert.equal(await done, 0, err);
  b.child.kill('SIGKILL');
  return out;
}

test('deferred symbolization prints what per-drain symbolization prints, for exited and exec-ed processes', { timeout: 60000 }, async () => {
  const eager = await capture(true);
  const deferred = await capture(false);
  // the per-drain path named both while they ran: the exited one from its early snapshot later on
  assert.equal(eager, 'execs;main;bpfscope_def_mid;bpfscope_def_leaf 4\nexits;main;bpfscope_def_mid;bpfscope_def_leaf 5\n');
  assert.equal(deferred, eager);
});

test('DeferredSymbolizer: one placeholder per distinct stack, resolved once, exec generation kept', () => {
  const calls: string[] = [];
  let gen = 0;
  const inner: Symbolizer = {
    kernel: (a) => (calls.push(`k${a.join(',')}`), a.map((x) => ({ name: `k${x}`, kind: 'kernel' }))),
    user: (pid, a, g) => (calls.push(`u${pid}/${g}:${a.join(',')}`), a.map((x) => ({ name: `u${x}@${g}`, kind: 'user' }))),
    notePid: () => {},
    generation: () => gen,
  };
  const d = new DeferredSymbolizer(inner, (f) => f.filter((x) => x.name !== 'k9'));
  const u1 = d.user(7, [1n, 2n]);
  assert.deepEqual(d.user(7, [1n, 2n]), u1, 'same stack, same placeholder');
  const k1 = d.kernel([9n, 3n]);
  d.endDrain();
  gen = 1; // the process exec'd: the same addresses now mean something else
  const u2 = d.user(7, [1n, 2n]);
  assert.notDeepEqual(u2, u1);
  assert.equal(calls.length, 0, 'nothing symbolized during the capture');
  const r = d.resolve({ pid: 7, tid: 7, comm: 'x', user: u1, kernel: k1, value: 1, waker: { pid: 7, comm: 'y', user: u2, kernel: [] } });
  assert.deepEqual(
    r.user.map((f) => f.name),
    ['u2@0', 'u1@0'],
    'root first, generation of then',
  );
  assert.deepEqual(
    r.kernel.map((f) => f.name),
    ['k3'],
    'kernel trimmed once named',
  );
  assert.deepEqual(
    r.waker!.user.map((f) => f.name),
    ['u2@1', 'u1@1'],
  );
  d.resolve({ pid: 7, tid: 7, comm: 'x', user: u1, kernel: k1, value: 1 });
  assert.equal(calls.length, 3, 'each distinct stack symbolized once');
  assert.equal(d.user(7, []).length, 0);
});

test('nextDrainMs: few new stacks → long intervals; many → as short as 1 s', () => {
  const base = { coveredMs: 1000, stackCapacity: 16384, countsCapacity: 65536 };
  assert.equal(nextDrainMs({ ...base, stacks: 0, keys: 0 }), 30000);
  assert.equal(nextDrainMs({ ...base, stacks: 4, keys: 4 }), 30000); // a spinning process: a few stacks
  // 2 % of 16384 buckets in use at 100 new stacks/s → about 3.3 s
  assert.equal(nextDrainMs({ ...base, stacks: 100, keys: 100 }), 3277);
  assert.equal(nextDrainMs({ ...base, stacks: 5000, keys: 5000 }), 1000);
  // the counts map bounds it too (half of 65536 at 10000 keys/s)
  assert.equal(nextDrainMs({ ...base, stacks: 0, keys: 10000 }), 3277);
  assert.equal(nextDrainMs({ ...base, coveredMs: 10000, stacks: 100, keys: 100 }), 30000);
});
