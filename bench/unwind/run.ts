/**
 * `npm run bench -- unwind`: user-stack unwinding without frame pointers (issue #9 §5), against
 * `perf record --call-graph dwarf` and bpftrace on the same workloads in the same run.
 *
 * 1. Fidelity: the share of a workload's samples whose user stack reaches the process root
 *    (_start / __libc_start_call_main / __libc_start_main, start_thread / clone3), on Debian's
 *    /usr/bin/python3, gzip and xz, and a C++ program built -O2 -fomit-frame-pointer. The four
 *    samplers run at once on the same process for the same time: `bpfscope profile -F 99 -U -f -p`
 *    with --unwind cfi and with --unwind fp, `perf record -F 99 --call-graph dwarf -p` (then
 *    `perf script`), and bpftrace `profile:hz:99 /pid == P/ { @[ustack] = count(); }`. perf's cost
 *    in the same run: bytes of perf.data per sample, CPU of perf record + perf script.
 * 2. BPF program time per event (kernel.bpf_stats_enabled: run_time_ns / run_cnt from the CLI's own
 *    program fds), frame pointers vs CFI, per tool, system-wide with the workloads running.
 * 3. BPF map memory of a system-wide CFI capture (every process of this host): the memlock of every
 *    map the CLI holds (the walker's table arrays included), from /proc/PID/fdinfo.
 * 4. exec → first complete stack: a fresh process of the C++ program started during a 999 Hz
 *    capture; the time from its start to its first sample whose stack reaches the root (first with
 *    an empty table cache, then cached).
 * 5. Tables: bench/unwind/tables.ts (generation cold / cached for libc, libpython, node, chromium).
 * 6. Overhead vs bpftrace: bench/bpf (profile -F 99 on a CPU-bound workload, offcputime on
 *    `perf bench sched pipe`), run here as a child; its results are quoted.
 *
 * Run as root: node --conditions=source --import tsx bench/unwind/run.ts
 * Env: BENCH_UNWIND_SECS (capture length, default 10), BENCH_UNWIND_SKIP (comma list of
 *      fidelity,cost,memory,exec,tables,overhead), BENCH_BPF_RUNS (for the overhead part).
 * `--only fidelity` (comma list of the same parts): run only those and update only their sections
 * of bench/results/unwind.json (the rerun's date and load average are recorded in `reruns`).
 * Output: bench/results/unwind.json and a markdown summary on stdout.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECS = Number(process.env.BENCH_UNWIND_SECS ?? 10);
const PARTS = ['fidelity', 'cost', 'memory', 'exec', 'tables', 'overhead'];
/** `--only fidelity[,exec…]`: run just those parts; the other parts of bench/results/unwind.json are kept */
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  if (i < 0) return undefined;
  const parts = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  const badPart = parts.find((x) => !PARTS.includes(x));
  if (!parts.length || badPart !== undefined) {
    console.error(`bench/unwind: --only ${process.argv[i + 1] ?? ''}: expected a comma list of ${PARTS.join(', ')}`);
    process.exit(2);
  }
  return parts;
})();
const SKIP = new Set(ONLY ? PARTS.filter((x) => !ONLY.includes(x)) : (process.env.BENCH_UNWIND_SKIP ?? '').split(',').filter(Boolean));
const HZ = 99;
const WORK = mkdtempSync(join(tmpdir(), 'bpfscope-bench-unwind-'));
/** the outermost frames of a complete user stack (main thread / other threads) */
const ROOT_FRAME = /^(_start|__libc_start_call_main|__libc_start_main(_impl|_alias_\d+)?|start_thread|clone3?|__clone3?|__GI___clone3?)$/;

const live = new Set<ChildProcess>();
function cleanup(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', () => {
  cleanup();
  rmSync(WORK, { recursive: true, force: true });
});
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: opts.env ?? process.env });
    live.add(c);
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d) => (err.length < 100000 ? (err += d) : undefined));
    const t = opts.timeoutMs ? setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs) : undefined;
    c.on('error', reject);
    c.on('close', (code) => {
      if (t) clearTimeout(t);
      live.delete(c);
      resolve({ code, out: Buffer.concat(out).toString(), err });
    });
  });
}

/** `times` of a bash wrapper: CPU seconds (user + sys) of the children it waited for */
function childCpu(err: string): number {
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(err.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
}

// ------------------------------------------------------------------ the CLI

const BUILT_CLI = join(ROOT, 'apps/collector/dist/cli/main.js');
function newestTs(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true }))
    if (typeof f === 'string' && f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  return newest;
}
function builtAt(pkg: string, out: string): number {
  const info = join(pkg, 'tsconfig.tsbuildinfo');
  return Math.max(statSync(out).mtimeMs, existsSync(info) ? statSync(info).mtimeMs : 0);
}
/** the built CLI when it is current (what users run after `npm run build`), else the source through tsx */
const CLI_BUILT =
  existsSync(BUILT_CLI) &&
  existsSync(join(ROOT, 'packages/bpf/dist/index.js')) &&
  builtAt(join(ROOT, 'apps/collector'), BUILT_CLI) >= newestTs(join(ROOT, 'apps/collector/src')) &&
  builtAt(join(ROOT, 'packages/bpf'), join(ROOT, 'packages/bpf/dist/index.js')) >= newestTs(join(ROOT, 'packages/bpf/src')) &&
  builtAt(join(ROOT, 'packages/viz'), join(ROOT, 'packages/viz/dist/index.js')) >= newestTs(join(ROOT, 'packages/viz/src'));
function cli(tool: string, args: string[]): [string, string[]] {
  if (CLI_BUILT) return [process.execPath, [BUILT_CLI, tool, ...args]];
  return [process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'apps/collector/src/cli/main.ts'), tool, ...args]];
}

// ------------------------------------------------------------------ workloads

const CPP = `
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>
struct Shape { virtual ~Shape() {} virtual double area(int k) const = 0; };
struct Sq : Shape { double s; explicit Sq(double x) : s(x) {} double area(int k) const override { double a = 0; for (int i = 0; i < k; i++) a += s * s / (i + 1); return a; } };
struct Ci : Shape { double r; explicit Ci(double x) : r(x) {} double area(int k) const override { double a = 0; for (int i = 0; i < k; i++) a += 3.14159 * r * r / (i + 2); return a; } };
__attribute__((noinline)) double bench_shapes(const std::vector<Shape *> &v, int k) { double t = 0; for (auto *s : v) t += s->area(k); return t; }
__attribute__((noinline)) long bench_sort(std::vector<long> &v) { std::sort(v.begin(), v.end(), [](long a, long b) { return (a ^ 0x5555) < (b ^ 0x5555); }); return v[v.size() / 2]; }
__attribute__((noinline)) long bench_recurse(int depth, long acc) { if (depth == 0) { std::map<std::string, long> m; for (int i = 0; i < 200; i++) m[std::to_string(i * acc % 977)] += i; return (long)m.size(); } return bench_recurse(depth - 1, acc * 31 + depth) + 1; }
int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 10;
  std::vector<Shape *> shapes; for (int i = 0; i < 64; i++) shapes.push_back(i % 2 ? (Shape *)new Sq(i) : (Shape *)new Ci(i));
  auto t0 = std::chrono::steady_clock::now(); double sink = 0; unsigned long seed = 1;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < secs) {
    std::vector<long> v(20000); for (auto &x : v) { seed = seed * 6364136223846793005UL + 1; x = (long)(seed >> 20); }
    sink += bench_sort(v) + bench_shapes(shapes, 200) + bench_recurse(20, (long)seed);
  }
  printf("%g\\n", sink);
  return 0;
}
`;

const PY = `
import sys, time
def leaf(n):
    s = 0
    for i in range(n): s += i * i
    return s
def middle(n): return leaf(n) + len(sorted(str(i) for i in range(200)))
def outer(t):
    end = time.time() + t
    while time.time() < end: middle(20000)
outer(float(sys.argv[1]))
`;

interface Workload {
  name: string;
  /** what it is, for the table */
  what: string;
  start(secs: number): ChildProcess;
}

function buildWorkloads(): Workload[] {
  const cppBin = join(WORK, 'bench_cpp');
  writeFileSync(join(WORK, 'bench.cpp'), CPP);
  execFileSync('g++', ['-O2', '-fomit-frame-pointer', '-o', cppBin, join(WORK, 'bench.cpp')]);
  const py = join(WORK, 'busy.py');
  writeFileSync(py, PY);
  const spawnLive = (cmd: string, args: string[], stdin: 'ignore' | number = 'ignore') => {
    const c = spawn(cmd, args, { stdio: [stdin, 'ignore', 'ignore'] });
    live.add(c);
    c.on('exit', () => live.delete(c));
    return c;
  };
  // gzip and xz read /dev/urandom on stdin until they are killed: always busy compressing
  const urandom = () => openSync('/dev/urandom', 'r');
  return [
    { name: 'python3', what: "Debian's /usr/bin/python3 (3.11) running a pure-Python loop", start: (s) => spawnLive('/usr/bin/python3', [py, String(s)]) },
    { name: 'gzip', what: "Debian's gzip -6 compressing /dev/urandom", start: () => spawnLive('/usr/bin/gzip', ['-6', '-c'], urandom()) },
    { name: 'xz', what: "Debian's xz -3 compressing /dev/urandom", start: () => spawnLive('/usr/bin/xz', ['-3', '-c', '-T1'], urandom()) },
    {
      name: 'c++ -O2 -fomit-frame-pointer',
      what: 'g++ -O2 -fomit-frame-pointer: std::sort with a lambda, virtual calls, 20-deep recursion into std::map',
      start: (s) => spawnLive(cppBin, [String(s)]),
    },
  ];
}

// ------------------------------------------------------------------ fidelity

interface Share {
  samples: number;
  complete: number;
  share: number | null;
  /** the most common incomplete roots (what the walk stopped at) */
  incompleteRoots?: Array<[string, number]>;
  error?: string;
}

/**
 * Where the process's executable starts: a stripped executable (gzip, xz) has no `_start` symbol,
 * so its outermost frame shows as `gzip+0x3e1a` (bpfscope), `[unknown]` (perf) or an absolute
 * address (bpftrace); it is `_start` when it lies in the few bytes after the ELF entry point.
 */
interface ExeInfo {
  path: string;
  base: string;
  entry: number;
  /** file offset → virtual address of the entry's PT_LOAD */
  vaddrMinusOffset: number;
  /** the executable's mappings: [start, end, file offset] */
  maps: Array<[number, number, number]>;
}
const START_BYTES = 0x40;

function exeInfo(pid: number): ExeInfo | undefined {
  try {
    const path = readlinkSync(`/proc/${pid}/exe`);
    const hdr = execFileSync('readelf', ['-hlW', path]).toString();
    const entry = parseInt(/Entry point address:\s+0x([0-9a-f]+)/.exec(hdr)![1], 16);
    let vaddrMinusOffset = 0;
    for (const m of hdr.matchAll(/^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/gm)) {
      const off = parseInt(m[1], 16);
      const va = parseInt(m[2], 16);
      const memsz = parseInt(m[4], 16);
      if (entry >= va && entry < va + memsz) vaddrMinusOffset = va - off;
    }
    const maps: Array<[number, number, number]> = [];
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (f[5] !== path) continue;
      const [a, b] = f[0].split('-').map((x) => parseInt(x, 16));
      maps.push([a, b, parseInt(f[2], 16)]);
    }
    return { path, base: path.slice(path.lastIndexOf('/') + 1), entry, vaddrMinusOffset, maps };
  } catch {
    return undefined;
  }
}

function isRoot(frame: string, exe: ExeInfo | undefined): boolean {
  if (ROOT_FRAME.test(frame)) return true;
  if (!exe) return false;
  const inStart = (va: number) => va >= exe.entry && va < exe.entry + START_BYTES;
  // bpfscope: module+0xVA (VA in the ELF's address space)
  const rel = /^(.+)\+0x([0-9a-f]+)$/.exec(frame);
  if (rel && rel[1] === exe.base) return inStart(parseInt(rel[2], 16));
  // perf / bpftrace: an absolute address in the executable's mapping
  const abs = /^(?:0x)?([0-9a-f]{6,16})$/.exec(frame);
  if (abs) {
    const a = parseInt(abs[1], 16);
    for (const [start, end, off] of exe.maps) if (a >= start && a < end) return inStart(a - start + off + exe.vaddrMinusOffset);
  }
  return false;
}

function share(stacks: Array<{ root: string; n: number }>, exe?: ExeInfo): Share {
  let samples = 0;
  let complete = 0;
  const bad = new Map<string, number>();
  for (const s of stacks) {
    samples += s.n;
    if (isRoot(s.root, exe)) complete += s.n;
    else bad.set(s.root, (bad.get(s.root) ?? 0) + s.n);
  }
  const incompleteRoots = [...bad.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
  return { samples, complete, share: samples ? round((complete / samples) * 100, 2) : null, incompleteRoots };
}

/** `comm;root;…;leaf N` (bpfscope -U -f) → roots */
function foldedRoots(text: string): Array<{ root: string; n: number }> {
  const out: Array<{ root: string; n: number }> = [];
  for (const line of text.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    const frames = line.slice(0, sp).split(';');
    out.push({ root: frames[1] ?? '', n: Number(line.slice(sp + 1)) });
  }
  return out;
}

/** bpftrace `@[\n frame+off\n …\n]: N` (leaf first) → roots */
function bpftraceRoots(text: string): Array<{ root: string; n: number }> {
  const out: Array<{ root: string; n: number }> = [];
  const re = /@\[\n([\s\S]*?)\n\]: (\d+)/g;
  for (let m; (m = re.exec(text)); ) {
    const frames = m[1]
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const root = (frames[frames.length - 1] ?? '').replace(/\+\d+$/, '').replace(/\s*\(.*\)$/, '');
    out.push({ root, n: Number(m[2]) });
  }
  return out;
}

/** `perf script -F ip,sym,dso` blocks (leaf first, blank line between samples) → roots (the address
 * when perf could not name it) */
function perfRoots(text: string): Array<{ root: string; n: number }> {
  const out: Array<{ root: string; n: number }> = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]+ /.test(l));
    if (!lines.length) continue;
    // an unnamed frame: perf prints its address in the object's own address space (minus one, for a return address)
    const m = /^([0-9a-f]+) (.*?)(\+0x[0-9a-f]+)?(?:\s*\((.*)\))?$/.exec(lines[lines.length - 1])!;
    const dso = m[4] ?? '';
    out.push({ root: m[2] === '[unknown]' && dso ? `${dso.slice(dso.lastIndexOf('/') + 1)}+0x${m[1]}` : m[2], n: 1 });
  }
  return out;
}

async function fidelity(w: Workload): Promise<Record<string, unknown>> {
  const child = w.start(SECS + 40);
  await sleep(300);
  const pid = child.pid!;
  const exe = exeInfo(pid);
  const perfData = join(WORK, `perf-${pid}.data`);
  const bpftraceProg = `profile:hz:${HZ} /pid == ${pid}/ { @[ustack] = count(); } interval:s:${SECS} { exit(); }`;
  const [cfiCmd, cfiArgs] = cli('profile', ['-F', String(HZ), '-U', '-f', '-p', String(pid), '--unwind', 'cfi', String(SECS)]);
  const [fpCmd, fpArgs] = cli('profile', ['-F', String(HZ), '-U', '-f', '-p', String(pid), '--unwind', 'fp', String(SECS)]);
  const [cfi, fp, bt, perf] = await Promise.all([
    run(cfiCmd, cfiArgs, { timeoutMs: (SECS + 120) * 1000 }),
    run(fpCmd, fpArgs, { timeoutMs: (SECS + 120) * 1000 }),
    run('bpftrace', ['-e', bpftraceProg], { timeoutMs: (SECS + 120) * 1000 }),
    run('bash', ['-c', `perf record -q -F ${HZ} --call-graph dwarf -p ${pid} -o ${perfData} -- sleep ${SECS} 2>&1; times >&2`], {
      timeoutMs: (SECS + 120) * 1000,
    }),
  ]);
  child.kill('SIGKILL');
  const res: Record<string, unknown> = { workload: w.name, what: w.what, secs: SECS };
  if (cfi.code === 0) {
    const s = share(foldedRoots(cfi.out), exe);
    // stacks the CLI reported as walked before the process's tables were loaded (the capture's first moments)
    const noTable = Number(/(\d+) user stacks reached code whose unwind table was not loaded yet/.exec(cfi.err)?.[1] ?? 0);
    const after = s.samples - noTable;
    res['bpfscope --unwind cfi'] = {
      ...s,
      noTableYet: noTable,
      shareOnceTablesLoaded: after > 0 ? round((Math.min(s.complete, after) / after) * 100, 2) : null,
      stderr: cfi.err.trim() || undefined,
    };
  } else res['bpfscope --unwind cfi'] = { error: cfi.err.trim().slice(-400) };
  res['bpfscope --unwind fp'] = fp.code === 0 ? share(foldedRoots(fp.out), exe) : { error: fp.err.trim().slice(-400) };
  res.bpftrace = bt.code === 0 ? share(bpftraceRoots(bt.out), exe) : { error: bt.err.trim().slice(-400) };
  if (existsSync(perfData)) {
    const t0 = performance.now();
    const ps = await run('bash', ['-c', `perf script -i ${perfData} -F ip,sym,dso 2>/dev/null; times >&2`], { timeoutMs: 600000 });
    const scriptWallS = (performance.now() - t0) / 1000;
    const s = share(perfRoots(ps.out), exe);
    const bytes = statSync(perfData).size;
    res['perf --call-graph dwarf'] = {
      ...s,
      perfDataBytes: bytes,
      bytesPerSample: s.samples ? Math.round(bytes / s.samples) : null,
      recordCpuSecs: round(childCpu(perf.err), 2),
      scriptCpuSecs: round(childCpu(ps.err), 2),
      scriptWallSecs: round(scriptWallS, 2),
    };
    rmSync(perfData, { force: true });
  } else res['perf --call-graph dwarf'] = { error: (perf.out + perf.err).trim().slice(-400) };
  return res;
}

// ------------------------------------------------------------------ program cost and map memory

interface FdStats {
  progs: Map<number, { runTimeNs: number; runCnt: number }>;
  mapBytes: number;
  maps: number;
}

/** the BPF programs and maps a process holds, from /proc/PID/fdinfo */
function fdStats(pid: number): FdStats {
  const progs = new Map<number, { runTimeNs: number; runCnt: number }>();
  let mapBytes = 0;
  let maps = 0;
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { progs, mapBytes, maps };
  }
  for (const fd of fds) {
    let link = '';
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:bpf-prog' && link !== 'anon_inode:bpf-map') continue;
    let info = '';
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const field = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    if (link === 'anon_inode:bpf-prog') {
      const id = field('prog_id');
      if (Number.isFinite(id)) progs.set(id, { runTimeNs: field('run_time_ns'), runCnt: field('run_cnt') });
    } else {
      maps++;
      mapBytes += field('memlock') || 0;
    }
  }
  return { progs, mapBytes, maps };
}

function progName(id: number): string {
  try {
    return (JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '-j']).toString()) as { name: string }).name;
  } catch {
    return `prog${id}`;
  }
}

/** Run `bpfscope <tool> --unwind mode SECS` system-wide, reading its programs' stats and maps near the end. */
function procCpuSecs(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function captureStats(
  tool: string,
  mode: string,
  secs: number,
): Promise<{
  perProgram: Record<string, { nsPerRun: number | null; runs: number }>;
  mapBytes: number;
  maps: number;
  cliCpuSecs: number | null;
  error?: string;
}> {
  const [cmd, args] = cli(tool, ['-f', '--unwind', mode, String(secs)]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT });
  live.add(c);
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => c.on('close', () => r()));
  let last: FdStats | undefined;
  let done = false;
  const names = new Map<number, string>();
  void exited.then(() => (done = true));
  let cpu0 = NaN;
  let cpu1 = NaN;
  while (!done) {
    const s = fdStats(c.pid!);
    if (s.progs.size) {
      last = s;
      // the CLI's own CPU while attached (drains, tables), from the first sight of its programs
      if (Number.isNaN(cpu0)) cpu0 = procCpuSecs(c.pid!);
      const now = procCpuSecs(c.pid!);
      if (Number.isFinite(now)) cpu1 = now;
    }
    // names while the programs exist (the fdinfo has ids only)
    for (const id of s.progs.keys()) if (!names.has(id)) names.set(id, progName(id));
    await sleep(250);
  }
  live.delete(c);
  if (!last) return { perProgram: {}, mapBytes: 0, maps: 0, cliCpuSecs: null, error: err.trim().slice(-300) || 'no BPF programs seen' };
  const perProgram: Record<string, { nsPerRun: number | null; runs: number }> = {};
  for (const [id, p] of last.progs)
    if (p.runCnt > 0) perProgram[names.get(id) ?? progName(id)] = { nsPerRun: round(p.runTimeNs / p.runCnt, 0), runs: p.runCnt };
  return { perProgram, mapBytes: last.mapBytes, maps: last.maps, cliCpuSecs: round(cpu1 - cpu0, 2) };
}

// ------------------------------------------------------------------ exec → first complete stack

async function execToComplete(cppBin: string, newTable: boolean): Promise<Record<string, unknown>> {
  const bpf = await import('../../packages/bpf/src/index.js');
  const h = bpf.openProfile({ frequency: 999, userStacksOnly: true, unwind: 'cfi' }, bpf.createSymbolizer());
  try {
    await h.ready; // sampling starts once the running processes' tables are loaded (bounded)
    // the capture's own start-up: tables of every process already running (drained meanwhile)
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      h.drain();
    }
    const spawnAt = Date.now();
    const child = spawn(cppBin, ['3'], { stdio: 'ignore' });
    live.add(child);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let first: number | undefined;
    let samples = 0;
    let complete = 0;
    const firstSecond = { samples: 0, complete: 0 };
    let finished = false;
    void exited.then(() => (finished = true));
    while (!finished) {
      await sleep(100);
      const d = h.drain();
      for (const e of d.timeline?.entries ?? []) {
        const r = d.records[e.record];
        if (r.pid !== child.pid) continue;
        const at = h.startTime + e.offsetMs;
        const ok = ROOT_FRAME.test(r.user[0]?.name ?? '');
        samples += e.count;
        if (ok) complete += e.count;
        if (at - spawnAt < 1000) {
          firstSecond.samples += e.count;
          if (ok) firstSecond.complete += e.count;
        }
        if (ok && (first === undefined || at < first)) first = at;
      }
    }
    live.delete(child);
    return {
      newTable,
      firstCompleteMs: first === undefined ? null : Math.max(0, first - spawnAt),
      samples,
      completeShare: samples ? round((complete / samples) * 100, 1) : null,
      firstSecondShare: firstSecond.samples ? round((firstSecond.complete / firstSecond.samples) * 100, 1) : null,
    };
  } finally {
    h.close();
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  if (process.geteuid?.() !== 0) {
    console.error('bench/unwind: needs root (BPF programs, perf, bpftrace); run it as root.');
    return 1;
  }
  for (const tool of ['perf', 'bpftrace', 'bpftool', 'g++']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      console.error(`bench/unwind: ${tool} is not installed (apt-get install -y linux-perf bpftrace bpftool g++)`);
      return 1;
    }
  }
  const t0 = Date.now();
  const loadBefore = loadavg();
  const result: Record<string, unknown> = {
    suite: 'unwind',
    date: new Date().toISOString(),
    machine: {
      kernel: release(),
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      perf: execFileSync('perf', ['--version']).toString().trim(),
      bpftrace: execFileSync('bpftrace', ['--version']).toString().trim(),
    },
    bpfscopeEntry: CLI_BUILT ? 'built CLI (apps/collector/dist)' : 'CLI from source (tsx)',
    captureSecs: SECS,
    rootFrames: ROOT_FRAME.source,
  };
  const workloads = buildWorkloads();
  const log = (s: string) => process.stderr.write(`bench/unwind: ${s}\n`);

  if (!SKIP.has('fidelity')) {
    const rows = [];
    for (const w of workloads) {
      log(`fidelity: ${w.name} (${SECS} s, 4 samplers at once)`);
      rows.push(await fidelity(w));
    }
    result.fidelity = rows;
  }

  if (!SKIP.has('cost')) {
    // what the programs see: the C++ and python workloads on-CPU, perf bench sched pipe for switches
    const loads = [workloads[0].start(SECS * 9 + 60), workloads[3].start(SECS * 9 + 60)];
    const pipe = spawn('bash', ['-c', 'while :; do perf bench sched pipe -l 200000 >/dev/null 2>&1; done'], { stdio: 'ignore', detached: true });
    live.add(pipe);
    const before = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
    const cost: Record<string, unknown> = {};
    try {
      for (const tool of ['profile', 'offcputime', 'wakeuptime', 'offwaketime']) {
        for (const mode of ['fp', 'cfi']) {
          log(`program cost: ${tool} --unwind ${mode}`);
          const s = await captureStats(tool, mode, Math.max(4, Math.round(SECS / 2)));
          cost[`${tool} ${mode}`] = s.error ? { error: s.error } : { programs: s.perProgram, cliCpuSecsWhileAttached: s.cliCpuSecs };
          if (tool === 'profile' && mode === 'cfi')
            result.mapMemory = {
              tool: 'profile -F 99 --unwind cfi, system-wide',
              bytes: s.mapBytes,
              mib: round(s.mapBytes / 1048576, 1),
              maps: s.maps,
              goalMib: 64,
            };
        }
      }
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', before);
      try {
        process.kill(-pipe.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (const l of loads) l.kill('SIGKILL');
    }
    result.programCost = cost;
  }

  if (!SKIP.has('exec')) {
    const runs = [];
    // a program never seen before (its own build-id: its table is generated when it starts; the
    // libraries' tables come from the disk cache), then the same program again (all cached)
    for (let i = 0; i < 3; i++) {
      const bin = join(WORK, `bench_cpp_new${i}`);
      execFileSync('g++', [
        '-O2',
        '-fomit-frame-pointer',
        `-DBENCH_VARIANT=${i}`,
        `-Wl,--build-id=0x${(Date.now() + i).toString(16).padStart(16, '0')}`,
        '-o',
        bin,
        join(WORK, 'bench.cpp'),
      ]);
      log(`exec → first complete stack, new program ${i + 1}`);
      runs.push({ program: 'new', ...(await execToComplete(bin, true)) });
      log(`exec → first complete stack, same program again ${i + 1}`);
      runs.push({ program: 'seen', ...(await execToComplete(bin, false)) });
    }
    result.execToFirstComplete = { goalMs: 1000, runs };
  }

  if (!SKIP.has('tables')) {
    log('tables (bench/unwind/tables.ts)');
    const { runTablesBench } = await import('./tables.js');
    result.tables = await runTablesBench({ reps: 3 });
  }

  if (!SKIP.has('overhead')) {
    log('overhead vs bpftrace (bench/bpf/run.ts)');
    // bench/bpf writes bench/results/bpf.json: its figures go into unwind.json, bpf.json stays as it was
    const bpfJson = join(ROOT, 'bench/results/bpf.json');
    const kept = existsSync(bpfJson) ? readFileSync(bpfJson) : undefined;
    const r = await run(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'bench/bpf/run.ts')], { timeoutMs: 30 * 60000 });
    if (r.code === 0 && existsSync(join(ROOT, 'bench/results/bpf.json'))) {
      const b = JSON.parse(readFileSync(join(ROOT, 'bench/results/bpf.json'), 'utf8'));
      result.overhead = {
        source: 'bench/bpf/run.ts, run by this bench',
        date: b.date,
        runsPerArm: b.runsPerArm,
        bpfscopeEntry: b.bpfscopeEntry,
        loadAverage1m: b.loadAverage1m,
        profile: b.profile,
        offcputime: b.offcputime,
      };
    } else result.overhead = { error: r.err.trim().slice(-600) };
    if (kept) writeFileSync(bpfJson, kept);
  }

  result.loadAverage = { before: loadBefore.map((x) => round(x, 2)), after: loadavg().map((x) => round(x, 2)) };
  result.elapsedSecs = Math.round((Date.now() - t0) / 1000);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const out = join(ROOT, 'bench/results/unwind.json');
  let written = result;
  if (ONLY && existsSync(out)) {
    // a partial rerun: the sections it measured replace the old ones, the rest stay as measured then
    const prev = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    const sections = ['fidelity', 'programCost', 'mapMemory', 'execToFirstComplete', 'tables', 'overhead'].filter((k) => k in result);
    const rerun = {
      date: result.date,
      parts: ONLY,
      sections,
      bpfscopeEntry: result.bpfscopeEntry,
      captureSecs: SECS,
      loadAverage: result.loadAverage,
      elapsedSecs: result.elapsedSecs,
    };
    written = { ...prev, ...Object.fromEntries(sections.map((k) => [k, result[k]])), reruns: [...((prev.reruns as unknown[]) ?? []), rerun] };
  }
  writeFileSync(out, JSON.stringify(written, null, 2) + '\n');
  console.log(markdown(result));
  return 0;
}

function markdown(r: Record<string, any>): string {
  const lines: string[] = [];
  const pct = (x: any) => (x && typeof x.share === 'number' ? `${x.share} % (${x.complete}/${x.samples})` : x?.error ? 'failed' : 'n/a');
  if (r.fidelity) {
    lines.push('| workload | bpfscope cfi | bpfscope fp | perf dwarf | bpftrace | perf bytes/sample |', '|---|---:|---:|---:|---:|---:|');
    for (const f of r.fidelity)
      lines.push(
        `| ${f.workload} | ${pct(f['bpfscope --unwind cfi'])} | ${pct(f['bpfscope --unwind fp'])} | ${pct(f['perf --call-graph dwarf'])} | ${pct(f.bpftrace)} | ${f['perf --call-graph dwarf']?.bytesPerSample ?? 'n/a'} |`,
      );
  }
  if (r.programCost) {
    lines.push('', '| tool | program | ns/run fp | ns/run cfi |', '|---|---|---:|---:|');
    for (const tool of ['profile', 'offcputime', 'wakeuptime', 'offwaketime']) {
      const fp = r.programCost[`${tool} fp`]?.programs ?? {};
      const cfi = r.programCost[`${tool} cfi`]?.programs ?? {};
      for (const p of new Set([...Object.keys(fp), ...Object.keys(cfi)]))
        lines.push(`| ${tool} | ${p} | ${fp[p]?.nsPerRun ?? '–'} | ${cfi[p]?.nsPerRun ?? '–'} |`);
    }
  }
  if (r.mapMemory) lines.push('', `BPF map memory, system-wide CFI profile: ${r.mapMemory.mib} MiB in ${r.mapMemory.maps} maps (goal ≤ 64 MiB)`);
  if (r.execToFirstComplete)
    lines.push(
      '',
      `exec → first complete stack: ${r.execToFirstComplete.runs.map((x: any) => `${x.firstCompleteMs} ms (${x.program})`).join(', ')} (goal ≤ 1000 ms)`,
    );
  lines.push('', `load average before ${r.loadAverage.before.join(' ')}, after ${r.loadAverage.after.join(' ')}`);
  return lines.join('\n');
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (e) => {
    console.error(`bench/unwind: ${e instanceof Error ? e.stack : e}`);
    cleanup();
    process.exit(1);
  },
);
