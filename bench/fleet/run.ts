/**
 * Fleet benchmark: the hub (`next start`, the real console process with its join endpoint) driving
 * one fleet capture on 10, 50 and 200 simulated hosts (`bpfscope serve --simulate N`: synthetic
 * hosts in one process replaying a recorded profile with per-host variation, no BPF) at 99 Hz.
 * Measured: the hub's CPU (utime+stime of its process group) and peak RSS during the capture; live
 * merge latency — a host's interval end (the delta's `intervalEnd`, same machine clock) to an SSE
 * client of /api/captures/<id>/events holding the merged delta (p50/p99); time to open the saved
 * fleet snapshot (GET /api/snapshots/<id> to the last byte + decodeProfile + buildTree, in Node).
 * There is no peer that does on-demand multi-host captures: numbers stand against the goals.
 *
 *   node --conditions=source --import tsx bench/fleet/run.ts [--seconds N] [--hosts 10,50,200,1000] [--out FILE]
 *
 * Needs the web app built (bash scripts/build.sh). Results: bench/results/fleet.json.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTree, decodeProfile } from '@bpfscope/viz';
import { freePort } from '../../tests/support/net.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const arg = (n: string) => {
  const i = process.argv.indexOf(n);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Number(arg('--seconds') ?? 20);
const HOSTS = (arg('--hosts') ?? '10,50,200,1000').split(',').map(Number);
const OUT = arg('--out') ?? 'bench/results/fleet.json';
const HZ = 99;
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

if (!existsSync(join(REPO, 'apps/web/.next/BUILD_ID'))) {
  console.error('bench/fleet: the web app is not built: run bash scripts/build.sh first');
  process.exit(1);
}

/** A recorded-profile stand-in: 3000 stacks, depth 8-40, over 600 function names (seeded). */
function recording(file: string): void {
  let a = 12345;
  const rnd = () => {
    a = (a * 1103515245 + 12345) & 0x7fffffff;
    return a / 0x7fffffff;
  };
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const depth = 8 + Math.floor(rnd() * 32);
    const fr = ['svc'];
    for (let d = 0; d < depth; d++) fr.push(`fn_${Math.floor(rnd() * rnd() * 600)}`);
    lines.push(`${fr.join(';')} ${1 + Math.floor(rnd() * 50)}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

/** utime+stime (ticks) and RSS (kB) summed over a process group. */
function groupStats(pgid: number): { ticks: number; rssKb: number } {
  let ticks = 0;
  let rssKb = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue; // field 5: pgrp
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { ticks, rssKb };
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function waitFor(what: string, ok: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await ok().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bpfscope-bench-fleet-'));
const children: ChildProcess[] = [];
const stopAll = () => {
  for (const c of children)
    if (c.pid && c.exitCode === null)
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
};
process.on('exit', stopAll);

const rows: Record<string, unknown>[] = [];
try {
  const joinToken = 'bench-join-' + Math.random().toString(36).slice(2);
  const rec = join(dir, 'recording.folded');
  recording(rec);
  const webPort = await freePort();
  const joinPort = await freePort();
  const base = `http://127.0.0.1:${webPort}`;
  const nextBin = join(REPO, 'node_modules/next/dist/bin/next');
  const web = spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(webPort)], {
    cwd: join(REPO, 'apps/web'),
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      BPFSCOPE_DATA_DIR: dir,
      BPFSCOPE_DATABASE_URL: '',
      BPFSCOPE_COLLECTOR_URL: 'ws://127.0.0.1:1',
      BPFSCOPE_TOKEN: 'unused-token',
      BPFSCOPE_COLLECTORS: '',
      BPFSCOPE_WEB_HOST: '127.0.0.1',
      BPFSCOPE_JOIN_PORT: String(joinPort),
      BPFSCOPE_JOIN_TOKEN: joinToken,
      BPFSCOPE_FLEET_MAX_HOSTS: '5000',
    },
  });
  children.push(web);
  await waitFor('the console', async () => (await fetch(`${base}/api/snapshots`)).status < 500, 90000);

  for (const n of HOSTS) {
    const sim = spawn(
      process.execPath,
      [
        join(REPO, 'apps/collector/bin/bpfscope.js'),
        'serve',
        '--port',
        '0',
        '--hub',
        `ws://127.0.0.1:${joinPort}`,
        '--name',
        `sim${n}`,
        '--simulate',
        String(n),
        '--simulate-file',
        rec,
        '--interval',
        '1',
      ],
      {
        detached: true,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, BPFSCOPE_JOIN_TOKEN: joinToken, BPFSCOPE_LOG_LEVEL: 'warn', BPFSCOPE_MAX_CLIENTS: '4' },
      },
    );
    children.push(sim);
    const joinMs = await waitFor(
      `${n} simulated hosts to join`,
      async () => {
        const cs = (await (await fetch(`${base}/api/collectors?label=simulated=true`)).json()).collectors as { id: string; connected: boolean }[];
        return cs.filter((c) => c.id.startsWith(`sim${n}-`) && c.connected).length === n;
      },
      120000,
    );
    const res = await fetch(`${base}/api/captures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        tool: 'profile',
        durationSec: SECONDS,
        options: { frequency: HZ, intervalSec: 1 },
        hosts: Array.from({ length: n }, (_, i) => `sim${n}-${i}`),
        name: `bench fleet ${n}`,
      }),
    });
    if (res.status !== 202) throw new Error(`start: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const lat: number[] = [];
    let deltas = 0;
    const before = groupStats(web.pid!);
    const t0 = Date.now();
    let peakRss = before.rssKb;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, groupStats(web.pid!).rssKb);
    }, 500);
    // the SSE client: each merged delta's delay from its host's interval end
    const sse = await fetch(`${base}/api/captures/${id}/events`);
    const reader = sse.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let ended = false;
    while (!ended) {
      const { value, done } = await reader.read();
      if (done) break;
      const now = Date.now();
      buf += dec.decode(value, { stream: true });
      let k: number;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, k);
        buf = buf.slice(k + 2);
        const data = ev
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5))
          .join('');
        if (!data) continue;
        const m = JSON.parse(data);
        if (m.type === 'delta' && !m.full) {
          deltas++;
          if (typeof m.intervalEnd === 'number') lat.push(now - m.intervalEnd);
        }
        if (m.type === 'end' || m.type === 'error') ended = true;
      }
    }
    const wall = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const after = groupStats(web.pid!);
    let snap: { snapshotId?: string; state?: string; error?: string } = {};
    await waitFor(
      'the snapshot',
      async () => {
        snap = await (await fetch(`${base}/api/captures/${id}`)).json();
        return !!snap.snapshotId || snap.state === 'failed';
      },
      60000,
    );
    if (!snap.snapshotId) throw new Error(`capture ${snap.state}: ${snap.error}`);
    const o0 = performance.now();
    const body = await (await fetch(`${base}/api/snapshots/${snap.snapshotId}`)).text();
    const parsed = JSON.parse(body);
    const profile = decodeProfile(JSON.stringify(parsed.profile));
    buildTree(profile);
    const openMs = performance.now() - o0;
    const row = {
      hosts: n,
      hz: HZ,
      seconds: SECONDS,
      joinMs,
      hubCpuCores: +((after.ticks - before.ticks) / TICK / wall).toFixed(3),
      hubPeakRssMb: Math.round(peakRss / 1024),
      deltas,
      mergeLatencyMs: { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length },
      snapshot: { stacks: profile.stacks.length, bytes: body.length, openMs: Math.round(openMs) },
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    process.kill(-sim.pid!, 'SIGTERM');
    await new Promise((r) => sim.once('exit', r));
  }
} finally {
  stopAll();
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(join(REPO, OUT, '..'), { recursive: true });
writeFileSync(
  join(REPO, OUT),
  JSON.stringify(
    {
      machine: { cpus: cpus().length, kernel: release(), load: readFileSync('/proc/loadavg', 'utf8').trim() },
      date: new Date().toISOString(),
      goals: { hubCores: 1, hubRssMb: 1024, mergeP99Ms: 1000, openMs: 3000, atHosts: 200 },
      rows,
    },
    null,
    2,
  ) + '\n',
);
console.log(`bench/fleet: results in ${OUT}`);
