/**
 * Collector benchmark: CPU (utime+stime) and RSS of `bpfscope serve` while it streams a profile
 * capture at 99 Hz on all CPUs under a busy workload, with 1 and with 10 watching clients, against
 * bpftrace on the same capture (`profile:hz:99 { @[kstack, ustack, comm] = count(); }`); and the
 * end-to-end delay from the end of an interval (the delta's `intervalEnd`, collector clock) to the
 * client receiving the delta (same host clock).
 *
 *   node --conditions=source --import tsx bench/collector/run.ts [--seconds N]
 *
 * Results: bench/results/collector.json and a table on stdout. Needs root (BPF).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { listeningPort } from '../../tests/support/net.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'bench-token-' + Math.random().toString(36).slice(2) + 'x'.repeat(8);
const argIdx = process.argv.indexOf('--seconds');
const SECONDS = argIdx > 0 ? Number(process.argv[argIdx + 1]) : 20;
const HZ = 99;
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

if (process.geteuid?.() !== 0) {
  console.error('bench/collector: needs root to load BPF programs (run as root)');
  process.exit(1);
}

function procCpuSec(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14, 15)
}
function procMemKb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/^VmRSS:\s*(\d+)/m.exec(s)?.[1] ?? 0), hwm: Number(/^VmHWM:\s*(\d+)/m.exec(s)?.[1] ?? 0) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(q * (a.length - 1) + 0.5))]!;
}

const WORKLOAD = `
volatile unsigned long sink;
__attribute__((noinline)) void bench_leaf(unsigned long n) { for (unsigned long i = 0; i < n; i++) sink += i; }
__attribute__((noinline)) void bench_a(void) { bench_leaf(300000); }
__attribute__((noinline)) void bench_b(void) { bench_leaf(100000); }
int main(void) { for (;;) { bench_a(); bench_b(); } }
`;

async function startCollector(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(REPO, 'apps/collector/bin/bpfscope.js'), 'serve', '--port', '0'], {
    cwd: REPO,
    env: { ...process.env, BPFSCOPE_TOKEN: TOKEN, BPFSCOPE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await listeningPort(child, { what: 'collector', timeoutMs: 120000 });
  return { child, port };
}

interface Client {
  ws: WebSocket;
  delays: number[];
  deltas: number;
  bytes: number;
  end?: Record<string, unknown>;
  started?: { captureId: string };
}

function openClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no welcome within 30 s')), 30000).unref();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${TOKEN}` }, perMessageDeflate: false });
    const c: Client = { ws, delays: [], deltas: 0, bytes: 0 };
    ws.on('message', (d) => {
      const now = Date.now();
      c.bytes += (d as Buffer).length;
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') resolve(c);
      else if (m.type === 'delta') {
        c.deltas++;
        if (!m.full && typeof m.intervalEnd === 'number') c.delays.push(now - m.intervalEnd);
      } else if (m.type === 'end') c.end = m;
      else if (m.type === 'started') c.started = m;
      else if (m.type === 'error') console.error('collector error:', m);
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', version: 1, client: 'bench' })));
    ws.once('error', reject);
  });
}

async function until(pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(20);
  }
}

interface CollectorRun {
  clients: number;
  cpuSec: number;
  cpuPct: number;
  rssMb: number;
  peakRssMb: number;
  samples: number;
  deltasPerClient: number;
  bytesPerClient: number;
  delayMedianMs: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

const progress = (msg: string) => process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function runCollector(nClients: number): Promise<CollectorRun> {
  progress(`collector with ${nClients} client(s): starting bpfscope serve`);
  const { child, port } = await startCollector();
  progress(`listening on ${port}`);
  try {
    const pid = child.pid!;
    const clients: Client[] = [];
    for (let i = 0; i < nClients; i++) clients.push(await openClient(port));
    await sleep(500);
    const cpu0 = procCpuSec(pid);
    const t0 = Date.now();
    clients[0]!.ws.send(JSON.stringify({ type: 'start', requestId: 'b', tool: 'profile', durationSec: SECONDS, options: { frequency: HZ, intervalSec: 1 } }));
    await until(() => !!clients[0]!.started, 20000);
    const id = clients[0]!.started!.captureId;
    progress(`capture ${id} started`);
    for (const c of clients.slice(1)) c.ws.send(JSON.stringify({ type: 'subscribe', captureId: id }));
    let rssMax = 0;
    while (!clients.every((c) => c.end)) {
      rssMax = Math.max(rssMax, procMemKb(pid).rss);
      if (Date.now() - t0 > (SECONDS + 30) * 1000) throw new Error('capture did not end');
      await sleep(200);
    }
    const cpu1 = procCpuSec(pid);
    const wall = (Date.now() - t0) / 1000;
    const mem = procMemKb(pid);
    const delays = clients.flatMap((c) => c.delays);
    for (const c of clients) c.ws.close();
    return {
      clients: nClients,
      cpuSec: cpu1 - cpu0,
      cpuPct: ((cpu1 - cpu0) / wall) * 100,
      rssMb: Math.max(rssMax, mem.rss) / 1024,
      peakRssMb: mem.hwm / 1024,
      samples: Number(clients[0]!.end!.samples),
      deltasPerClient: clients.reduce((a, c) => a + c.deltas, 0) / nClients,
      bytesPerClient: clients.reduce((a, c) => a + c.bytes, 0) / nClients,
      delayMedianMs: quantile(delays, 0.5),
      delayP99Ms: quantile(delays, 0.99),
      delayMaxMs: Math.max(...delays),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

interface BpftraceRun {
  streamingCpuSec: number;
  streamingCpuPct: number;
  totalCpuSec: number;
  rssMb: number;
  peakRssMb: number;
  outputLines: number;
  /** wall seconds from SIGINT to exit (printing the map) */
  exitSec: number;
  killedWhilePrinting: boolean;
}

async function runBpftrace(): Promise<BpftraceRun> {
  progress('bpftrace: starting');
  const prog = `profile:hz:${HZ} { @[kstack, ustack, comm] = count(); }`;
  const child = spawn('bpftrace', ['-e', prog], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await until(() => /Attaching/.test(out), 120000);
  progress('bpftrace attached');
  await sleep(300);
  const cpu0 = procCpuSec(pid);
  const t0 = Date.now();
  let rssMax = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    rssMax = Math.max(rssMax, procMemKb(pid).rss);
    await sleep(200);
  }
  const cpu1 = procCpuSec(pid);
  const wall = (Date.now() - t0) / 1000;
  // total: from exec to the end of printing (sampled until the process is gone)
  let last = cpu1;
  let hwm = procMemKb(pid).hwm;
  child.kill('SIGINT');
  const exited = new Promise((r) => child.once('exit', r));
  let done = false;
  void exited.then(() => (done = true));
  const tKill = Date.now();
  let killed = false;
  while (!done) {
    if (!killed && Date.now() - tKill > 180_000) {
      // printing (symbolizing every stack) is taking very long on a loaded machine: stop waiting
      killed = true;
      child.kill('SIGKILL');
    }
    try {
      last = procCpuSec(pid);
      hwm = Math.max(hwm, procMemKb(pid).hwm);
    } catch {
      break;
    }
    await sleep(20);
  }
  await exited;
  return {
    streamingCpuSec: cpu1 - cpu0,
    streamingCpuPct: ((cpu1 - cpu0) / wall) * 100,
    totalCpuSec: last,
    rssMb: rssMax / 1024,
    peakRssMb: hwm / 1024,
    outputLines: out.split('\n').length,
    exitSec: (Date.now() - tKill) / 1000,
    killedWhilePrinting: killed,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bpfscope-bench-'));
  writeFileSync(join(dir, 'w.c'), WORKLOAD);
  execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', join(dir, 'busy'), join(dir, 'w.c')]);
  const ncpu = cpus().length;
  const busy = Array.from({ length: ncpu }, () => spawn(join(dir, 'busy'), [], { stdio: 'ignore' }));
  const cleanup = () => {
    for (const b of busy) b.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  try {
    console.log(
      `bench/collector: ${SECONDS} s profile at ${HZ} Hz on ${ncpu} CPUs, ${ncpu} busy processes` +
        (SECONDS < 60 ? ` (shortened from 60 s to keep the bench short; pass --seconds 60 for the full run)` : ''),
    );
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const one = await runCollector(1);
    const ten = await runCollector(10);
    const bt = await runBpftrace();
    const bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
    const result = {
      date: new Date().toISOString(),
      kernel: release(),
      cpus: ncpu,
      loadavgBefore: load,
      seconds: SECONDS,
      frequencyHz: HZ,
      command: 'node --conditions=source --import tsx bench/collector/run.ts' + (argIdx > 0 ? ` --seconds ${SECONDS}` : ''),
      note: 'collector = `bpfscope serve` through apps/collector/bin/bpfscope.js (the built CLI after `npm run build`, else the TypeScript source through tsx, whose loader then counts in RSS); CPU counted from capture start to the last client receiving `end`. bpftrace streaming CPU is counted over the same window after attach; its total adds LLVM compilation at start and symbolization/printing at exit.',
      collector: { oneClient: one, tenClients: ten },
      bpftrace: { version: bpftraceVersion, program: `profile:hz:${HZ} { @[kstack, ustack, comm] = count(); }`, ...bt },
    };
    mkdirSync(join(REPO, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO, 'bench/results/collector.json'), JSON.stringify(result, null, 2) + '\n');
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
    console.log('');
    console.log(`| ${SECONDS} s profile @ ${HZ} Hz, all CPUs busy | CPU s (window) | CPU % of 1 core | RSS MB | peak RSS MB | delta delay median / p99 ms |`);
    console.log('|---|---|---|---|---|---|');
    console.log(
      `| bpfscope serve, 1 client | ${f(one.cpuSec, 2)} | ${f(one.cpuPct)} | ${f(one.rssMb)} | ${f(one.peakRssMb)} | ${f(one.delayMedianMs)} / ${f(one.delayP99Ms)} |`,
    );
    console.log(
      `| bpfscope serve, 10 clients | ${f(ten.cpuSec, 2)} | ${f(ten.cpuPct)} | ${f(ten.rssMb)} | ${f(ten.peakRssMb)} | ${f(ten.delayMedianMs)} / ${f(ten.delayP99Ms)} |`,
    );
    console.log(
      `| bpftrace (${bpftraceVersion}) | ${f(bt.streamingCpuSec, 2)} (total incl. compile+print ${f(bt.totalCpuSec, 2)}${bt.killedWhilePrinting ? ', killed while printing' : ''}) | ${f(bt.streamingCpuPct)} | ${f(bt.rssMb)} | ${f(bt.peakRssMb)} | n/a (prints at exit) |`,
    );
    console.log(
      `\nsamples: ${one.samples} (1 client), ${ten.samples} (10 clients); deltas/client ${f(one.deltasPerClient, 0)} / ${f(ten.deltasPerClient, 0)}; bytes/client ${f(one.bytesPerClient / 1024)} KiB / ${f(ten.bytesPerClient / 1024)} KiB`,
    );
    console.log('results: bench/results/collector.json');
  } finally {
    cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error('bench/collector failed:', e);
    process.exit(1);
  },
);
