import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProfileBuilder,
  buildTree,
  buildMultiTree,
  childrenOf,
  nodeName,
  nodePath,
  toHierarchy,
  inferKind,
  decodeProfile,
  encodeProfile,
  frameColor,
} from '@bpfscope/viz';
import { stackOrderForTree } from '../src/model/tree.js';
import { profileFromText } from './helpers.js';

test('ProfileBuilder interns frames by name and kind and merges identical stacks', () => {
  const b = new ProfileBuilder('samples');
  b.addStack(
    [
      { name: 'bash', kind: 'comm' },
      { name: 'main', kind: 'user' },
      { name: 'read', kind: 'kernel' },
    ],
    2,
  );
  b.addStack(
    [
      { name: 'bash', kind: 'comm' },
      { name: 'main', kind: 'user' },
      { name: 'read', kind: 'kernel' },
    ],
    3,
  );
  b.addStack(
    [
      { name: 'bash', kind: 'comm' },
      { name: 'main', kind: 'user' },
      { name: 'read', kind: 'user' },
    ],
    1,
  );
  const p = b.build();
  assert.equal(p.frames.length, 4, 'read as kernel and read as user are two frames');
  assert.equal(p.stacks.length, 2);
  assert.equal(p.stacks[0].weight, 5);
  assert.equal(p.total, 6);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.stacks) && Object.isFrozen(p.frames) && Object.isFrozen(p.frames[0]) && Object.isFrozen(p.meta));
  assert.throws(() => b.addStack([], 1), /already called/);
  assert.throws(() => new ProfileBuilder().addStack([{ name: 'x', kind: 'user' }], -1), /weight/);
  assert.throws(() => new ProfileBuilder().addStack([{ name: 'x', kind: 'bogus' as never }], 1), /unknown frame kind/);
});

test('buildTree: totals, self, children sorted by name, preorder subtree ranges', () => {
  const p = profileFromText(`
    app;main;zeta 3
    app;main;alpha;leaf 2
    app;main 1
    app;main;alpha 4
    other;x 5
  `);
  const t = buildTree(p);
  assert.equal(t.total[0], 15);
  assert.equal(nodeName(t, 0), 'all');
  const top = childrenOf(t, 0).map((n) => nodeName(t, n));
  assert.deepEqual(top, ['app', 'other']);
  const app = childrenOf(t, 0)[0];
  const main = childrenOf(t, app)[0];
  assert.equal(t.total[main], 10);
  assert.equal(t.self[main], 1);
  assert.deepEqual(
    childrenOf(t, main).map((n) => nodeName(t, n)),
    ['alpha', 'zeta'],
  );
  const alpha = childrenOf(t, main)[0];
  assert.equal(t.total[alpha], 6);
  assert.equal(t.self[alpha], 4);
  assert.deepEqual(nodePath(t, childrenOf(t, alpha)[0]), ['app', 'main', 'alpha', 'leaf']);
  // preorder: every node's subtree is [i, i+size)
  for (let i = 0; i < t.count; i++) {
    for (let j = i + 1; j < i + t.size[i]; j++) {
      let a = j;
      while (a > i) a = t.parent[a];
      assert.equal(a, i);
    }
    let sum = t.self[i];
    for (const c of childrenOf(t, i)) sum += t.total[c];
    assert.equal(t.total[i], sum, `node ${i}: total = self + children`);
  }
  assert.equal(t.maxDepth, 4);
  const h = toHierarchy(t);
  assert.equal(h.value, 15);
  assert.equal(h.children[0].children[0].children[0].name, 'alpha');
});

test('buildTree marks the waker part of a chain (after --)', () => {
  const p = profileFromText('sshd;main;read;-;schedule;--;try_to_wake_up;-;write;kworker 7');
  const t = buildTree(p);
  const names: string[] = [];
  const wakers: number[] = [];
  for (let i = 1; i < t.count; i++) {
    names.push(nodeName(t, i));
    wakers.push(t.waker[i]);
  }
  assert.deepEqual(names, ['sshd', 'main', 'read', '-', 'schedule', '--', 'try_to_wake_up', '-', 'write', 'kworker']);
  assert.deepEqual(wakers, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  const kinds = p.stacks[0].frames.map((f) => p.frames[f].kind);
  assert.deepEqual(kinds, ['comm', 'user', 'user', 'separator', 'kernel', 'separator', 'kernel', 'separator', 'user', 'comm']);
});

test('buildMultiTree unifies frames across profiles and keeps per-profile totals', () => {
  const a = profileFromText('p;a 2\np;b 1');
  const b = profileFromText('p;b 4\np;c 1');
  const t = buildMultiTree([a, b]);
  assert.equal(t.totals[0][0], 3);
  assert.equal(t.totals[1][0], 5);
  assert.equal(t.total[0], 8);
  const p = childrenOf(t, 0)[0];
  const kids = childrenOf(t, p);
  assert.deepEqual(
    kids.map((k) => nodeName(t, k)),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    kids.map((k) => [t.totals[0][k], t.totals[1][k]]),
    [
      [2, 0],
      [1, 4],
      [0, 1],
    ],
  );
});

test('buildTree agrees with a naive trie on 5k random stacks', () => {
  let seed = 42;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const b = new ProfileBuilder();
  const ids = Array.from({ length: 40 }, (_, i) => b.frameId(`fn_${i}`, i % 3 ? 'user' : 'kernel'));
  for (let s = 0; s < 5000; s++) {
    const depth = 1 + Math.floor(rnd() * 12);
    const st: number[] = [];
    for (let d = 0; d < depth; d++) st.push(ids[Math.floor(rnd() * (d < 3 ? 3 : 40))]);
    b.addStackIds(st, 1 + Math.floor(rnd() * 5));
  }
  const p = b.build();
  // naive: path string -> [total, self]
  const naive = new Map<string, [number, number]>();
  for (const s of p.stacks) {
    for (let d = 1; d <= s.frames.length; d++) {
      const k = s.frames
        .slice(0, d)
        .map((f) => `${p.frames[f].name}/${p.frames[f].kind}`)
        .join(';');
      const e = naive.get(k) ?? [0, 0];
      e[0] += s.weight;
      if (d === s.frames.length) e[1] += s.weight;
      naive.set(k, e);
    }
  }
  const t = buildTree(p);
  assert.equal(t.count - 1, naive.size);
  for (let i = 1; i < t.count; i++) {
    const path: string[] = [];
    for (let j = i; j > 0; j = t.parent[j]) path.push(`${p.frames[t.frame[j]].name}/${p.frames[t.frame[j]].kind}`);
    const e = naive.get(path.reverse().join(';'));
    assert.ok(e, 'node exists in the naive trie');
    assert.deepEqual([t.total[i], t.self[i]], e);
    assert.equal(t.depth[i], path.length);
  }
  // siblings sorted by name
  for (let i = 0; i < t.count; i++) {
    const names = childrenOf(t, i).map((c) => nodeName(t, c));
    assert.deepEqual(names, [...names].sort());
  }
});

test('stacks already in call tree order (a decoded bpfscope JSON) build the same tree as any order', () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  const b = new ProfileBuilder();
  // frame ids in reverse name order, so id order and name order disagree
  const ids = Array.from({ length: 30 }, (_, i) => b.frameId(`f${String(29 - i).padStart(2, '0')}`, i % 4 ? 'user' : 'kernel'));
  for (let s = 0; s < 3000; s++)
    b.addStackIds(
      Array.from({ length: 1 + rnd(9) }, (_, d) => ids[rnd(d < 2 ? 3 : 30)]),
      1 + rnd(4),
    );
  const p = b.build();
  const decoded = decodeProfile(encodeProfile(p));
  const order = stackOrderForTree(p);
  const inOrder = { ...p, stacks: Array.from(order, (i) => p.stacks[i]) };
  const shuffled = { ...p, stacks: [...p.stacks].reverse() };
  const backwards = { ...p, stacks: Array.from(order, (i) => p.stacks[i]).reverse() };
  const a = buildTree(shuffled);
  for (const q of [inOrder, decoded, backwards]) {
    const t = buildTree(q);
    assert.equal(t.count, a.count);
    assert.deepEqual(Array.from(t.total), Array.from(a.total));
    assert.deepEqual(Array.from(t.self), Array.from(a.self));
    assert.deepEqual(
      Array.from(t.frame, (f) => (f < 0 ? '' : q.frames[f].name)),
      Array.from(a.frame, (f) => (f < 0 ? '' : p.frames[f].name)),
    );
  }
});

test('inferKind reads separators and flamegraph annotations', () => {
  assert.equal(inferKind('--'), 'separator');
  assert.equal(inferKind('vfs_read_[k]'), 'kernel');
  assert.equal(inferKind('JS:*foo /a.js:1'), 'jit');
  assert.equal(inferKind('[unknown]'), 'unknown');
  assert.equal(inferKind('main'), 'user');
  assert.equal(inferKind('handle_request (app/server.py)_[p]'), 'python');
});

test('python frames: their own kind through the codec, coloured apart from native frames', () => {
  const b = new ProfileBuilder('samples');
  b.addStackIds(
    [
      b.frameId('python3', 'comm'),
      b.frameId('<module> (app.py)', 'python'),
      b.frameId('handle_request (app.py)', 'python'),
      b.frameId('scanstring_unicode', 'user'),
    ],
    3,
  );
  const p = decodeProfile(encodeProfile(b.build()));
  assert.deepEqual(
    p.frames.map((f) => f.kind),
    ['comm', 'python', 'python', 'user'],
  );
  // violet (blue channel highest) vs the reds of native user frames, for every name
  for (const name of ['handle_request (app.py)', 'f (x.py)', 'z']) {
    const [r, g, bl] = frameColor('cpu', 'python', name, false).match(/\d+/g)!.map(Number);
    assert.ok(bl > r && bl > g, `python ${name}: rgb(${r},${g},${bl})`);
    const [r2, , b2] = frameColor('cpu', 'user', name, false).match(/\d+/g)!.map(Number);
    assert.ok(r2 > b2, `user ${name}`);
  }
});
