/** Top functions and their delta as the console shows them (viz's topFunctions), on the shared corpus and on hand-made stacks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import * as viz from '@bpfscope/viz';
import { corpusPath } from '../../../../tests/support/corpus.js';
import type { Profile } from '@bpfscope/viz';
import { topFunctions, topFunctionsDiff } from '@bpfscope/viz';

const topDelta = (base: Profile, target: Profile, normalize: boolean) => topFunctionsDiff(base, target, { normalize });

function profile(lines: string[]): Profile {
  const b = new viz.ProfileBuilder('samples');
  for (const l of lines) {
    const [stack, w] = l.split(' ');
    const names = stack.split(';');
    b.addStack(
      names.map((n, i) => ({ name: n, kind: i === 0 ? 'comm' : 'user' })),
      Number(w),
    );
  }
  return b.build();
}

test('self counts leaves, total counts each stack once even through recursion; comm is not a function', () => {
  const p = profile(['app;main;f;f;g 3', 'app;main;f 2', 'other;main 1']);
  const rows = new Map(topFunctions(p).map((r) => [r.name, r]));
  assert.equal(rows.has('app'), false);
  const pick = (n: string) => {
    const r = rows.get(n)!;
    return { name: r.name, self: r.self, total: r.total };
  };
  assert.deepEqual(pick('f'), { name: 'f', self: 2, total: 5 });
  assert.deepEqual(pick('g'), { name: 'g', self: 3, total: 3 });
  assert.deepEqual(pick('main'), { name: 'main', self: 1, total: 6 });
  assert.equal(rows.get('main')!.totalShare, 1);
  assert.equal(topFunctions(p)[0].name, 'g');
});

test('delta: normalized compares shares; one-sided functions are marked', () => {
  const base = profile(['a;main;old 10', 'a;main;work 10']);
  const target = profile(['a;main;work 30', 'a;main;new 10']);
  const abs = new Map(topDelta(base, target, false).map((r) => [r.name, r]));
  assert.equal(abs.get('work')?.deltaSelf, 20);
  assert.equal(abs.get('old')?.only, 'base');
  assert.equal(abs.get('new')?.only, 'target');
  const norm = new Map(topDelta(base, target, true).map((r) => [r.name, r]));
  // base scaled ×2 (20 → 40 samples): work 20 → 30, old 20 → 0
  assert.equal(norm.get('work')?.deltaSelf, 10);
  assert.equal(norm.get('old')?.deltaSelf, -20);
});

test('corpus perf script (9880 samples): self sums to at most the total, every row within it', () => {
  const file = corpusPath('perf-script-busy.txt.gz');
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  const p = viz.importPerfScript(text);
  assert.equal(p.total, 9880);
  const rows = topFunctions(p);
  const selfSum = rows.reduce((a, r) => a + r.self, 0);
  // every sample has exactly one leaf function (stacks that are only a comm have none)
  assert.ok(selfSum <= 9880 && selfSum > 9000, `self sum ${selfSum}`);
  for (const r of rows) assert.ok(r.self <= r.total && r.total <= 9880, r.name);
});
