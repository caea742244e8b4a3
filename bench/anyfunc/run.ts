/**
 * Any-event tools against their bpftrace equivalents (Debian's bpftrace), same machine, same run,
 * arms interleaved (rotated order each round), medians of >= 3 runs:
 *
 * 1. stackcount: `bpfscope stackcount -U -p PID BIN:bs_hot` vs `bpftrace -p PID -e 'uprobe:BIN:bs_hot { @[ustack] = count(); }'`
 * 2. funclatency: `bpfscope funclatency -p PID BIN:bs_hot` (uprobe + uretprobe) vs the bpftrace
 *    uprobe/uretprobe histogram (this test VM's kernel has no kprobes, fprobe or usable BPF
 *    trampolines, so the kernel-function variant cannot run here)
 *    — workload: bench/anyfunc/hot.c calling bs_hot() as fast as it can (calls/s), no tracer = baseline.
 * 3. runqlat: `bpfscope runqlat` vs bpftrace's runqlat (sched_wakeup/_new + sched_switch, hist of µs)
 *    — workload: `perf bench sched pipe` (ops/s).
 * Per arm: the workload's throughput, the tracer's CPU seconds while the workload ran, and the BPF
 * programs' cost per event from the kernel's bpf_stats (run_time_ns / run_cnt of the programs the
 * tracer loaded; kernel.bpf_stats_enabled is switched on for the run and restored).
 *
 * bpftrace's tracepoints need tracefs: the run mounts it at /sys/kernel/tracing when it is not
 * mounted (and unmounts it at the end).
 * Run: node --conditions=source --import tsx bench/anyfunc/run.ts   (root; ~3 min)
 * Env: BENCH_ANYFUNC_RUNS (3), BENCH_ANYFUNC_SECS (4), BENCH_ANYFUNC_PIPE_LOOPS (200000)
 * Output: bench/results/anyfunc.json and a markdown table on stdout.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Number(process.env.BENCH_ANYFUNC_RUNS ?? 3);
const SECS = Number(process.env.BENCH_ANYFUNC_SECS ?? 4);
const PIPE_LOOPS = Number(process.env.BENCH_ANYFUNC_PIPE_LOOPS ?? 200000);
const WORK = join(os.tmpdir(), 'bpfscope-bench-anyfunc');
const CLK_TCK = 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null) c.kill('SIGKILL');
});

function cpuSecs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface Prog {
  id: number;
  name: string;
  run_time_ns?: number;
  run_cnt?: number;
}
function progs(): Prog[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Prog[];
}

interface Tracer {
  child: ChildProcess;
  newProgs: number[];
  stop(): Promise<void>;
}

async function startTracer(argv: string[], ready: RegExp): Promise<Tracer> {
  const before = new Set(progs().map((p) => p.id));
  const c = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(c);
  let out = '';
  let err = '';
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start: ${err.slice(-500)}`)), 60000);
    c.stdout!.on('data', (d: Buffer) => {
      if (out.length < 4096) out += d.toString();
      if (ready.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    c.on('exit', (code) => reject(new Error(`${argv[0]} exited (${code}): ${err.slice(-500)}`)));
  });
  await sleep(1000); // bpftrace prints "Attaching" before it attached
  const newProgs = progs()
    .map((p) => p.id)
    .filter((id) => !before.has(id));
  return {
    child: c,
    newProgs,
    async stop() {
      c.kill('SIGINT');
      const t = setTimeout(() => c.kill('SIGKILL'), 60000);
      await new Promise((r) => c.on('close', r));
      clearTimeout(t);
      live.delete(c);
    },
  };
}

function bpfscope(tool: string, args: string[]): string[] {
  return [process.execPath, '--conditions=source', '--import', 'tsx', join(ROOT, 'apps/collector/src/cli/main.ts'), tool, ...args];
}

type Arm = 'none' | 'bpftrace' | 'bpfscope';
interface Sample {
  throughput: number;
  tracerCpu: number;
  nsPerEvent: number;
  events: number;
}

interface Scenario {
  name: string;
  peer: string;
  ours: string;
  /** starts the workload gated (returns its go() and its result) */
  workload(): { pid: number; go: () => void; result: Promise<number> };
  tracer(arm: Exclude<Arm, 'none'>, pid: number): string[];
}

function hotWorkload(bin: string): Scenario['workload'] {
  return () => {
    const c = spawn(bin, [String(SECS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    live.add(c);
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const result = new Promise<number>((resolve, reject) =>
      c.on('exit', (code) => {
        live.delete(c);
        if (code !== 0) reject(new Error(`workload exited ${code}`));
        else resolve(Number(out.trim()));
      }),
    );
    return { pid: c.pid!, go: () => c.stdin!.end('go\n'), result };
  };
}

function pipeWorkload(): Scenario['workload'] {
  return () => {
    let goResolve: () => void = () => {};
    const gate = new Promise<void>((r) => (goResolve = r));
    const result = gate.then(
      () =>
        new Promise<number>((resolve, reject) => {
          const c = spawn('perf', ['bench', 'sched', 'pipe', '-l', String(PIPE_LOOPS)], { stdio: ['ignore', 'pipe', 'pipe'] });
          live.add(c);
          let out = '';
          c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          c.on('exit', () => {
            live.delete(c);
            const m = /([\d.]+) ops\/sec/.exec(out);
            if (m) resolve(Number(m[1]));
            else reject(new Error(`perf bench sched pipe: no ops/sec in ${out.slice(-300)}`));
          });
        }),
    );
    return { pid: process.pid, go: goResolve, result };
  };
}

async function runOnce(s: Scenario, arm: Arm): Promise<Sample> {
  const w = s.workload();
  let t: Tracer | undefined;
  if (arm !== 'none') t = await startTracer(s.tracer(arm, w.pid), arm === 'bpftrace' ? /Attaching \d+ probes?/ : /^Tracing/m);
  const stats0 = new Map(progs().map((p) => [p.id, p]));
  const cpu0 = t ? cpuSecs(t.child.pid!) : 0;
  w.go();
  const throughput = await w.result;
  const cpu1 = t ? cpuSecs(t.child.pid!) : 0;
  let ns = 0;
  let cnt = 0;
  if (t) {
    for (const p of progs()) {
      if (!t.newProgs.includes(p.id)) continue;
      const b = stats0.get(p.id);
      ns += (p.run_time_ns ?? 0) - (b?.run_time_ns ?? 0);
      cnt += (p.run_cnt ?? 0) - (b?.run_cnt ?? 0);
    }
    await t.stop();
  }
  return { throughput, tracerCpu: cpu1 - cpu0, nsPerEvent: cnt ? ns / cnt : NaN, events: cnt };
}

async function main(): Promise<void> {
  if (process.geteuid?.() !== 0) throw new Error('bench/anyfunc needs root (it loads BPF programs)');
  mkdirSync(WORK, { recursive: true });
  const bin = join(WORK, 'hot');
  execFileSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-o', bin, join(ROOT, 'bench/anyfunc/hot.c')]);
  const bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
  const scenarios: Scenario[] = [
    {
      // frame pointers on both sides (the default, --unwind auto, walks the CFI tables: next row)
      name: 'stackcount (uprobe, user stacks, --unwind fp)',
      peer: `uprobe:${bin}:bs_hot { @[ustack] = count(); }`,
      ours: `bpfscope stackcount -U --unwind fp -p PID ${bin}:bs_hot`,
      workload: hotWorkload(bin),
      tracer: (arm, pid) =>
        arm === 'bpftrace'
          ? ['bpftrace', '-p', String(pid), '-e', `uprobe:${bin}:bs_hot { @[ustack] = count(); }`]
          : bpfscope('stackcount', ['-U', '--unwind', 'fp', '-p', String(pid), `${bin}:bs_hot`]),
    },
    {
      // the default: user stacks by the CFI walker (complete without frame pointers), against the
      // same frame-pointer bpftrace one-liner (bpftrace has no CFI unwinder)
      name: 'stackcount (uprobe, user stacks, default --unwind auto = cfi)',
      peer: `uprobe:${bin}:bs_hot { @[ustack] = count(); }`,
      ours: `bpfscope stackcount -U -p PID ${bin}:bs_hot`,
      workload: hotWorkload(bin),
      tracer: (arm, pid) =>
        arm === 'bpftrace'
          ? ['bpftrace', '-p', String(pid), '-e', `uprobe:${bin}:bs_hot { @[ustack] = count(); }`]
          : bpfscope('stackcount', ['-U', '-p', String(pid), `${bin}:bs_hot`]),
    },
    {
      name: 'funclatency (uprobe + uretprobe)',
      peer: `uprobe:${bin}:bs_hot { @s[tid] = nsecs; } uretprobe:${bin}:bs_hot /@s[tid]/ { @ns = hist(nsecs - @s[tid]); delete(@s[tid]); }`,
      ours: `bpfscope funclatency -p PID ${bin}:bs_hot`,
      workload: hotWorkload(bin),
      tracer: (arm, pid) =>
        arm === 'bpftrace'
          ? [
              'bpftrace',
              '-p',
              String(pid),
              '-e',
              `uprobe:${bin}:bs_hot { @s[tid] = nsecs; } uretprobe:${bin}:bs_hot /@s[tid]/ { @ns = hist(nsecs - @s[tid]); delete(@s[tid]); }`,
            ]
          : bpfscope('funclatency', ['-p', String(pid), `${bin}:bs_hot`]),
    },
    {
      name: 'runqlat',
      peer: 'runqlat.bt: sched_wakeup/_new record, sched_switch (prev runnable: record) → @usecs = hist(µs)',
      ours: 'bpfscope runqlat',
      workload: pipeWorkload(),
      tracer: (arm) =>
        arm === 'bpftrace'
          ? [
              'bpftrace',
              '-e',
              [
                'tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }',
                'tracepoint:sched:sched_switch { if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }',
                '  $ns = @qtime[args->next_pid]; if ($ns) { @usecs = hist((nsecs - $ns) / 1000); } delete(@qtime[args->next_pid]); }',
                'END { clear(@qtime); }',
              ].join('\n'),
            ]
          : bpfscope('runqlat', []),
    },
  ];
  // bpftrace's tracepoint probes need tracefs (bpfscope's runqlat does not): mount it for the run
  // when it is not mounted, and unmount it afterwards
  let mountedTracefs = false;
  if (!existsSync('/sys/kernel/tracing/events')) {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
    mountedTracefs = true;
  }
  const prevStats = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  const results: Record<string, Record<Arm, Sample[]>> = {};
  try {
    const arms: Arm[] = ['none', 'bpftrace', 'bpfscope'];
    for (const s of scenarios) {
      results[s.name] = { none: [], bpftrace: [], bpfscope: [] };
      for (let r = 0; r < RUNS; r++) {
        const order = arms.map((_, i) => arms[(i + r) % arms.length]);
        for (const arm of order) {
          const x = await runOnce(s, arm);
          results[s.name][arm].push(x);
          process.stderr.write(
            `${s.name} ${arm} run ${r + 1}: ${x.throughput.toFixed(0)}/s cpu ${x.tracerCpu.toFixed(2)} s ${x.nsPerEvent.toFixed(0)} ns/event\n`,
          );
        }
      }
    }
  } finally {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', prevStats);
    if (mountedTracefs) execFileSync('umount', ['/sys/kernel/tracing']);
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([name, arms]) => [
      name,
      Object.fromEntries(
        Object.entries(arms).map(([arm, xs]) => [
          arm,
          {
            throughput: median(xs.map((x) => x.throughput)),
            tracerCpuSecs: median(xs.map((x) => x.tracerCpu)),
            bpfNsPerEvent: median(xs.map((x) => x.nsPerEvent)),
            events: median(xs.map((x) => x.events)),
          },
        ]),
      ),
    ]),
  );
  const load = os.loadavg()[0];
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/anyfunc.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        kernel: os.release(),
        cpus: os.cpus().length,
        load1: load,
        runs: RUNS,
        secs: SECS,
        bpftrace: bpftraceVersion,
        scenarios: scenarios.map((s) => ({ name: s.name, peer: s.peer, ours: s.ours })),
        summary,
        runsRaw: results,
      },
      null,
      2,
    ) + '\n',
  );
  const lines = ['| scenario | arm | workload throughput | vs none | tracer CPU s (window) | BPF ns/event |', '| --- | --- | --- | --- | --- | --- |'];
  for (const [name, arms] of Object.entries(summary)) {
    const base = arms.none.throughput;
    for (const [arm, v] of Object.entries(arms)) {
      lines.push(
        `| ${name} | ${arm} | ${v.throughput.toFixed(0)}/s | ${arm === 'none' ? '' : `${((v.throughput / base - 1) * 100).toFixed(1)}%`} | ${arm === 'none' ? '' : v.tracerCpuSecs.toFixed(2)} | ${arm === 'none' ? '' : v.bpfNsPerEvent.toFixed(0)} |`,
      );
    }
  }
  console.log(lines.join('\n'));
  console.log(`\n${RUNS} runs per arm, load ${load.toFixed(1)}, ${os.cpus().length} CPUs, ${bpftraceVersion}`);
}

main().catch((e) => {
  console.error(`bench/anyfunc: ${(e as Error).message}`);
  process.exit(1);
});
