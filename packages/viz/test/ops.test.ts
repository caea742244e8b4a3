import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  merge,
  diff,
  prune,
  focus,
  exclude,
  collapseRecursion,
  mergeByFunction,
  invert,
  topFunctions,
  topFunctionsDiff,
  focusSubtree,
  callersOf,
  calleesOf,
  buildTree,
  childrenOf,
  nodeName,
  nodePath,
  importPerfScript,
  toFolded,
  ProfileBuilder,
} from '@bpfscope/viz';
import { corpusText, profileFromText, stackMap } from './helpers.js';

const sm = (p: Parameters<typeof stackMap>[0]) => Object.fromEntries([...stackMap(p)].sort());

test('merge sums stacks of same-unit profiles and refuses mixed units', () => {
  const a = profileFromText('app;main;a 2\napp;main 1');
  const b = profileFromText('app;main;a 3\napp;main;b 4');
  const m = merge([a, b]);
  assert.equal(m.total, 10);
  assert.deepEqual(sm(m), { 'app;main': 1, 'app;main;a': 5, 'app;main;b': 4 });
  assert.throws(() => merge([a, profileFromText('x 1', { unit: 'microseconds' })]), /same unit/);
  assert.throws(() => merge([]), /no profiles/);
});

test('diff: Gregg semantics, widths from either side, normalize, one-sided frames', () => {
  const before = profileFromText('app;main;parse 60\napp;main;render 40');
  const after = profileFromText('app;main;parse 30\napp;main;render 150\napp;main;gc 20');
  const d = diff(before, after);
  const t = d.tree;
  const node = (path: string) => {
    for (let i = 1; i < t.count; i++) if (nodePath(t, i).join(';') === path) return i;
    throw new Error(`no node ${path}`);
  };
  const parse = node('app;main;parse'),
    render = node('app;main;render'),
    gc = node('app;main;gc');
  assert.deepEqual([d.base[parse], d.target[parse], d.delta[parse]], [60, 30, -30]);
  assert.deepEqual([d.base[render], d.target[render], d.delta[render]], [40, 150, 110]);
  assert.deepEqual([d.base[gc], d.target[gc], d.delta[gc]], [0, 20, 20]);
  assert.equal(d.width, d.target, 'widths from the target by default');
  assert.equal(d.width[render], 150);
  assert.ok(Math.abs(d.normalizedDelta[parse] - (30 / 200 - 60 / 100)) < 1e-12);
  assert.deepEqual(
    d.onlyInTarget.map((f) => f.name),
    ['gc'],
  );
  assert.deepEqual(d.onlyInBase, []);
  assert.equal(d.maxAbsDelta, 110); // render: 150 - 40 (app and main: 200 - 100)
  // the other direction: widths from the base (what shrank or vanished stays visible)
  const neg = diff(before, after, { widthsFrom: 'base' });
  assert.equal(neg.width[parse], 60);
  const back = diff(after, before);
  assert.deepEqual(
    back.onlyInBase.map((f) => f.name),
    ['gc'],
  );
  // normalize: base scaled to the target's total (200 / 100 = 2)
  const n = diff(before, after, { normalize: true });
  assert.equal(n.scale, 2);
  assert.equal(n.base[parse], 120);
  assert.equal(n.delta[parse], 30 - 120);
  assert.equal(n.delta[0], 0, 'root unchanged after normalization');
  assert.throws(() => diff(before, profileFromText('x 1', { unit: 'microseconds' })), /same unit/);
});

test('prune by share and by node budget: totals exact, result marked pruned', () => {
  const p = importPerfScript(corpusText('perf-script-busy.txt.gz'));
  const full = buildTree(p);
  for (const opts of [{ minShare: 0.01 }, { maxNodes: 200 }, { maxNodes: 1 }, { minWeight: 50 }]) {
    const t = prune(full, opts);
    assert.ok(t.pruned, 'marked pruned');
    assert.equal(t.total[0], full.total[0], 'root total exact');
    if (opts.maxNodes) assert.ok(t.count <= opts.maxNodes, `${t.count} <= ${opts.maxNodes}`);
    assert.equal(t.pruned!.removedNodes, full.count - t.count);
    for (let i = 0; i < t.count; i++) {
      let sum = t.self[i];
      for (const c of childrenOf(t, i)) sum += t.total[c];
      assert.ok(Math.abs(sum - t.total[i]) < 1e-9, 'total = self + children after folding');
      if (i > 0) assert.ok(t.total[i] >= t.pruned!.minWeight);
    }
    // the same on a profile
    const pp = prune(p, opts);
    assert.equal(pp.total, p.total);
    assert.ok(pp.meta.pruned);
    const pt = buildTree(pp);
    assert.equal(pt.count, t.count);
    assert.ok(pp.timeline && pp.timeline.count.reduce((a, b) => a + b, 0) === p.total, 'timeline follows');
  }
  const small = prune(buildTree(profileFromText('a;b 90\na;c 6\na;d 4')), { minShare: 0.05 });
  const a = childrenOf(small, 0)[0];
  assert.deepEqual(
    childrenOf(small, a).map((c) => nodeName(small, c)),
    ['b', 'c'],
  );
  assert.equal(small.self[a], 4, 'd folded into a');
  assert.throws(() => prune(buildTree(profileFromText('a 1')), { minShare: 2 }), /minShare/);
  assert.throws(() => prune(buildTree(profileFromText('a 1')), {}), /give minShare/);
});

test('focus, exclude, collapseRecursion, mergeByFunction, invert', () => {
  const p = profileFromText(`
    app;main;parse;lex 5
    app;main;render;draw+0x10 3
    app;main;render;draw+0x24 2
    app;main;fib;fib;fib;add 4
    other;idle 7
  `);
  assert.deepEqual(sm(focus(p, 'render')), { 'app;main;render;draw+0x10': 3, 'app;main;render;draw+0x24': 2 });
  assert.deepEqual(sm(focus(p, /^render$/, { reroot: true })), { 'render;draw+0x10': 3, 'render;draw+0x24': 2 });
  assert.equal(exclude(p, '^app$').total, 7);
  assert.throws(() => focus(p, '(['), /not a valid regular expression/);
  assert.equal(sm(collapseRecursion(p))['app;main;fib;add'], 4);
  assert.equal(sm(mergeByFunction(p))['app;main;render;draw'], 5);
  assert.deepEqual(sm(invert(profileFromText('app;main;a 2'))), { 'a;main;app': 2 });
  const g = focus(p, /render/g);
  assert.equal(g.total, 5, 'a global regex does not carry lastIndex between frames');
});

test('frame selectors: { name } matches the exact name only, never as a pattern', () => {
  const p = profileFromText('app;main;a.b 2\napp;main;axb 3\napp;main;(x 1');
  assert.deepEqual(sm(focus(p, { name: 'a.b' })), { 'app;main;a.b': 2 });
  assert.equal(focus(p, 'a.b').total, 5, 'a string is a regular expression');
  assert.deepEqual(sm(exclude(p, { name: '(x' })), { 'app;main;a.b': 2, 'app;main;axb': 3 });
  assert.throws(() => exclude(p, '(x'), /not a valid regular expression/);
});

test('focusSubtree: one path of the tree becomes the root; inverted paths are leaf first', () => {
  const p = profileFromText(`
    app;main;render;draw 3
    app;main;render 1
    app;other;render;draw 5
    app;main;parse;draw 2
  `);
  assert.deepEqual(sm(focusSubtree(p, ['app', 'main', 'render'])), { 'render;draw': 3, render: 1 });
  assert.deepEqual(sm(focusSubtree(p, ['app'])), sm(p), 'focusing on the only root keeps everything');
  assert.equal(focusSubtree(p, ['app', 'nope']).total, 0);
  // inverted tree: draw (leaf) ← render ← main; focusing there keeps stacks ending main;render;draw, cut to end at main
  assert.deepEqual(sm(focusSubtree(p, ['draw', 'render', 'main'], { inverted: true })), { 'app;main': 3 });
  assert.deepEqual(sm(invert(focusSubtree(p, ['draw'], { inverted: true }))), {
    'draw;render;main;app': 3,
    'draw;render;other;app': 5,
    'draw;parse;main;app': 2,
  });
  assert.throws(() => focusSubtree(p, []), /at least one frame/);
});

test('callersOf / calleesOf: the two halves of a sandwich, each sample once', () => {
  const p = profileFromText(`
    app;main;f;g 4
    app;main;h;f 3
    app;main;f;x;f;y 2
    app;main;z 9
  `);
  // callees from the outermost f: recursion stays visible below it
  assert.deepEqual(sm(calleesOf(p, { name: 'f' })), { 'f;g': 4, f: 3, 'f;x;f;y': 2 });
  // callers from the innermost f, reversed: f is the root, its callers its children
  assert.deepEqual(sm(callersOf(p, { name: 'f' })), { 'f;main;app': 4, 'f;h;main;app': 3, 'f;x;f;main;app': 2 });
  const f = topFunctions(p).find((r) => r.name === 'f')!;
  assert.equal(callersOf(p, { name: 'f' }).total, f.total, 'the root of both halves is the function total');
  assert.equal(calleesOf(p, { name: 'f' }).total, f.total);
  assert.equal(callersOf(p, { name: 'nope' }).total, 0);
});

test('invert and mergeByFunction (no hashing of stacks that cannot merge): merged stacks sum, the timeline follows', () => {
  const b = new ProfileBuilder('samples');
  b.enableTimeline({ resolutionMs: 10, startTime: 0 });
  const f = (n: string) => b.frameId(n, 'user');
  const s1 = b.addStackIds([f('a'), f('f+0x1'), f('b')], 1);
  const s2 = b.addStackIds([f('a'), f('f+0x2'), f('b')], 2);
  const s3 = b.addStackIds([f('a'), f('f'), f('b')], 4);
  const s4 = b.addStackIds([f('a'), f('c')], 8);
  const s5 = b.addStackIds([f('c'), f('a')], 16);
  [s1, s2, s3, s4, s5].forEach((s, i) => b.addTimelineSample(s, i * 10, [1, 2, 4, 8, 16][i]!));
  const p = b.build();
  const m = mergeByFunction(p);
  assert.deepEqual(sm(m), { 'a;f;b': 7, 'a;c': 8, 'c;a': 16 });
  assert.equal(m.stacks.length, 3);
  assert.equal(m.total, p.total);
  const fb = m.stacks.findIndex((s) => s.weight === 7);
  const perStack = new Map<number, number>();
  m.timeline!.stack.forEach((st, i) => perStack.set(st, (perStack.get(st) ?? 0) + m.timeline!.count[i]!));
  assert.equal(perStack.get(fb), 7, 'the timeline samples of the merged stacks follow them');
  const inv = invert(p);
  assert.deepEqual(sm(inv), { 'b;f+0x1;a': 1, 'b;f+0x2;a': 2, 'b;f;a': 4, 'c;a': 8, 'a;c': 16 });
  assert.equal(
    inv.timeline!.count.reduce((x, y) => x + y, 0),
    p.total,
  );
  assert.deepEqual(sm(invert(inv)), sm(p), 'inverting twice gives the profile back');
});

test('collapseRecursion of one function keeps the others recursive', () => {
  const p = profileFromText('app;a;a;b;b;c 2');
  assert.deepEqual(sm(collapseRecursion(p, { name: 'a' })), { 'app;a;b;b;c': 2 });
  assert.deepEqual(sm(collapseRecursion(p)), { 'app;a;b;c': 2 });
});

test('topFunctions: self and total, recursion counted once; diff rows with deltas', () => {
  const p = profileFromText('app;main;fib;fib;add 4\napp;main;parse 6\napp;main 2');
  const rows = topFunctions(p);
  assert.deepEqual(
    rows.map((r) => [r.name, r.self, r.total]),
    [
      ['parse', 6, 6],
      ['add', 4, 4],
      ['main', 2, 12],
      ['fib', 0, 4],
    ],
  );
  assert.equal(rows[0].selfShare, 0.5);
  assert.equal(topFunctions(p, { sort: 'total', limit: 1 })[0].name, 'main');
  const after = profileFromText('app;main;fib;fib;add 10\napp;main;parse 6');
  const d = topFunctionsDiff(p, after);
  assert.equal(d[0].name, 'add');
  assert.deepEqual([d[0].baseSelf, d[0].targetSelf, d[0].deltaSelf], [4, 10, 6]);
  const dn = topFunctionsDiff(p, after, { normalize: true });
  const parse = dn.find((r) => r.name === 'parse')!;
  assert.ok(Math.abs(parse.baseSelf - 6 * (16 / 12)) < 1e-9);
});

test('operations never mutate their input', () => {
  const p = profileFromText('app;main;a 2\napp;main;b+0x1 1');
  const before = toFolded(p);
  focus(p, 'a');
  exclude(p, 'a');
  invert(p);
  mergeByFunction(p);
  collapseRecursion(p);
  prune(p, { maxNodes: 2 });
  merge([p, p]);
  diff(p, p);
  assert.equal(toFolded(p), before);
  assert.ok(Object.isFrozen(p.stacks));
  const b = new ProfileBuilder();
  b.addStack([{ name: 'x', kind: 'user' }], 1);
  assert.ok(Object.isFrozen(b.build().stacks));
});
