/**
 * `npm run bench -- python`: the cost of CPython frames (issue #10 §1), measured in one run.
 *
 * 1. BPF time per sample (kernel.bpf_stats_enabled: run_time_ns / run_cnt of the CLI's do_sample
 *    program, from its fdinfo): `bpfscope profile -F 999 -U -f -p PID` on a pure-Python CPU workload
 *    (pyenv's 3.11 with shared libpython, or python3), with Python frames (default) and with
 *    BPFSCOPE_PYTHON_FRAMES=0 (the CFI walk of the same stacks, native frames only), and --unwind fp.
 * 2. Throughput: the workload's loop iterations per second of its own CPU time (time.process_time,
 *    so other load on the machine does not count) and per wall second, alone and under
 *    `bpfscope profile -F 99 -p PID` (CFI + Python frames), runs interleaved; the median of each.
 *    Goal: at most 1 % fewer iterations per CPU second.
 *
 * Run as root: node --conditions=source --import tsx bench/python/run.ts
 * Env: BENCH_PYTHON_SECS (length of each run, default 8), BENCH_PYTHON_RUNS (default 5),
 *      BENCH_PYTHON (interpreter). Output: bench/results/python.json and a summary on stdout.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECS = Number(process.env.BENCH_PYTHON_SECS ?? 8);
const RUNS = Number(process.env.BENCH_PYTHON_RUNS ?? 5);
const WORK = mkdtempSync(join(tmpdir(), 'bpfscope-bench-python-'));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(WORK, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const log = (s: string) => process.stderr.write(`bench/python: ${s}\n`);

function interpreter(): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  const root = join(process.env.PYENV_ROOT ?? '/root/.pyenv', 'versions');
  const v = existsSync(root) ? readdirSync(root).find((d) => d.startsWith('3.11.')) : undefined;
  return v ? join(root, v, 'bin', 'python3') : 'python3';
}

// a service-like workload: functions calling functions, dict/str/json work, one C extension call
const WORKLOAD = `
import json, sys, time
def parse(doc):
    return json.loads(doc)
def score(item):
    return sum(ord(c) for c in item["name"]) * item["n"]
def handle_request(doc):
    items = parse(doc)
    return sorted(items, key=score)[0]["n"]
doc = json.dumps([{"name": "item%d" % i, "n": i} for i in range(40)])
secs = float(sys.argv[1])
sys.stdout.write("R"); sys.stdout.flush(); sys.stdin.readline()
c0, w0, n = time.process_time(), time.monotonic(), 0
while time.monotonic() - w0 < secs:
    handle_request(doc); n += 1
c1, w1 = time.process_time(), time.monotonic()
print("%d %.6f %.6f" % (n, c1 - c0, w1 - w0))
`;

function cli(tool: string, args: string[]): [string, string[]] {
  return [process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'apps/collector/src/cli/main.ts'), tool, ...args]];
}

interface Started {
  child: ChildProcess;
  go: () => void;
  result: Promise<{ n: number; cpu: number; wall: number }>;
}

async function startWorkload(py: string, secs: number): Promise<Started> {
  const file = join(WORK, 'service.py');
  writeFileSync(file, WORKLOAD);
  const child = spawn(py, [file, String(secs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(child);
  let out = '';
  const ready = new Promise<void>((r) => child.stdout!.on('data', (d: Buffer) => ((out += d), out.startsWith('R') && r())));
  const result = new Promise<{ n: number; cpu: number; wall: number }>((resolve, reject) =>
    child.on('close', (code) => {
      live.delete(child);
      const [n, cpu, wall] = out.slice(1).trim().split(' ').map(Number);
      if (code !== 0 || !Number.isFinite(n)) reject(new Error(`workload exited ${code}: ${out}`));
      else resolve({ n, cpu, wall });
    }),
  );
  result.catch(() => {}); // a workload killed on purpose (the cost runs) has no result
  await ready;
  return { child, go: () => child.stdin!.end('go\n'), result };
}

/** run_time_ns / run_cnt of the programs a process holds (fdinfo) */
function progStats(pid: number): Map<number, { ns: number; cnt: number }> {
  const m = new Map<number, { ns: number; cnt: number }>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return m;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const f = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
      m.set(f('prog_id'), { ns: f('run_time_ns'), cnt: f('run_cnt') });
    } catch {
      /* closed meanwhile */
    }
  }
  return m;
}

/** the CLI holds its BPF programs (attached), then 1 s for the unwind tables */
async function attached(c: ChildProcess): Promise<void> {
  for (let i = 0; i < 600 && progStats(c.pid!).size === 0; i++) {
    if (c.exitCode !== null) throw new Error('bpfscope profile exited before attaching');
    await sleep(100);
  }
  await sleep(1000);
}

/** the CLI profiling `pid`; resolves with do_sample's ns per run (the program with the most runs) */
async function profileCost(
  py: string,
  mode: 'cfi' | 'fp',
  pythonFrames: boolean,
): Promise<{ nsPerSample: number; nsPerRecordedSample: number; samples: number; recorded: number; pythonShare: number }> {
  const w = await startWorkload(py, 3600); // runs until the capture is over (killed then)
  const [cmd, args] = cli('profile', ['-F', '999', '-U', '-f', '--unwind', mode, '-p', String(w.child.pid), String(SECS)]);
  const env = { ...process.env, BPFSCOPE_PYTHON_FRAMES: pythonFrames ? '1' : '0' };
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env });
  live.add(c);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await attached(c);
  w.go();
  let last = new Map<number, { ns: number; cnt: number }>();
  let done = false;
  c.on('close', () => (done = true));
  while (!done) {
    const s = progStats(c.pid!);
    if (s.size) last = s;
    await sleep(200);
  }
  live.delete(c);
  w.child.kill('SIGKILL');
  if (process.env.BENCH_PYTHON_DEBUG) writeFileSync(join(WORK, '..', `bench-python-${mode}-${pythonFrames}.txt`), out);
  const best = [...last.values()].sort((a, b) => b.cnt - a.cnt)[0];
  // share of samples whose stack has Python functions (`qualname (file)` frames: the workload's)
  let total = 0;
  let py3 = 0;
  for (const line of out.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m) continue;
    total += Number(m[2]);
    if (m[1].includes('handle_request (')) py3 += Number(m[2]);
  }
  // per run of the program (every CPU's samples, most of them other processes' that the pid filter
  // returns from at once), and per sample of the workload (all of the program's time / the samples
  // it recorded: an upper bound of the cost of one recorded sample)
  return {
    nsPerSample: best ? Math.round(best.ns / best.cnt) : NaN,
    nsPerRecordedSample: best && total ? Math.round(best.ns / total) : NaN,
    samples: best?.cnt ?? 0,
    recorded: total,
    pythonShare: total ? Number((py3 / total).toFixed(3)) : 0,
  };
}

async function throughput(py: string, traced: boolean): Promise<{ perCpuSec: number; perWallSec: number }> {
  const w = await startWorkload(py, SECS);
  let c: ChildProcess | undefined;
  if (traced) {
    const [cmd, args] = cli('profile', ['-F', '99', '-f', '-p', String(w.child.pid), String(SECS + 30)]);
    c = spawn(cmd, args, { stdio: 'ignore', cwd: ROOT });
    live.add(c);
    await attached(c);
  } else await sleep(1000);
  w.go();
  const r = await w.result;
  c?.kill('SIGINT');
  return { perCpuSec: r.n / r.cpu, perWallSec: r.n / r.wall };
}

async function main(): Promise<void> {
  if (process.geteuid?.() !== 0) throw new Error('run as root (BPF)');
  const py = interpreter();
  const version = execFileSync(py, ['-c', 'import sys; print(sys.version.split()[0])']).toString().trim();
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    kernel: release(),
    cpus: cpus().length,
    loadavgStart: loadavg(),
    python: `${py} ${version}`,
    secs: SECS,
    runs: RUNS,
  };
  const before = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  try {
    const cost: Record<string, unknown> = {};
    for (const [label, mode, pf] of [
      ['cfi + Python frames', 'cfi', true],
      ['cfi, native frames only (BPFSCOPE_PYTHON_FRAMES=0)', 'cfi', false],
      ['frame pointers', 'fp', false],
    ] as const) {
      log(`BPF cost: ${label}`);
      const xs = [];
      for (let i = 0; i < 2; i++) xs.push(await profileCost(py, mode, pf));
      cost[label] = { nsPerRun: median(xs.map((x) => x.nsPerSample)), nsPerRecordedSample: median(xs.map((x) => x.nsPerRecordedSample)), runs: xs };
    }
    result.bpfCost = cost;
  } finally {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', before);
  }
  const alone: Array<{ perCpuSec: number; perWallSec: number }> = [];
  const traced: Array<{ perCpuSec: number; perWallSec: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    log(`throughput run ${i + 1}/${RUNS}`);
    alone.push(await throughput(py, false));
    traced.push(await throughput(py, true));
  }
  const a = median(alone.map((x) => x.perCpuSec));
  const t = median(traced.map((x) => x.perCpuSec));
  const aw = median(alone.map((x) => x.perWallSec));
  const tw = median(traced.map((x) => x.perWallSec));
  result.throughput = {
    workload: 'handle_request: json.loads of 40 items + sorted by a Python key function',
    alone,
    traced,
    medianPerCpuSec: { alone: Math.round(a), traced: Math.round(t), slowdownPct: Number((100 * (1 - t / a)).toFixed(2)) },
    medianPerWallSec: { alone: Math.round(aw), traced: Math.round(tw), slowdownPct: Number((100 * (1 - tw / aw)).toFixed(2)) },
    goalPct: 1,
  };
  result.loadavgEnd = loadavg();
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'python.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench/python: ${(e as Error).message}\n`);
  process.exit(1);
});
