import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importFolded, buildTree } from '@bpfscope/viz';
import { generateFolded } from '../../../bench/viz-node/gen.js';

test('bench generator: deterministic, unique stacks, depths 20–40, kernel and JIT frames', () => {
  const a = generateFolded({ stacks: 3000, seed: 7 });
  assert.equal(generateFolded({ stacks: 3000, seed: 7 }), a, 'same seed, same bytes');
  assert.notEqual(generateFolded({ stacks: 3000, seed: 8 }), a);
  const lines = a.trimEnd().split('\n');
  assert.equal(lines.length, 3000);
  assert.equal(new Set(lines.map((l) => l.slice(0, l.lastIndexOf(' ')))).size, 3000, 'unique stacks');
  const p = importFolded(a);
  assert.equal(p.stacks.length, 3000);
  for (const s of p.stacks) assert.ok(s.frames.length >= 20 && s.frames.length <= 40, `depth ${s.frames.length}`);
  const kinds = new Set(p.frames.map((f) => f.kind));
  for (const k of ['comm', 'user', 'kernel', 'jit'] as const) assert.ok(kinds.has(k), k);
  // shared trunks: far fewer tree nodes than frame references
  const refs = p.stacks.reduce((n, s) => n + s.frames.length, 0);
  assert.ok(buildTree(p).count < refs * 0.6);
});
