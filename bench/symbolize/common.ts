/**
 * What the two symbolizer benchmarks (run.ts: function names, inline.ts: inline chains) share:
 * their command line, driving one llvm-symbolizer process through a cold and a warm pass,
 * keeping the best of interleaved repetitions, and the parts of the result they report alike.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { ElfFile, ProcMaps } from '../../packages/bpf/src/symbolize/index.js';

const args = process.argv.slice(2);

/** The value after `name` on the command line, or `def`. */
export function flag(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
}

/** Whether `name` stands on the command line. */
export function hasFlag(name: string): boolean {
  return args.includes(name);
}

export interface Pass {
  ms: number;
  /** CPU time the llvm-symbolizer process spent in the pass (user + system, 10 ms ticks) */
  cpuMs: number;
  /** one JSON line a looked-up address, in input order */
  out: string[];
}

/** CPU time (user + system) of process `pid` so far in ms (Linux clock ticks are 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised command name: state is field 3, utime 14 and stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** CPU time (user + system, every thread: GC and compiler threads too) of this process so far in ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Start `llvm` with `llvmArgs`, write `input` (one `"file" 0xaddr` line per address, `n` lines)
 * twice, and time each pass: the first is cold (files opened and parsed), the second warm.
 */
export async function llvmPasses(llvm: string, llvmArgs: string[], input: string, n: number): Promise<{ cold: Pass; warm: Pass }> {
  const child = spawn(llvm, llvmArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let buf = '';
  let lines: string[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    if (waiting && lines.length >= waiting.n) waiting.resolve();
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const pass = async (): Promise<Pass> => {
    lines = [];
    const c0 = processCpuMs(child.pid!);
    const t0 = process.hrtime.bigint();
    const done = new Promise<void>((resolve) => (waiting = { n, resolve }));
    child.stdin.write(input);
    await Promise.race([done, exited.then(() => Promise.reject(new Error(`llvm-symbolizer exited early: ${stderr}`)))]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, cpuMs: processCpuMs(child.pid!) - c0, out: lines.slice(0, n) };
  };
  const cold = await pass();
  const warm = await pass();
  child.stdin.end();
  await exited;
  return { cold, warm };
}

export interface Timed {
  coldMs: number;
  warmMs: number;
}

/**
 * Fold one repetition into the best so far: the run with the lowest cold time is kept (with its
 * results), and the warm time is the lowest of all runs. The sample itself goes to `samples`.
 */
export function keepBest<T extends Timed>(best: T | undefined, run: T, samples: Timed[]): T {
  samples.push({ coldMs: +run.coldMs.toFixed(1), warmMs: +run.warmMs.toFixed(1) });
  if (!best || run.coldMs < best.coldMs) return { ...run, warmMs: Math.min(run.warmMs, best?.warmMs ?? Infinity) };
  best.warmMs = Math.min(best.warmMs, run.warmMs);
  return best;
}

/**
 * Where a file's link-time address `vaddr` sits in this process: the loaded segment holding it,
 * then the mapping of that file offset (undefined when it is not loaded).
 */
export function runtimeAddress(elf: ElfFile, maps: ProcMaps, file: string, vaddr: number): bigint | undefined {
  const seg = elf.segments.find((g) => vaddr >= g.vaddr && vaddr < g.vaddr + g.filesz);
  if (!seg) return undefined;
  const fileOff = vaddr - seg.vaddr + seg.offset;
  const m = maps.mappings.find((x) => x.path === file && fileOff >= x.offset && fileOff < x.offset + (x.end - x.start));
  return m ? BigInt(m.start + (fileOff - m.offset)) : undefined;
}

/** Take one item of each list in turn (so short lists are fully represented), at most `max`. */
export function roundRobin<T>(lists: T[][], max: number): T[] {
  const out: T[] = [];
  for (let i = 0; out.length < max; i++) {
    let any = false;
    for (const p of lists) {
      if (i < p.length) {
        out.push(p[i]);
        any = true;
        if (out.length >= max) break;
      }
    }
    if (!any) break;
  }
  return out;
}

/**
 * One spelling of lambdas and unnamed types for both demanglers: GNU `{lambda(int)#1}` and LLVM
 * `'lambda'(int)` (or `'lambda0'`), GNU `{unnamed type#1}` and LLVM `'unnamed'`.
 */
export function lambdaSpelling(s: string): string {
  return s
    .replace(/\{lambda\(([^{}]*)\)#\d+\}/g, "'lambda'($1)")
    .replace(/'lambda\d*'/g, "'lambda'")
    .replace(/\{unnamed type#\d+\}/g, "'unnamed'")
    .replace(/'unnamed\d*'/g, "'unnamed'");
}

/** The machine a result was measured on, with the load average before and after (it is shared). */
export function machine(loadBefore: number) {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAverage1m: { before: +loadBefore.toFixed(2), after: +loadavg()[0].toFixed(2) },
  };
}

/** How many times faster than llvm-symbolizer we are, cold and warm. */
export function ratio(ours: { coldMs: number; warmMs: number }, llvm: { coldMs: number; warmMs: number }) {
  return {
    cold: +(llvm.coldMs / ours.coldMs).toFixed(2),
    warm: +(llvm.warmMs / ours.warmMs).toFixed(2),
    meaning: 'llvm-symbolizer time / bpfscope time (>1: bpfscope faster)',
  };
}

/** Writes a result as indented JSON (bench/results/…). */
export function writeResult(file: string, result: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}
