/** Test helpers: build small C workloads in a temp dir, run them, clean up. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackDelta, ToolHandle } from '../src/index.js';

export const isRoot = process.geteuid?.() === 0;
export const ROOT_SKIP = isRoot ? false : 'needs root: loads and attaches real BPF programs (CI runs as root)';
export const PKG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** C snippet: block until the test says go (a line on stdin). */
export const GATE = '{ char b[8]; if (write(1, "R", 1) != 1 || read(0, b, sizeof b) <= 0) return 1; }';

/**
 * C statements for a workload's main(): wait at the gate, then run the threads bpfscope_reader and
 * bpfscope_writer (defined by the workload) over a pipe in `int fds[2]` until both end.
 */
export const PIPE_PAIR_MAIN = `${GATE}
  pthread_t r, w;
  if (pipe(fds)) return 1;
  pthread_create(&r, 0, bpfscope_reader, 0);
  pthread_create(&w, 0, bpfscope_writer, 0);
  pthread_join(r, 0);
  pthread_join(w, 0);`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let tmp: string | undefined;
export function tmpDir(): string {
  if (!tmp) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-bpf-test-'));
    process.on('exit', () => fs.rmSync(tmp!, { recursive: true, force: true }));
  }
  return tmp;
}

/** gcc -O0 -fno-omit-frame-pointer -pthread; returns the binary path. */
export function buildC(name: string, source: string): string {
  const dir = tmpDir();
  const src = path.join(dir, `${name}.c`);
  const bin = path.join(dir, name);
  fs.writeFileSync(src, source);
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-pthread', '-o', bin, src], { stdio: 'pipe' });
  return bin;
}

/** Spawn and resolve when it exits; kill -9 on timeout. Workloads wait for a line on stdin
 * (GATE below) before working, so the capture can attach first: call go() when ready. */
export function run(
  bin: string,
  args: string[] = [],
  timeoutMs = 90000,
): { child: ChildProcess; done: Promise<number>; go: () => void; ready: Promise<void>; stdout: () => string } {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  // the workload writes "R" once loaded (all libraries mapped) and waits at the gate
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.startsWith('R')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${bin} exited (${code}) before it was ready`)));
  });
  ready.catch(() => {});
  const go = () => {
    child.stdin!.write('go\n');
    child.stdin!.end();
  };
  const done = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve(code ?? -1);
    });
  });
  return { child, done, go, ready, stdout: () => out.replace(/^R/, '') };
}

export function names(frames: Array<{ name: string }>): string[] {
  return frames.map((f) => f.name);
}

/** Drain every `everyMs` until `done` resolves, then once more; merge into one StackDelta
 * (timeline record indices are rebased). Asserts the process exited 0. */
export async function drainUntil(h: ToolHandle<StackDelta>, done: Promise<number>, everyMs = 300): Promise<StackDelta> {
  let finished = false;
  let code = -1;
  let failure: unknown;
  done.then(
    (c) => {
      finished = true;
      code = c;
    },
    (e) => {
      finished = true;
      failure = e;
    },
  );
  const parts: StackDelta[] = [];
  while (!finished) {
    await sleep(everyMs);
    parts.push(h.drain());
  }
  await sleep(50);
  parts.push(h.drain());
  if (failure) throw failure;
  if (code !== 0) throw new Error(`workload exited with ${code}`);
  const out: StackDelta = { ...parts[0], records: [], loss: { ...parts[0].loss }, events: 0 };
  if (parts[0].timeline) out.timeline = { resolutionMs: parts[0].timeline.resolutionMs, entries: [] };
  for (const p of parts) {
    const base = out.records.length;
    out.records.push(...p.records);
    out.events += p.events;
    for (const k of Object.keys(p.loss) as Array<keyof typeof p.loss>)
      if (p !== parts[0] && p.loss[k] !== undefined) out.loss[k] = (out.loss[k] ?? 0) + p.loss[k];
    if (p.timeline) for (const e of p.timeline.entries) out.timeline!.entries.push({ ...e, record: e.record + base });
  }
  return out;
}

/**
 * Runs of this process's BPF programs the kernel skipped (bpf_prog_info.recursion_misses, by
 * program name): a program is not re-entered on a CPU where it is already running, so an event
 * interrupting another one on the same CPU is dropped by the kernel, not by us.
 */
export function recursionMisses(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    let id: string | undefined;
    try {
      id = /^prog_id:\s*(\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    } catch {
      continue;
    }
    if (!id) continue;
    const info = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', id, '--json'], { encoding: 'utf8' })) as { name: string; recursion_misses?: number };
    out[info.name] = (out[info.name] ?? 0) + (info.recursion_misses ?? 0);
  }
  return out;
}

/**
 * Open a tool with BPFSCOPE_ATTACH_MODE=`mode` (the attach path the tool reads at open: kprobe.multi,
 * kprobe or raw_tp), the variable removed afterwards so later opens take the default.
 */
export function withAttachMode<T>(mode: string, open: () => T): T {
  process.env.BPFSCOPE_ATTACH_MODE = mode;
  try {
    return open();
  } finally {
    delete process.env.BPFSCOPE_ATTACH_MODE;
  }
}
