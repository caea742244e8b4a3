/**
 * The renderers' pure parts, in Node: the flame graph layout over the call tree (x offsets, sort
 * orders, independence from stack order, diff baselines), search share, palettes, latency
 * percentiles and grid conversion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { corpusPath } from './helpers.js';
import type { Frame, FrameKind, Profile } from '../src/model/types.js';
import { buildTree, findNode, nodePath, searchTree } from '../src/model/tree.js';
import { importBpftrace } from '../src/import/bpftrace.js';
import {
  buildFlameLayout,
  diffColor,
  frameColor,
  latencyGridFromSeries,
  nameHash,
  percentilePosition,
  positionValue,
  slotBounds,
  type FlameLayout,
  createFlameGraph,
  createSubsecondHeatmap,
  createLatencyHeatmap,
} from '../src/render/index.js';

/** readable fixture: `comm;a;b 12` lines; `x_[k]` kernel, `x_[j]` JIT */
function folded(text: string, order: 'as-is' | 'reverse' = 'as-is'): Profile {
  const frames: Frame[] = [];
  const idx = new Map<string, number>();
  let stacks = text
    .trim()
    .split('\n')
    .map((line) => {
      const sp = line.lastIndexOf(' ');
      const ids = line
        .slice(0, sp)
        .split(';')
        .map((raw, i) => {
          const m = /^(.*)_\[([kj])\]$/.exec(raw);
          const name = m ? m[1] : raw;
          const kind: FrameKind = m ? (m[2] === 'k' ? 'kernel' : 'jit') : i === 0 ? 'comm' : raw === '--' ? 'separator' : 'user';
          const key = `${kind}\0${name}`;
          if (!idx.has(key)) {
            idx.set(key, frames.length);
            frames.push({ name, kind });
          }
          return idx.get(key)!;
        });
      return { frames: ids, weight: Number(line.slice(sp + 1)) };
    });
  if (order === 'reverse') stacks = stacks.reverse();
  return { unit: 'samples', frames, stacks, total: stacks.reduce((a, s) => a + s.weight, 0), meta: {} };
}

/** path → [total, self, x0] for every node: order-independent view of a tree */
function dump(t: FlameLayout): Map<string, [number, number, number]> {
  const m = new Map<string, [number, number, number]>();
  for (let i = 0; i < t.tree.count; i++) m.set(nodePath(t.tree, i).join(';'), [t.total[i], t.self[i], t.x0[i]]);
  return m;
}

function children(t: FlameLayout, node: number): string[] {
  const out: string[] = [];
  for (let c = t.firstChild[node]; c !== -1; c = t.nextSibling[c]) out.push(t.tree.frames[t.tree.frame[c]].name);
  return out;
}

const findPath = (t: FlameLayout, path: string[]) => findNode(t.tree, path);

const FIX = `
node;main;work;compute 40
node;main;work;hash 20
node;main;io;read_[k] 10
node;main 5
gzip;main;deflate 15
bash;main;readline 1
`;

describe('buildFlameLayout', () => {
  it('sums totals and self weights, lays out x offsets, sorts children by name', () => {
    const t = buildFlameLayout(folded(FIX));
    assert.equal(t.total[0], 91);
    const d = dump(t);
    assert.deepEqual(d.get('node'), [75, 0, 16]); // bash (1) and gzip (15) come first by name
    assert.deepEqual(d.get('node;main'), [75, 5, 16]);
    assert.deepEqual(d.get('node;main;work'), [60, 0, 26]); // after io (10)
    assert.deepEqual(d.get('node;main;work;hash'), [20, 20, 66]);
    assert.deepEqual(children(t, 0), ['bash', 'gzip', 'node']);
    assert.equal(t.maxDepth, 4);
    assert.equal(t.tree.count, 14);
    assert.equal(t.tree.frames[t.tree.frame[findPath(t, ['node', 'main', 'io', 'read'])]].kind, 'kernel');
  });

  it('is positions and order over the call tree of model/tree.ts, nothing more', () => {
    const p = folded(FIX);
    for (const sort of ['name', 'weight'] as const) {
      const t = buildFlameLayout(p, { sort });
      const ct = buildTree(p);
      assert.equal(t.tree.count, ct.count);
      assert.deepEqual(t.tree.total, ct.total);
      assert.equal(t.total, t.tree.total, 'widths are the tree totals themselves (no copy)');
      // every child list holds exactly the tree's children, placed side by side from the parent's x
      for (let i = 0; i < ct.count; i++) {
        const kids: number[] = [];
        let x = t.x0[i];
        for (let c = t.firstChild[i]; c !== -1; c = t.nextSibling[c]) {
          kids.push(c);
          assert.equal(t.x0[c], x);
          assert.equal(ct.parent[c], i);
          x += t.total[c];
        }
        assert.equal(x, t.x0[i] + t.total[i] - t.self[i]);
        assert.equal(kids.length, ct.count === 0 ? 0 : [...ct.parent].filter((q) => q === i).length);
      }
    }
  });

  it('sort by weight puts the heaviest child first', () => {
    const t = buildFlameLayout(folded(FIX), { sort: 'weight' });
    assert.deepEqual(children(t, 0), ['node', 'gzip', 'bash']);
    assert.deepEqual(children(t, findPath(t, ['node', 'main'])), ['work', 'io']);
    assert.equal(t.x0[findPath(t, ['gzip'])], 75);
  });

  it('the order of the stacks does not change the layout', () => {
    // sorted by frame index with prefixes first (what decoded bpfscope JSON looks like)
    const p = folded(FIX);
    const sortedStacks = [...p.stacks].sort((a, b) => {
      const l = Math.min(a.frames.length, b.frames.length);
      for (let i = 0; i < l; i++) if (a.frames[i] !== b.frames[i]) return a.frames[i] - b.frames[i];
      return a.frames.length - b.frames.length;
    });
    const sorted = buildFlameLayout({ ...p, stacks: sortedStacks });
    const shuffled = buildFlameLayout({ ...p, stacks: [...p.stacks].reverse() });
    assert.deepEqual(dump(sorted), dump(shuffled));
    // a larger random profile, with duplicate stacks (which must merge)
    const frames: Frame[] = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, kind: 'user' as const }));
    let seed = 1;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const stacks = Array.from({ length: 3000 }, () => ({ frames: Array.from({ length: 1 + rnd(8) }, () => rnd(6)), weight: 1 + rnd(5) }));
    const rp: Profile = { unit: 'samples', frames, stacks, total: 0, meta: {} };
    const st = [...stacks].sort((a, b) => {
      const l = Math.min(a.frames.length, b.frames.length);
      for (let i = 0; i < l; i++) if (a.frames[i] !== b.frames[i]) return a.frames[i] - b.frames[i];
      return a.frames.length - b.frames.length;
    });
    const a = dump(buildFlameLayout(rp));
    const b = dump(buildFlameLayout({ ...rp, stacks: st }));
    assert.deepEqual(a, b);
    // sorted for 3000 stacks, then out of order, with duplicates
    const mixed = [...st, ...stacks.slice(0, 500)];
    const c = dump(buildFlameLayout({ ...rp, stacks: mixed }));
    const d = dump(buildFlameLayout({ ...rp, stacks: [...mixed].reverse() }));
    assert.deepEqual(c, d);
    assert.equal(
      c.get('')![0],
      mixed.reduce((x, s) => x + s.weight, 0),
    );
    assert.equal(
      a.get('')![0],
      stacks.reduce((x, s) => x + s.weight, 0),
    );
  });

  it('differential: widths from the profile, baseline totals per node, normalize scales the baseline', () => {
    const before = folded('app;main;fast 50\napp;main;slow 50\napp;main;gone 10');
    const after = folded('app;main;fast 20\napp;main;slow 80\napp;main;new 10');
    const t = buildFlameLayout(after, { baseline: before });
    const n = (p: string[]) => findPath(t, p);
    assert.equal(t.total[n(['app', 'main', 'slow'])], 80);
    assert.equal(t.baseTotal![n(['app', 'main', 'slow'])], 50);
    assert.equal(t.baseTotal![n(['app', 'main', 'new'])], 0);
    assert.equal(t.total[n(['app', 'main', 'gone'])], 0, 'baseline-only frames have no width');
    assert.equal(t.baseTotal![n(['app', 'main', 'gone'])], 10);
    assert.equal(t.maxAbsDeltaSelf, 30);
    const tn = buildFlameLayout(after, { baseline: before, normalize: true });
    assert.ok(Math.abs(tn.baseTotal![0] - 110) < 1e-9, 'baseline scaled to the profile total');
    assert.ok(Math.abs(tn.baseTotal![findPath(tn, ['app', 'main', 'slow'])] - 50) < 1e-9);
  });

  it('rejects bad input with a clear error', () => {
    const p = folded('a;b 1');
    assert.throws(() => buildFlameLayout({ ...p, stacks: [{ frames: [0, 7], weight: 1 }] }), /stack 0: frame index 7 is outside the frame table/);
    assert.throws(() => buildFlameLayout({ ...p, stacks: [{ frames: [0], weight: -1 }] }), /stack 0: weight must be a non-negative number/);
    assert.throws(() => buildFlameLayout({} as Profile), /expected a Profile/);
    assert.throws(() => buildFlameLayout(p, { sort: 'size' as 'name' }), /sort must be 'name' or 'weight'/);
    assert.throws(() => buildFlameLayout(p, { baseline: { ...p, stacks: [{ frames: [3], weight: 1 }] } }), /profile 0: stack 0: frame index 3 is outside/);
  });
});

describe('searchTree', () => {
  it('counts each sample once, like flamegraph.pl', () => {
    const t = buildFlameLayout(folded(FIX)).tree;
    const r = searchTree(t, /^(work|compute)$/);
    assert.equal(r.matched, 60);
    assert.equal(r.nodes, 2);
    assert.ok(Math.abs(r.share - 60 / 91) < 1e-12);
    const m = searchTree(t, /main/);
    assert.equal(m.matched, 91);
    assert.equal(m.share, 1);
    assert.equal(searchTree(t, /nothing/).share, 0);
    // a global regex is reset between frames
    assert.equal(searchTree(t, /a/g).matched, searchTree(t, /a/).matched);
  });
});

describe('palette', () => {
  it('colours by kind and palette, stable per name', () => {
    assert.equal(frameColor('cpu', 'user', 'main', false), frameColor('cpu', 'user', 'main', false));
    assert.equal(nameHash('abc'), nameHash('abc'));
    const rgb = (s: string) => s.match(/\d+/g)!.map(Number);
    const [r, g, b] = rgb(frameColor('cpu', 'user', 'main', false));
    assert.ok(r >= 205 && g <= 130 && b <= 80, 'user frames red');
    const [, jg] = rgb(frameColor('cpu', 'jit', 'JS:*x', false));
    assert.ok(jg >= 185, 'JIT green');
    const [kr, kg, kb] = rgb(frameColor('cpu', 'kernel', 'vfs_read', false));
    assert.ok(kr >= 225 && kb <= 40 && kg >= 150, 'kernel orange/yellow');
    const [or, , ob] = rgb(frameColor('offcpu', 'user', 'main', false));
    assert.ok(ob > or + 60, 'off-CPU blue');
    const [wr, , wb] = rgb(frameColor('wakeup', 'user', 'main', true));
    assert.ok(wr >= 170 && wb >= 225, 'waker part violet');
    assert.equal(frameColor('wakeup', 'separator', '--', false), 'rgb(200,200,200)');
    assert.equal(diffColor(0, 10), 'rgb(250,250,250)');
    assert.equal(diffColor(10, 10), 'rgb(250,40,40)');
    assert.equal(diffColor(-10, 10), 'rgb(40,40,250)');
    const [, g5] = rgb(diffColor(5, 10));
    assert.ok(g5 > 40 && g5 < 250, 'intensity by delta');
  });
});

describe('latency helpers', () => {
  it('percentile positions interpolate inside log2 buckets', () => {
    const counts = [0, 0, 0, 0, 100, 0];
    assert.equal(percentilePosition(counts, 0, 6, 50), 4.5);
    assert.ok(Math.abs(positionValue(4.5) - 16 * Math.SQRT2) < 1e-12);
    assert.ok(Number.isNaN(percentilePosition([0, 0], 0, 2, 50)));
    // p99 of 99 fast + 1 slow lands at the top of the fast bucket
    const c2 = [0, 99, 0, 0, 0, 0, 0, 0, 0, 1];
    assert.equal(percentilePosition(c2, 0, 10, 99), 2);
    assert.deepEqual(slotBounds(0), [0, 1]);
    assert.deepEqual(slotBounds(7), [128, 255]);
  });

  it('latencyGridFromSeries sums keys per interval or picks one', () => {
    const series = {
      unit: 'usecs' as const,
      keyKind: 'disk' as const,
      intervals: [
        { start: 1000, end: 2000, key: 'sda', slots: [0, 1, 2] },
        { start: 1000, end: 2000, key: 'sdb', slots: [0, 0, 0, 5] },
        { start: 2000, end: 3000, key: 'sda', slots: [3] },
      ],
    };
    const all = latencyGridFromSeries(series);
    assert.deepEqual(all.starts, [1000, 2000]);
    assert.equal(all.slots, 4);
    assert.deepEqual(Array.from(all.counts), [0, 1, 2, 5, 3, 0, 0, 0]);
    const sda = latencyGridFromSeries(series, 'sda');
    assert.deepEqual(Array.from(sda.counts), [0, 1, 2, 3, 0, 0]);
  });
});

describe('renderer entry points', () => {
  it('name a missing container clearly (no DOM needed to fail)', () => {
    assert.throws(() => createFlameGraph(null as unknown as HTMLElement), /createFlameGraph: container must be a DOM element/);
    assert.throws(
      () => createSubsecondHeatmap(undefined as unknown as HTMLElement, { seconds: 0, rows: 50, counts: [] }),
      /createSubsecondHeatmap: container must be a DOM element/,
    );
    assert.throws(
      () => createLatencyHeatmap({} as HTMLElement, { unit: 'usecs', starts: [], ends: [], slots: 0, counts: [] }),
      /createLatencyHeatmap: container must be a DOM element/,
    );
  });
});

describe('corpus', () => {
  it('bpftrace-profile-busy.txt builds a tree of 2276 samples', () => {
    const text = readFileSync(corpusPath('bpftrace-profile-busy.txt'), 'utf8');
    const tree = buildFlameLayout(importBpftrace(text));
    assert.equal(tree.total[0], 2276);
    let sumChildren = 0;
    for (let c = tree.firstChild[0]; c !== -1; c = tree.nextSibling[c]) sumChildren += tree.total[c];
    assert.equal(sumChildren + tree.self[0], 2276);
    // every node's total = self + children
    for (let i = 0; i < tree.tree.count; i++) {
      let s = tree.self[i];
      for (let c = tree.firstChild[i]; c !== -1; c = tree.nextSibling[c]) s += tree.total[c];
      assert.equal(s, tree.total[i]);
    }
  });
});
