import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Profile as PprofProfile } from 'pprof-format';
import { buildTree, decodeProfile, encodeProfileObject, functionLines, importPprof, ProfileBuilder, toFolded, toPprof } from '@bpfscope/viz';
import { stackMap } from './helpers.js';

/** main → work (at work.c:10 or :12) → hash (hash.c:3 or :4), and main → idle without lines */
function sample() {
  const b = new ProfileBuilder('samples', { tool: 'profile' });
  const s = (wl: number, hl: number, w: number) =>
    b.addStack(
      [
        { name: 'app', kind: 'comm' },
        { name: 'main', kind: 'user', file: 'main.c', line: 7 },
        { name: 'work', kind: 'user', file: 'work.c', line: wl },
        { name: 'hash', kind: 'inline', file: 'hash.c', line: hl },
      ],
      w,
    );
  s(10, 3, 60);
  s(10, 4, 25);
  s(12, 3, 10);
  b.addStack(
    [
      { name: 'app', kind: 'comm' },
      { name: 'main', kind: 'user', file: 'main.c', line: 9 },
      { name: 'idle', kind: 'user' },
    ],
    5,
  );
  b.addStack(
    [
      { name: 'app', kind: 'comm' },
      { name: 'main', kind: 'user' },
      { name: 'work', kind: 'user' },
    ],
    7,
  );
  return b.build();
}

const id = (p: ReturnType<typeof sample>, name: string) => p.frames.findIndex((f) => f.name === name);

test('lines are a side table: the same function at different lines is one frame and one call tree node', () => {
  const p = sample();
  assert.equal(p.frames.filter((f) => f.name === 'work').length, 1, 'work stays one frame');
  assert.equal(p.stacks.length, 5, 'stacks differing only by lines stay distinct stacks');
  const t = buildTree(p);
  // one node per function under main: work and idle
  const mainNodes = [...Array(t.count).keys()].filter((n) => t.frame[n] === id(p, 'main'));
  assert.equal(mainNodes.length, 1);
  const workNodes = [...Array(t.count).keys()].filter((n) => t.frame[n] === id(p, 'work'));
  assert.equal(workNodes.length, 1, 'one work node for all its lines');
  assert.equal(t.total[workNodes[0]], 102);
  assert.equal(p.lines![0].file, '', 'index 0 is the unknown line');
  const noLines = p.stacks.find((s) => s.weight === 7)!;
  assert.equal(noLines.lines, undefined, 'a stack without any line has no lines array');
  assert.equal(toFolded(p).split('\n').filter(Boolean).length, 3, 'folded merges stacks per frames, lines do not show');
});

test('functionLines: hottest lines of a function, unknown weight counted, heaviest first', () => {
  const p = sample();
  const w = functionLines(p, [id(p, 'work')]);
  assert.equal(w.total, 102);
  assert.equal(w.unknown, 7);
  assert.deepEqual(
    w.rows.map((r) => [r.file, r.line, r.weight]),
    [
      ['work.c', 10, 85],
      ['work.c', 12, 10],
    ],
  );
  const h = functionLines(p, [id(p, 'hash')]);
  assert.deepEqual(
    h.rows.map((r) => [r.file, r.line, r.weight]),
    [
      ['hash.c', 3, 70],
      ['hash.c', 4, 25],
    ],
  );
  const m = functionLines(p, [id(p, 'main')], 1);
  assert.deepEqual(
    m.rows.map((r) => [r.line, r.weight]),
    [[7, 95]],
    'limit keeps the heaviest',
  );
  assert.equal(m.total, 107);
});

test('functionLines counts a recursive function once per line per stack', () => {
  const b = new ProfileBuilder();
  b.addStack(
    [
      { name: 'f', kind: 'user', file: 'f.c', line: 2 },
      { name: 'f', kind: 'user', file: 'f.c', line: 2 },
      { name: 'f', kind: 'user', file: 'f.c', line: 5 },
    ],
    4,
  );
  const p = b.build();
  const r = functionLines(p, [0]);
  assert.equal(r.total, 4);
  assert.deepEqual(
    r.rows.map((x) => [x.line, x.weight]),
    [
      [2, 4],
      [5, 4],
    ],
  );
});

test('bpfscope JSON v2 round trip keeps lines; profiles without lines stay version 1; bad lines are named', () => {
  const p = sample();
  const o = encodeProfileObject(p);
  assert.equal(o.version, 2);
  const q = decodeProfile(JSON.stringify(o));
  const withLines = (x: typeof p) =>
    x.stacks
      .map(
        (s) =>
          s.frames.map((f, i) => `${x.frames[f].name}@${s.lines ? `${x.lines![s.lines[i]].file}:${x.lines![s.lines[i]].line}` : '-'}`).join(';') +
          ' ' +
          s.weight,
      )
      .sort();
  assert.deepEqual(withLines(q), withLines(p));
  assert.deepEqual(functionLines(q, [id(q, 'work')]), functionLines(p, [id(p, 'work')]));
  assert.deepEqual(stackMap(q), stackMap(p));

  const b = new ProfileBuilder();
  b.addStack([{ name: 'a', kind: 'user' }], 1);
  const plain = encodeProfileObject(b.build());
  assert.equal(plain.version, 1, 'no lines: still readable by builds that read version 1 only');
  assert.equal(plain.lines, undefined);
  // an old (version 1) snapshot reads as before
  assert.equal(decodeProfile(JSON.stringify(plain)).lines, undefined);

  const bad = (f: (x: any) => void, re: RegExp) => {
    const x = JSON.parse(JSON.stringify(o));
    f(x);
    assert.throws(() => decodeProfile(JSON.stringify(x)), re);
  };
  bad((x) => (x.lines.stacks[0] = [1]), /lines\.stacks\[0\] has 1 line ids, stack 0 has \d+ frames/);
  bad((x) => (x.lines.stacks = []), /lines\.stacks has 0 entries/);
  bad((x) => (x.lines.table[0] = ['', 3]), /lines\.table\[0\] must be \[file/);
  bad((x) => (x.lines.stacks[0] = x.lines.stacks.find((s: unknown) => s !== 0).map(() => 99)), /is not a line index/);
  bad((x) => (x.version = 1), /"lines" needs "version": 2/);
});

test('pprof export carries lines (Line.line, Function.filename) and re-imports to the same stacks', () => {
  const p = sample();
  const raw = toPprof(p, { raw: true });
  const pp = PprofProfile.decode(raw);
  const str = (i: number | bigint) => pp.stringTable.strings[Number(i)];
  const got = new Set<string>();
  for (const loc of pp.location)
    for (const l of loc.line) {
      const fn = pp.function.find((f) => f.id === l.functionId)!;
      if (Number(l.line) > 0) got.add(`${str(fn.name)} ${str(fn.filename)}:${l.line}`);
    }
  assert.deepEqual([...got].sort(), ['hash hash.c:3', 'hash hash.c:4', 'main main.c:7', 'main main.c:9', 'work work.c:10', 'work work.c:12']);
  assert.deepEqual(stackMap(importPprof(raw)), stackMap(p));
});
