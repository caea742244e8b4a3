/**
 * Node benchmark of the viz core on a 200k-unique-stack folded file (generated deterministically by
 * gen.ts into bench/out/): parse + build (importFolded), call tree (buildTree), prune to a render
 * budget, and the compact bpfscope JSON transfer path (encode, decode, tree). Baseline measured in
 * the same run: the straightforward approach most tools take for d3-flame-graph — split every line
 * and build a nested-object tree ({name, value, children}) keyed by child name.
 *
 * Usage: node --conditions=source --import tsx bench/viz-node/run.ts [--stacks N] [--runs N]
 * (or npm run bench -- viz-node)
 * Writes bench/results/viz-node.json and prints a table. Wall and CPU times (ms) are reported;
 * the machine is shared, so CPU time is the steadier number.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { importFolded, buildTree, prune, encodeProfile, decodeProfile } from '@bpfscope/viz';
import { writeFolded } from './gen.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const STACKS = arg('--stacks', 200_000);
const RUNS = arg('--runs', 3);
const MAX_NODES = 10_000;

const tag = createHash('sha1')
  .update(readFileSync(join(here, 'gen.ts')))
  .update(String(STACKS))
  .digest('hex')
  .slice(0, 8);
const input = join(root, 'bench', 'out', `viz-node-${STACKS}-${tag}.folded`);
if (!process.argv.includes('--child') && !existsSync(input)) {
  console.log(`generating ${STACKS} unique stacks into ${input} …`);
  writeFolded(input, { stacks: STACKS, seed: 1 });
}
const bytes = statSync(input).size;

interface Timing {
  wall: number;
  cpu: number;
}
/** collect before each step so one step's garbage is not billed to the next */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function time<T>(f: () => T): [T, Timing] {
  gc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [r, { wall, cpu: (c.user + c.system) / 1000 }];
}

interface NaiveNode {
  name: string;
  value: number;
  children: Map<string, NaiveNode>;
}
function naive(text: string): NaiveNode {
  const rootN: NaiveNode = { name: 'all', value: 0, children: new Map() };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    const w = Number(line.slice(sp + 1));
    let n = rootN;
    n.value += w;
    for (const f of line.slice(0, sp).split(';')) {
      let c = n.children.get(f);
      if (!c) {
        c = { name: f, value: 0, children: new Map() };
        n.children.set(f, c);
      }
      c.value += w;
      n = c;
    }
  }
  return rootN;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const steps = ['read', 'importFolded', 'buildTree', 'prune', 'parse+build+prune', 'encode', 'decode', 'decode+tree+prune', 'baseline'] as const;
type Step = (typeof steps)[number];

/** One measurement in this process; `which` = ours or the baseline. Printed as JSON for the parent. */
function measure(which: 'ours' | 'baseline'): { t: Partial<Record<Step, Timing>>; info: Record<string, number> } {
  const t: Partial<Record<Step, Timing>> = {};
  const [text, tr] = time(() => readFileSync(input, 'utf8'));
  t.read = tr;
  if (which === 'baseline') {
    const [nv, tb] = time(() => naive(text));
    t.baseline = tb;
    return { t, info: { baselineTotal: nv.value } };
  }
  const [p, ti] = time(() => importFolded(text));
  t.importFolded = ti;
  const [tree, tt] = time(() => buildTree(p));
  t.buildTree = tt;
  const [pruned, tp] = time(() => prune(tree, { maxNodes: MAX_NODES }));
  t.prune = tp;
  t['parse+build+prune'] = { wall: ti.wall + tt.wall + tp.wall, cpu: ti.cpu + tt.cpu + tp.cpu };
  const [json, te] = time(() => encodeProfile(p));
  t.encode = te;
  const [q, td] = time(() => decodeProfile(json));
  t.decode = td;
  const [, tdt] = time(() => prune(buildTree(q), { maxNodes: MAX_NODES }));
  t['decode+tree+prune'] = { wall: td.wall + tdt.wall, cpu: td.cpu + tdt.cpu };
  if (tree.total[0] !== p.total || pruned.total[0] !== p.total) throw new Error('tree totals differ from the profile total');
  return {
    t,
    info: {
      uniqueStacks: p.stacks.length,
      frames: p.frames.length,
      total: p.total,
      treeNodes: tree.count,
      prunedNodes: pruned.count,
      bpfscopeJsonBytes: json.length,
    },
  };
}

const childArg = process.argv.indexOf('--child');
if (childArg >= 0) {
  const which = process.argv[childArg + 1] as 'ours' | 'baseline';
  process.stdout.write(JSON.stringify(measure(which)) + '\n');
  process.exit(0);
}

// Every measurement runs in a fresh process, so no run inherits another's heap (the baseline's
// millions of Maps would slow every later allocation and GC).
const runOnce = (which: 'ours' | 'baseline') => {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', which, '--stacks', String(STACKS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench child (${which}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ReturnType<typeof measure>;
};
const runs: Record<Step, Timing>[] = [];
let info: Record<string, number> = {};
for (let r = 0; r < RUNS; r++) {
  const ours = runOnce('ours');
  const base = runOnce('baseline');
  if (base.info.baselineTotal !== ours.info.total) throw new Error(`baseline total ${base.info.baselineTotal} != ours ${ours.info.total}`);
  info = ours.info;
  const t = { ...ours.t, baseline: base.t.baseline! } as Record<Step, Timing>;
  runs.push(t);
  console.log(
    `run ${r + 1}/${RUNS}: parse+build+prune ${t['parse+build+prune'].wall.toFixed(0)} ms wall / ${t['parse+build+prune'].cpu.toFixed(0)} ms cpu, baseline ${t.baseline.wall.toFixed(0)} / ${t.baseline.cpu.toFixed(0)}`,
  );
}

const summary = Object.fromEntries(
  steps.map((s) => [s, { wallMedianMs: Math.round(median(runs.map((r) => r[s].wall))), cpuMedianMs: Math.round(median(runs.map((r) => r[s].cpu))) }]),
) as Record<Step, { wallMedianMs: number; cpuMedianMs: number }>;
const result = {
  suite: 'viz-node',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg1: os.loadavg()[0] },
  input: { file: input.slice(root.length + 1), foldedBytes: bytes, ...info, maxNodes: MAX_NODES },
  runs: RUNS,
  medians: summary,
  ratios: {
    baselineOverOurs_cpu: +(summary.baseline.cpuMedianMs / summary['parse+build+prune'].cpuMedianMs).toFixed(2),
    baselineOverOurs_wall: +(summary.baseline.wallMedianMs / summary['parse+build+prune'].wallMedianMs).toFixed(2),
    foldedOverBpfscopeBytes: +(bytes / info.bpfscopeJsonBytes).toFixed(1),
  },
  raw: runs,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'viz-node.json'), JSON.stringify(result, null, 2) + '\n');
console.log(
  `\nviz-node: ${STACKS} unique stacks, ${(bytes / 1e6).toFixed(1)} MB folded, ${info.treeNodes} tree nodes → ${info.prunedNodes} after prune; load avg ${os.loadavg()[0].toFixed(1)}`,
);
console.log('step                  wall ms   cpu ms   (median of ' + RUNS + ')');
for (const s of steps) console.log(`${s.padEnd(20)} ${String(summary[s].wallMedianMs).padStart(8)} ${String(summary[s].cpuMedianMs).padStart(8)}`);
console.log(
  `baseline / ours (parse+build+prune): ${result.ratios.baselineOverOurs_cpu}× cpu, ${result.ratios.baselineOverOurs_wall}× wall; folded is ${result.ratios.foldedOverBpfscopeBytes}× the bpfscope JSON size`,
);
