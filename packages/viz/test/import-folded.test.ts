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
  assert.deepEqual(kinds, [
    'comm',
    'user',
    'separator',
    'kernel',
    'kernel',
    'kernel',
    'kernel',
    'kernel',
    'separator',
    'kernel',
    'kernel',
    'kernel',
    'separator',
    'user',
    'user',
    'comm',
  ]);
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
    assert.throws(
      () => importFolded(text),
      (e: unknown) => e instanceof ImportError && e.line === line && re.test(e.message),
      text,
    );
  bad('a;b 1\nno-count-here\n', 2, /no count/);
  bad('a;b 1\na;b x12\n', 2, /non-negative number/);
  bad('a;;b 3\n', 1, /empty frame name/);
  bad(';a 3\n', 1, /empty frame name/);
  assert.deepEqual(lineSet(toFolded(importFolded('a;b;  3\n'))), ['a;b 3'], 'a trailing ; is not a frame');
  bad('a;b -3\n', 1, /non-negative number/);
  assert.throws(() => importFolded('\n\n'), /no stacks found/);
});

test('folded: a real FlameGraph sample (perf-vertx collapsed, shipped with speedscope) round-trips', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('speedscope/package.json')), 'dist', 'release');
  } catch {
    t.skip('the speedscope npm package (bench workspace) is not installed; run npm run setup');
    return;
  }
  const name = readdirSync(dir).find((f) => f.startsWith('perf-vertx-stacks-01-collapsed-all'));
  if (!name) return t.skip('speedscope no longer ships perf-vertx-stacks-01-collapsed-all*.txt');
  const text = readFileSync(join(dir, name), 'utf8');
  const p = importFolded(text);
  assert.equal(p.total, 285);
  // 199 lines; one ends with "write0_[j];  3" (a trailing ';'), the same stack as another line
  const expected = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    const m = /^(.*?);?[ \t]+(\d+)$/.exec(line)!;
    expected.set(m[1], (expected.get(m[1]) ?? 0) + Number(m[2]));
  }
  assert.equal(expected.size, 198);
  assert.deepEqual(stackMap(p), expected);
  assert.deepEqual(lineSet(toFolded(importFolded(toFolded(p)))), lineSet(toFolded(p)));
  const kinds = new Map(p.frames.map((f) => [f.name, f.kind]));
  assert.equal(kinds.get('hypercall_page_[k]'), 'kernel');
  assert.equal(kinds.get('oopDesc* PSPromotionManager::copy_to_survivor_space<false>'), 'user', 'names with spaces');
  assert.ok([...kinds.values()].includes('jit'));
});
