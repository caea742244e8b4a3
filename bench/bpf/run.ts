/**
 * BPF overhead benchmarks: bpfscope against bpftrace (Debian) and against no tracer, same machine,
 * same run, arms interleaved (rotated order each round), medians of >= 3 runs.
 *
 * 1. profile: `bpfscope profile -F 99` (all CPUs) vs `bpftrace -e 'profile:hz:99 { @[kstack, ustack, comm] = count(); }'`
 *    on a CPU-bound workload (bench/bpf/spin.c: one spinning thread per CPU, iterations/s over a
 *    fixed duration); plus each tracer's own CPU time (utime+stime incl. children): during the
 *    workload window (steady state) and over its whole life (start-up, capture, final output).
 * 2. offcputime: `bpfscope offcputime` vs a sched_switch-based bpftrace off-CPU program (summing
 *    blocked µs by kstack, ustack, comm) on `perf bench sched pipe` throughput (ops/s).
 *
 * Run: node --conditions=source --import tsx bench/bpf/run.ts   (root; ~4 min)
 * Env: BENCH_BPF_RUNS (default 3), BENCH_BPF_CPU_SECS (10), BENCH_BPF_PIPE_LOOPS (100000),
 *      BENCH_BPF_STOP_CAP_SECS (30: a tracer still printing this long after Ctrl-C is killed).
 * Output: bench/results/bpf.json and a markdown table on stdout.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Number(process.env.BENCH_BPF_RUNS ?? 3);
const CPU_SECS = Number(process.env.BENCH_BPF_CPU_SECS ?? 10);
const PIPE_LOOPS = Number(process.env.BENCH_BPF_PIPE_LOOPS ?? 100000);
/** a tracer still printing this long after Ctrl-C is killed (its CPU time is then a lower bound) */
const STOP_CAP_SECS = Number(process.env.BENCH_BPF_STOP_CAP_SECS ?? 30);
const WORK = join(os.tmpdir(), 'bpfscope-bench-bpf');
const CLK_TCK = 100;

const BPFTRACE_PROFILE = 'profile:hz:99 { @[kstack, ustack, comm] = count(); }';
/** off-CPU time like offcputime: the switched-out task's stacks are kept until it runs again. */
const BPFTRACE_OFFCPU = [
  'tracepoint:sched:sched_switch {',
  '  @start[tid] = nsecs; @ks[tid] = kstack; @us[tid] = ustack;',
  '  $s = @start[args->next_pid];',
  '  if ($s) { @[@ks[args->next_pid], @us[args->next_pid], args->next_comm] = sum((nsecs - $s) / 1000); delete(@start[args->next_pid]); }',
  '}',
  'END { clear(@start); clear(@ks); clear(@us); }',
].join('\n');

type Arm = 'none' | 'bpftrace' | 'bpfscope';
const ARMS: Arm[] = ['none', 'bpftrace', 'bpfscope'];

interface RunResult {
  /** workload operations per wall-clock second (the figure the peers are compared on) */
  throughput: number;
  /** workload operations per CPU second of the workload itself (robust to other load on the machine) */
  perCpu?: number;
  /** seconds from SIGINT to the tracer's exit (its final read-out and symbolization) */
  stopSecs?: number;
  /** the tracer was killed STOP_CAP_SECS after SIGINT: stopSecs and tracerCpuTotal are lower bounds */
  killedAfterStopCap?: boolean;
  /** tracer CPU seconds while the workload ran */
  tracerCpuWindow?: number;
  /** tracer CPU seconds over its whole life (start-up, capture, final output) */
  tracerCpuTotal?: number;
  /** seconds from spawn to "attached" */
  startupSecs?: number;
  outputBytes?: number;
}

const live = new Set<ChildProcess>();
/** tracer wrappers run in their own process group, so a cleanup also reaches the tracer itself */
const groups = new Set<number>();
function cleanup(): void {
  for (const c of live) if (c.exitCode === null) c.kill('SIGKILL');
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const)
  process.on(s, () => {
    cleanup();
    process.exit(130);
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function procCpuSecs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(3) … utime(14) stime(15) cutime(16) cstime(17) → index-3
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function childPid(pid: number): number | undefined {
  try {
    const c = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return c.length ? Number(c[0]) : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(c);
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const t = opts.timeoutMs ? setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs) : undefined;
    c.on('error', reject);
    c.on('close', (code) => {
      if (t) clearTimeout(t);
      live.delete(c);
      resolve({ code, out, err });
    });
  });
}

interface Tracer {
  /** the tracer process itself (child of the bash wrapper) */
  pid: number;
  startupSecs: number;
  alive(): boolean;
  stderr(): string;
  stop(): Promise<{ cpuTotal: number; outputBytes: number; stderr: string; stopSecs: number; killed: boolean }>;
}

/**
 * Start a tracer under a bash wrapper that forwards SIGINT and reports, with `times`, the CPU time
 * of its children (the tracer and anything it waited for) on fd 3 once the tracer exited.
 */
async function startTracer(argv: string[], ready: RegExp, name: string): Promise<Tracer> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} & p=$!; trap 'kill -INT $p' INT TERM; wait $p; wait $p; times >&3`;
  const t0 = Date.now();
  const c = spawn('bash', ['-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
  live.add(c);
  groups.add(c.pid!);
  let outputBytes = 0;
  let stdoutText = '';
  let stderr = '';
  let times = '';
  let readyResolve: (() => void) | undefined;
  const readyP = new Promise<void>((r) => (readyResolve = r));
  c.stdout!.on('data', (d: Buffer) => {
    outputBytes += d.length;
    if (stdoutText.length < 4096) stdoutText += d.toString();
    if (ready.test(stdoutText)) readyResolve?.();
  });
  c.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 20000) stderr += d.toString();
  });
  (c.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (times += d.toString()));
  let hasExited = false;
  const exited = new Promise<number | null>((r) =>
    c.on('close', (code) => {
      hasExited = true;
      groups.delete(c.pid!);
      r(code);
    }),
  );
  const res = await Promise.race([readyP.then(() => 'ready' as const), exited.then(() => 'exit' as const), sleep(60000).then(() => 'timeout' as const)]);
  if (res !== 'ready') {
    c.kill('SIGKILL');
    live.delete(c);
    throw new Error(`${name} did not start (${res}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const startupSecs = (Date.now() - t0) / 1000;
  await sleep(500); // let the attach settle
  const pid = childPid(c.pid!) ?? c.pid!;
  return {
    pid,
    startupSecs,
    alive: () => !hasExited && procCpuSecs(pid) !== undefined,
    stderr: () => stderr,
    async stop() {
      const s0 = Date.now();
      c.kill('SIGINT');
      // bpftrace symbolizes every user stack at exit, which can take minutes on a busy machine
      let killed = false;
      let cpuAtKill = NaN;
      const timer = setTimeout(() => {
        killed = true;
        cpuAtKill = procCpuSecs(pid) ?? NaN;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, STOP_CAP_SECS * 1000);
      await exited;
      const stopSecs = (Date.now() - s0) / 1000;
      clearTimeout(timer);
      if (killed) return { cpuTotal: cpuAtKill, outputBytes, stderr, stopSecs, killed };
      live.delete(c);
      // `times`: line 1 = the shell, line 2 = its children (user sys), like 0m1.234s 0m0.056s
      const lines = times.trim().split('\n');
      const secs = (lines[1] ?? '')
        .trim()
        .split(/\s+/)
        .map((x) => {
          const m = /^(\d+)m([\d.]+)s$/.exec(x);
          return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
        });
      return { cpuTotal: secs.length === 2 ? secs[0] + secs[1] : NaN, outputBytes, stderr, stopSecs, killed };
    },
  };
}

/**
 * How bpfscope is run: the built CLI when `npm run build` produced it (what users run after
 * setup), else the TypeScript source through tsx (dev tree; start-up then includes transpiling).
 * Either way one process, so its /proc CPU counters are the tracer's own.
 */
const BUILT_CLI = join(ROOT, 'apps/collector/dist/cli/main.js');
const BUILT_BPF = join(ROOT, 'packages/bpf/dist/index.js');

/** newest .ts under dir (ms), to tell a stale build from a current one */
function newestTs(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true })) {
    if (typeof f === 'string' && f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/** when a package was last built: `tsc -b` rewrites its build info on every build, but leaves unchanged outputs untouched */
function builtAt(output: string, pkgDir: string): number {
  const info = join(pkgDir, 'tsconfig.tsbuildinfo');
  return Math.max(statSync(output).mtimeMs, existsSync(info) ? statSync(info).mtimeMs : 0);
}

function builtIsCurrent(): boolean {
  if (process.env.BENCH_BPF_FROM_SOURCE || !existsSync(BUILT_CLI) || !existsSync(BUILT_BPF)) return false;
  return (
    builtAt(BUILT_CLI, join(ROOT, 'apps/collector')) >= newestTs(join(ROOT, 'apps/collector/src')) &&
    builtAt(BUILT_BPF, join(ROOT, 'packages/bpf')) >= newestTs(join(ROOT, 'packages/bpf/src'))
  );
}

const BPFSCOPE_ENTRY = builtIsCurrent() ? 'built' : 'source';

function bpfscopeArgv(tool: string, args: string[]): string[] {
  if (BPFSCOPE_ENTRY === 'built') return [process.execPath, BUILT_CLI, tool, ...args];
  return [process.execPath, '--conditions=source', '--import', 'tsx', join(ROOT, 'apps/collector/src/cli/main.ts'), tool, ...args];
}

const READY_BPFTRACE = /Attaching \d+ probes?/;
const READY_BPFSCOPE = /^(Sampling at|Tracing)/m;

type Workload = () => Promise<{ throughput: number; perCpu?: number }>;

async function measure(
  arm: Arm,
  tracerArgv: Record<Exclude<Arm, 'none'>, string[]>,
  readyRe: Record<Exclude<Arm, 'none'>, RegExp>,
  workload: Workload,
): Promise<RunResult> {
  if (arm === 'none') return { ...(await workload()) };
  const tr = await startTracer(tracerArgv[arm], readyRe[arm], arm);
  let w: { throughput: number; perCpu?: number };
  let window: number | undefined;
  let st: Awaited<ReturnType<Tracer['stop']>>;
  try {
    const c0 = procCpuSecs(tr.pid);
    w = await workload();
    if (!tr.alive()) throw new Error(`${arm} exited during the workload: ${tr.stderr().trim().split('\n').slice(-3).join(' | ')}`);
    const c1 = procCpuSecs(tr.pid);
    window = c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined;
  } finally {
    st = await tr.stop();
  }
  if (!Number.isFinite(st.cpuTotal)) throw new Error(`${arm}: could not read its CPU time (exit after SIGINT took ${st.stopSecs} s)`);
  return {
    ...w,
    stopSecs: st.stopSecs,
    killedAfterStopCap: st.killed || undefined,
    tracerCpuWindow: window,
    tracerCpuTotal: st.cpuTotal,
    startupSecs: tr.startupSecs,
    outputBytes: st.outputBytes,
  };
}

interface Suite {
  name: string;
  workload: string;
  unit: string;
  tracers: Record<Exclude<Arm, 'none'>, string>;
  runs: Record<Arm, RunResult[]>;
  /** arm → failed runs' reasons; an arm fails only when none of its runs succeeded */
  failures: Record<Arm, string[]>;
  errors: Partial<Record<Arm, string>>;
}

async function suite(
  name: string,
  workloadDesc: string,
  unit: string,
  tracerArgv: Record<Exclude<Arm, 'none'>, string[]>,
  tracerDesc: Record<Exclude<Arm, 'none'>, string>,
  workload: Workload,
): Promise<Suite> {
  const s: Suite = {
    name,
    workload: workloadDesc,
    unit,
    tracers: tracerDesc,
    runs: { none: [], bpftrace: [], bpfscope: [] },
    failures: { none: [], bpftrace: [], bpfscope: [] },
    errors: {},
  };
  const ready = { bpftrace: READY_BPFTRACE, bpfscope: READY_BPFSCOPE };
  for (let r = 0; r < RUNS; r++) {
    const order = ARMS.map((_, i) => ARMS[(i + r) % ARMS.length]);
    for (const arm of order) {
      // a tracer that cannot start at all fails the same way every time: stop retrying it
      if (s.failures[arm].some((f) => f.includes('did not start'))) continue;
      try {
        const res = await measure(arm, tracerArgv, ready, workload);
        s.runs[arm].push(res);
        process.stderr.write(
          `  ${name} run ${r + 1} ${arm}: ${res.throughput.toFixed(0)} ${unit} (${res.perCpu?.toFixed(0)} per CPU-s)${res.tracerCpuTotal !== undefined ? `, tracer CPU ${res.tracerCpuWindow?.toFixed(2)} s window / ${res.tracerCpuTotal.toFixed(2)} s total, exit ${res.stopSecs?.toFixed(1)} s` : ''}\n`,
        );
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        s.failures[arm].push(`run ${r + 1}: ${msg}`);
        process.stderr.write(`  ${name} run ${r + 1} ${arm}: FAILED: ${msg}\n`);
      }
    }
  }
  for (const arm of ARMS) if (s.runs[arm].length === 0 && s.failures[arm].length) s.errors[arm] = s.failures[arm].join('; ');
  return s;
}

function summarize(s: Suite) {
  const med = (arm: Arm, f: (r: RunResult) => number | undefined) => {
    const xs = s.runs[arm].map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length ? median(xs) : undefined;
  };
  const base = med('none', (r) => r.throughput);
  const baseCpu = med('none', (r) => r.perCpu);
  const out: Record<string, unknown> = {};
  for (const arm of ARMS) {
    const tp = med(arm, (r) => r.throughput);
    const pc = med(arm, (r) => r.perCpu);
    out[arm] = {
      runs: s.runs[arm],
      error: s.errors[arm],
      failedRuns: s.failures[arm],
      medianThroughput: tp,
      overheadPct: tp !== undefined && base ? ((base - tp) / base) * 100 : undefined,
      medianPerCpu: pc,
      perCpuOverheadPct: pc !== undefined && baseCpu ? ((baseCpu - pc) / baseCpu) * 100 : undefined,
      medianStopSecs: med(arm, (r) => r.stopSecs),
      killedAfterStopCap: s.runs[arm].filter((r) => r.killedAfterStopCap).length,
      medianTracerCpuWindowSecs: med(arm, (r) => r.tracerCpuWindow),
      medianTracerCpuTotalSecs: med(arm, (r) => r.tracerCpuTotal),
      medianStartupSecs: med(arm, (r) => r.startupSecs),
    };
  }
  return out as Record<
    Arm,
    {
      medianThroughput?: number;
      overheadPct?: number;
      medianPerCpu?: number;
      perCpuOverheadPct?: number;
      medianStopSecs?: number;
      killedAfterStopCap?: number;
      failedRuns?: string[];
      medianTracerCpuWindowSecs?: number;
      medianTracerCpuTotalSecs?: number;
      medianStartupSecs?: number;
      error?: string;
    }
  >;
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined ? 'n/a' : x.toFixed(digits);
}

function na(arm: Arm, x: number | undefined, unit: string): string {
  return arm === 'none' ? '—' : x === undefined ? 'n/a' : x.toFixed(2) + unit;
}

async function main(): Promise<number> {
  if (process.geteuid?.() !== 0) {
    console.error('bench/bpf: needs root (BPF programs are loaded for real); run it as root.');
    return 1;
  }
  mkdirSync(WORK, { recursive: true });
  const spin = join(WORK, 'spin');
  execFileSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-pthread', join(ROOT, 'bench/bpf/spin.c'), '-o', spin]);
  // bpftrace attaches tracepoints through tracefs; mount it when the machine has not
  if (!existsSync('/sys/kernel/tracing/events')) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
    } catch (e) {
      console.error(`bench/bpf: could not mount tracefs (bpftrace's tracepoints need it): ${(e as Error).message}`);
    }
  }
  const bpftraceVersion = execFileSync('bpftrace', ['--version']).toString().trim();
  const perfVersion = execFileSync('perf', ['--version']).toString().trim();

  const cpuWorkload: Workload = async () => {
    const r = await run(spin, [String(CPU_SECS)], { timeoutMs: (CPU_SECS + 30) * 1000 });
    const m = /iterations_per_sec ([\d.]+)/.exec(r.out);
    const c = /iterations_per_cpu_sec ([\d.]+)/.exec(r.out);
    if (!m || !c) throw new Error(`spin failed: ${r.err}`);
    return { throughput: Number(m[1]), perCpu: Number(c[1]) };
  };
  const pipeWorkload: Workload = async () => {
    // `times` reports the CPU time of perf and its two tasks once they exited
    const r = await run('bash', ['-c', `perf bench sched pipe -l ${PIPE_LOOPS}; times >&2`], { timeoutMs: 180000 });
    const m = /(\d+) ops\/sec/.exec(r.out);
    if (!m) throw new Error(`perf bench sched pipe failed: ${r.err || r.out}`);
    const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.err.trim());
    const cpu = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : NaN;
    return { throughput: Number(m[1]), perCpu: cpu > 0 ? PIPE_LOOPS / cpu : undefined };
  };

  const t0 = Date.now();
  const loadBefore = os.loadavg();
  process.stderr.write(`bench/bpf: ${RUNS} interleaved runs per arm, ${CPU_SECS} s CPU workload, pipe ${PIPE_LOOPS} loops\n`);
  const profile = await suite(
    'profile',
    `bench/bpf/spin.c, ${os.cpus().length} threads, ${CPU_SECS} s`,
    'iterations/s',
    { bpftrace: ['bpftrace', '-e', BPFTRACE_PROFILE], bpfscope: bpfscopeArgv('profile', ['-F', '99']) },
    { bpftrace: `bpftrace -e '${BPFTRACE_PROFILE}'`, bpfscope: 'bpfscope profile -F 99' },
    cpuWorkload,
  );
  const offcpu = await suite(
    'offcputime',
    `perf bench sched pipe -l ${PIPE_LOOPS}`,
    'ops/s',
    { bpftrace: ['bpftrace', '-e', BPFTRACE_OFFCPU], bpfscope: bpfscopeArgv('offcputime', []) },
    { bpftrace: `bpftrace -e '${BPFTRACE_OFFCPU.replace(/\n\s*/g, ' ')}'`, bpfscope: 'bpfscope offcputime' },
    pipeWorkload,
  );
  const ps = summarize(profile);
  const os_ = summarize(offcpu);
  const result = {
    date: new Date().toISOString(),
    machine: {
      kernel: os.release(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      bpftrace: bpftraceVersion,
      perf: perfVersion,
    },
    // other work on the machine skews the wall-clock figures; the per-CPU-second ones are robust to it
    loadAverage1m: { before: loadBefore[0], after: os.loadavg()[0] },
    runsPerArm: RUNS,
    bpfscopeEntry: BPFSCOPE_ENTRY === 'built' ? 'node apps/collector/dist/cli/main.js (built)' : 'node --import tsx apps/collector/src/cli/main.ts (source)',
    stopCapSecs: STOP_CAP_SECS,
    elapsedSecs: (Date.now() - t0) / 1000,
    profile: { workload: profile.workload, unit: profile.unit, tracers: profile.tracers, arms: ps },
    offcputime: { workload: offcpu.workload, unit: offcpu.unit, tracers: offcpu.tracers, arms: os_ },
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/bpf.json'), JSON.stringify(result, null, 2) + '\n');

  const rows: string[] = [];
  rows.push(
    `### BPF overhead (${os.cpus().length} CPUs, Linux ${os.release()}, ${bpftraceVersion}, medians of ${RUNS} interleaved runs, bpfscope run from ${BPFSCOPE_ENTRY})`,
    '',
    `Load average (1 min) ${loadBefore[0].toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after: with other work sharing the CPUs the wall-clock columns move with it; "overhead per workload CPU-s" compares work done per CPU second the workload actually got, which is what a tracer's in-kernel cost changes.`,
    '',
  );
  rows.push(
    '| benchmark | arm | throughput | overhead vs no tracer | overhead per workload CPU-s | tracer CPU during workload | tracer CPU total | start-up | Ctrl-C → exit |',
  );
  rows.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [label, sum, unit] of [
    [`profile -F 99 on spin (${CPU_SECS} s)`, ps, 'iter/s'],
    [`offcputime on sched pipe (${PIPE_LOOPS} loops)`, os_, 'ops/s'],
  ] as const) {
    for (const arm of ARMS) {
      const a = sum[arm];
      if (a.error) {
        rows.push(`| ${label} | ${arm} | failed: ${a.error.replace(/\|/g, '/')} | | | | | | |`);
        continue;
      }
      rows.push(
        `| ${label} | ${arm}${a.failedRuns?.length ? ` (${a.failedRuns.length} run(s) failed, see bpf.json)` : ''} | ${fmt(a.medianThroughput, 0)} ${unit} | ${na(arm, a.overheadPct, ' %')} | ${na(arm, a.perCpuOverheadPct, ' %')} | ${na(arm, a.medianTracerCpuWindowSecs, ' s')} | ${a.killedAfterStopCap ? '≥ ' : ''}${na(arm, a.medianTracerCpuTotalSecs, ' s')} | ${na(arm, a.medianStartupSecs, ' s')} | ${a.killedAfterStopCap ? `> ${STOP_CAP_SECS} s (killed in ${a.killedAfterStopCap} of ${RUNS} runs)` : na(arm, a.medianStopSecs, ' s')} |`,
      );
    }
  }
  const vs = (sum: typeof ps, what: string) => {
    const b = sum.bpfscope;
    const t = sum.bpftrace;
    if (b.error || t.error || b.medianThroughput === undefined || t.medianThroughput === undefined) return `${what}: no comparison (an arm failed)`;
    const pct = (x: number | undefined, y: number | undefined) => (x !== undefined && y !== undefined && y !== 0 ? ((x - y) / y) * 100 : undefined);
    const signed = (x: number | undefined) => (x === undefined ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} %`);
    const parts = [
      `workload throughput under bpfscope ${signed(pct(b.medianThroughput, t.medianThroughput))} vs under bpftrace (per workload CPU-s ${signed(pct(b.medianPerCpu, t.medianPerCpu))})`,
      `tracer CPU total ${fmt(b.medianTracerCpuTotalSecs, 2)} s vs ${fmt(t.medianTracerCpuTotalSecs, 2)} s (${signed(pct(b.medianTracerCpuTotalSecs, t.medianTracerCpuTotalSecs))})`,
      `tracer CPU during the workload ${fmt(b.medianTracerCpuWindowSecs, 2)} s vs ${fmt(t.medianTracerCpuWindowSecs, 2)} s`,
      `Ctrl-C to exit ${fmt(b.medianStopSecs, 2)} s vs ${fmt(t.medianStopSecs, 2)} s`,
    ];
    return `${what}: ${parts.join('; ')}`;
  };
  rows.push('', `- ${vs(ps, 'profile')}`, `- ${vs(os_, 'offcputime')}`);
  console.log(rows.join('\n'));
  const failed = [...Object.values(ps), ...Object.values(os_)].some((a) => a.error);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (e) => {
    console.error(`bench/bpf: ${e instanceof Error ? e.stack : e}`);
    cleanup();
    process.exit(1);
  },
);
