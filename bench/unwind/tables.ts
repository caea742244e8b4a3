/**
 * Unwind-table generation benchmark (part of bench/unwind): for libc, libpython3.11, node and
 * chromium, the time to get a table through UnwindTables cold (empty disk cache: generation in the
 * worker + cache write), from the disk cache (a new UnwindTables, as a second capture would) and
 * from memory, the in-thread parse time, and the table size. Peer reference point in the same run:
 * `readelf --debug-dump=frames-interp` over the same object (binutils decodes the same CFI into
 * per-row text; not the same output, but the same input walked end to end).
 * Goals (issue 9): chromium ≤ 3 s cold, ≤ 50 ms cached.
 *
 * Run: node --conditions=source --import tsx bench/unwind/tables.ts [--reps N] [--extra PATH,...] [--out FILE]
 * Writes bench/results/unwind-tables.json and prints a markdown table. runTablesBench() is also
 * exported for bench/unwind/run.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnwindTables } from '../../packages/bpf/src/unwind/tables.js';
import { generateTable } from '../../packages/bpf/src/unwind/generate.js';
import { ROW_SIZE } from '../../packages/bpf/src/unwind/format.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface TablesBenchObject {
  name: string;
  path: string;
  rows: number;
  bytes: number;
  source: string;
  unsupported: Record<string, number>;
  coldMs: number;
  diskCachedMs: number;
  memoryCachedMs: number;
  parseInThreadMs: number;
  readelfFramesInterpMs?: number;
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function objects(extra: string[] = []): Array<{ name: string; path: string }> {
  const which = (cmd: string): string | undefined => {
    for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, cmd))) return join(d, cmd);
    return undefined;
  };
  const list = [
    { name: 'libc', path: '/lib/x86_64-linux-gnu/libc.so.6' },
    {
      name: 'libpython3.11',
      path: existsSync('/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0') ? '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0' : '/usr/bin/python3.11',
    },
    { name: 'node', path: which('node') ?? '/usr/bin/node' },
    { name: 'chromium', path: '/usr/lib/chromium/chromium' },
    ...extra.map((p) => ({ name: p.split('/').pop()!, path: p })),
  ];
  return list.filter((o) => existsSync(o.path)).map((o) => ({ ...o, path: realpathSync(o.path) }));
}

function timeReadelf(path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn('readelf', ['--debug-dump=frames-interp', path], { stdio: ['ignore', 'ignore', 'ignore'] });
    p.on('error', () => resolve(undefined));
    p.on('exit', () => resolve(performance.now() - t0));
  });
}

export async function runTablesBench(opts: { reps?: number; extra?: string[] } = {}): Promise<{ objects: TablesBenchObject[]; workerStartMs: number }> {
  const reps = opts.reps ?? 3;
  const out: TablesBenchObject[] = [];
  const base = mkdtempSync(join(tmpdir(), 'bpfscope-bench-unwind-'));
  let workerStartMs = 0;
  try {
    // worker start-up (once per process), measured on the smallest object, then excluded
    {
      const u = new UnwindTables();
      const t0 = performance.now();
      await u.get('/lib64/ld-linux-x86-64.so.2');
      workerStartMs = performance.now() - t0;
      u.close();
    }
    for (const o of objects(opts.extra)) {
      const cold: number[] = [];
      const disk: number[] = [];
      const mem: number[] = [];
      let table;
      for (let r = 0; r < reps; r++) {
        const cacheDir = join(base, `${o.name}-${r}`);
        const u = new UnwindTables({ cacheDir });
        await u.get('/lib64/ld-linux-x86-64.so.2'); // start the worker first: cold = this object's work
        let t0 = performance.now();
        table = await u.get(o.path);
        cold.push(performance.now() - t0);
        t0 = performance.now();
        await u.get(o.path);
        mem.push(performance.now() - t0);
        u.close();
        const u2 = new UnwindTables({ cacheDir });
        t0 = performance.now();
        const t2 = await u2.get(o.path);
        disk.push(performance.now() - t0);
        if (!t2.cached) throw new Error(`${o.path}: second instance did not hit the disk cache`);
        u2.close();
      }
      const parse: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        generateTable(o.path);
        parse.push(performance.now() - t0);
      }
      const re: number[] = [];
      for (let r = 0; r < reps; r++) {
        const ms = await timeReadelf(o.path);
        if (ms !== undefined) re.push(ms);
      }
      out.push({
        name: o.name,
        path: o.path,
        rows: table!.count,
        bytes: table!.count * ROW_SIZE,
        source: table!.source,
        unsupported: table!.reasons,
        coldMs: +median(cold).toFixed(1),
        diskCachedMs: +median(disk).toFixed(2),
        memoryCachedMs: +median(mem).toFixed(3),
        parseInThreadMs: +median(parse).toFixed(1),
        readelfFramesInterpMs: re.length ? +median(re).toFixed(1) : undefined,
      });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return { objects: out, workerStartMs: +workerStartMs.toFixed(1) };
}

/**
 * Every distinct executable ELF object mapped by a process of this host right now (and the vDSO):
 * the rows and bytes their tables take together — what the walker's maps would hold for the host.
 */
export async function hostTablesTotal(): Promise<{
  processes: number;
  objects: number;
  rows: number;
  bytes: number;
  withoutTable: number;
  whyNoTable: Record<string, number>;
  largest: Array<{ path: string; rows: number }>;
  ms: number;
}> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const seen = new Map<string, { pid: number; path: string }>();
  let processes = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let maps: string;
    try {
      maps = readFileSync(`/proc/${d}/maps`, 'utf8');
    } catch {
      continue;
    }
    processes++;
    for (const line of maps.split('\n')) {
      const f = line.split(/\s+/);
      if (f.length < 6 || f[1][2] !== 'x' || f[4] === '0' || !f[5].startsWith('/')) continue;
      const id = `${f[3]}:${f[4]}`;
      if (!seen.has(id)) seen.set(id, { pid: Number(d), path: f.slice(5).join(' ') });
    }
  }
  const u = new UnwindTables();
  const t0 = performance.now();
  let rows = 0;
  let withoutTable = 0;
  const whyNoTable: Record<string, number> = {};
  const sizes: Array<{ path: string; rows: number }> = [];
  try {
    const tables = await Promise.all(
      [...seen.values()].map((o) => u.get(o.path.replace(/ \(deleted\)$/, ''), { root: `/proc/${o.pid}/root` }).then((t) => ({ o, t }))),
    );
    const counted = new Set<string>();
    for (const { o, t } of tables) {
      // copies of one object (same build-id) share one table
      const id = t.buildId ?? o.path;
      if (counted.has(id)) continue;
      counted.add(id);
      rows += t.count;
      if (t.count === 0) {
        withoutTable++;
        // e.g. no-cfi (Go, esbuild), unreadable-object (the process exited meanwhile, memfd code)
        const why = Object.keys(t.reasons)[0] ?? 'no-fde';
        whyNoTable[why] = (whyNoTable[why] ?? 0) + 1;
      }
      sizes.push({ path: o.path, rows: t.count });
    }
    const v = await u.getVdso(process.pid);
    rows += v.count;
  } finally {
    u.close();
  }
  sizes.sort((a, b) => b.rows - a.rows);
  return {
    processes,
    objects: sizes.length + 1,
    rows,
    bytes: rows * ROW_SIZE,
    withoutTable,
    whyNoTable,
    largest: sizes.slice(0, 5),
    ms: +(performance.now() - t0).toFixed(0),
  };
}

export function tablesMarkdown(objs: TablesBenchObject[]): string {
  const lines = [
    '| object | rows | table bytes | cold (worker) | disk-cached | memory-cached | parse in-thread | readelf frames-interp |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const o of objs) {
    lines.push(
      `| ${o.name} | ${o.rows} | ${(o.bytes / 1024).toFixed(0)} KiB | ${o.coldMs} ms | ${o.diskCachedMs} ms | ${o.memoryCachedMs} ms | ${o.parseInThreadMs} ms | ${o.readelfFramesInterpMs ?? '–'} ms |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const args = process.argv.slice(2);
  const flag = (n: string, d: string): string => {
    const i = args.indexOf(n);
    return i >= 0 && args[i + 1] ? args[i + 1] : d;
  };
  const OUT = flag('--out', join(here, '..', 'results', 'unwind-tables.json'));
  // --extra PATH[,PATH]: more objects (e.g. the largest CFI here: next-swc's .node, 1.6 M rows)
  const extra = flag('--extra', '')
    .split(',')
    .filter((p) => p && existsSync(p));
  const { objects: objs, workerStartMs } = await runTablesBench({ reps: Number(flag('--reps', '3')), extra });
  const host = await hostTablesTotal();
  const chromium = objs.find((o) => o.name === 'chromium');
  const goals = chromium
    ? {
        chromiumColdMs: { goal: 3000, value: chromium.coldMs, met: chromium.coldMs <= 3000 },
        chromiumCachedMs: { goal: 50, value: chromium.diskCachedMs, met: chromium.diskCachedMs <= 50 },
      }
    : { note: 'chromium is not installed: goals not measured' };
  const result = {
    suite: 'unwind-tables',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => +x.toFixed(2)), node: process.version },
    method:
      'median of the reps; cold = empty disk cache, worker already started; disk-cached = a new UnwindTables on the filled cache dir; peer reference: readelf --debug-dump=frames-interp > /dev/null',
    workerStartMs,
    objects: objs,
    host: { ...host, meaning: 'every distinct executable object mapped on this host during the run (+ the vDSO), tables made cold in one UnwindTables' },
    goals,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  console.log(tablesMarkdown(objs));
  console.log(`worker start-up ${workerStartMs} ms (once per process); goals: ${JSON.stringify(goals)}`);
  console.log(
    `host: ${host.processes} processes, ${host.objects} objects, ${host.rows} rows = ${(host.bytes / 1048576).toFixed(1)} MiB of rows (${host.withoutTable} without a table: ${JSON.stringify(host.whyNoTable)}), made in ${host.ms} ms`,
  );
}
