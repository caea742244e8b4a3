import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importFolded, toFolded, ImportError } from '@bpfscope/viz';
import { fixture, lineSet, stackMap } from './helpers.js';

test('folded: stacks, weights, kinds from comm, annotations and names', () => {
  const p = importFolded(fixture('profile.folded'));
  assert.equal(p.total, 120 + 45 + 30 + 210 + 15 + 80 + 3 + 2);
  assert.equal(p.stacks.length, 8);
  const kind = (n: string) => p.frames.find((f) => f.name === n)!.kind;
  assert.equal(kind('node'), 'comm');
  assert.equal(kind('vfs_read_[k]'), 'kernel');
  assert.equal(kind('JS:*sortMany /srv/demo/work.js:2:18'), 'jit');
  assert.equal(kind('longest_match'), 'user');
  assert.equal(kind('<img src=x onerror=alert(1)>'), 'user', 'names are opaque strings');
  assert.equal(stackMap(p).get('weird;<img src=x onerror=alert(1)>;a&b "quoted"'), 2);
});

test('folded: - and -- separators split user/kernel and blocked/waker parts (offwaketime)', () => {
  const p = importFolded(fixture('offwaketime.folded'));
  const s = p.stacks.find((x) => x.weight === 250)!;
  const kinds = s.frames.map((f) => p.frames[f].kind);
  assert.deepEqual(kinds, ['comm', 'user', 'separator', 'kernel', 'kernel', 'kernel', 'kernel', 'kernel', 'separator', 'kernel', 'kernel', 'kernel', 'separator', 'user', 'user', 'comm']);
  assert.equal(p.total, 302);
});

test('folded → model → folded is exact as a multiset of lines', () => {
  for (const name of ['profile.folded', 'offwaketime.folded']) {
    const text = fixture(name);
    assert.deepEqual(lineSet(toFolded(importFolded(text))), lineSet(text), name);
  }
  // duplicate lines merge (their weights add up), CRLF and fractional weights are accepted
  const p = importFolded('a;b 1\r\na;b 2\r\na;c 0.5\r\n');
  assert.deepEqual(lineSet(toFolded(p)), ['a;b 3', 'a;c 0.5']);
});

test('folded: malformed lines are errors naming the line', () => {
  const bad = (text: string, line: number, re: RegExp) =>
    assert.throws(() => importFolded(text), (e: unknown) => e instanceof ImportError && e.line === line && re.test(e.message), text);
  bad('a;b 1\nno-count-here\n', 2, /no count/);
  bad('a;b 1\na;b x12\n', 2, /non-negative number/);
  bad('a;;b 3\n', 1, /empty frame name/);
  bad('a;b -3\n', 1, /non-negative number/);
  assert.throws(() => importFolded('\n\n'), /no stacks found/);
});
