import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProfile, decodeProfile, CodecError, importPerfScript, toFolded, ProfileBuilder, importProfile } from '@bpfscope/viz';
import { corpusText, profileFromText, stackMap } from './helpers.js';

test('bpfscope JSON round trip keeps frames, kinds, stacks, meta, timeline and histograms', () => {
  const b = new ProfileBuilder('microseconds', { tool: 'offwaketime', host: 'db1', startTime: 1700000000000, loss: { stackCollisions: 3 } });
  b.enableTimeline({ resolutionMs: 10, startTime: 1700000000000 });
  b.addStack(
    [
      { name: 'sshd', kind: 'comm' },
      { name: 'read', kind: 'user' },
      { name: '-', kind: 'separator' },
      { name: 'vfs_read', kind: 'kernel' },
    ],
    100,
    1700000000015,
  );
  b.addStack(
    [
      { name: 'sshd', kind: 'comm' },
      { name: 'read', kind: 'user' },
    ],
    5,
    1700000001234,
  );
  b.setHistograms({ unit: 'usecs', keyKind: 'disk', intervals: [{ start: 1, end: 2, key: 'sda', slots: [0, 1, 5] }] });
  const p = b.build();
  const q = decodeProfile(encodeProfile(p));
  assert.equal(q.unit, 'microseconds');
  assert.equal(q.total, 105);
  assert.deepEqual(q.meta, p.meta);
  assert.deepEqual(stackMap(q), stackMap(p));
  assert.deepEqual(q.frames.map((f) => [f.name, f.kind]).sort(), p.frames.map((f) => [f.name, f.kind]).sort());
  assert.deepEqual(q.histograms, p.histograms);
  // timeline entries point at the same stacks after re-ordering
  const tl = (x: typeof p) =>
    x.timeline!.offsetMs.map((o, i) => `${o}:${x.stacks[x.timeline!.stack[i]].frames.map((f) => x.frames[f].name).join(';')}:${x.timeline!.count[i]}`).sort();
  assert.deepEqual(tl(q), tl(p));
  assert.ok(Object.isFrozen(q) && Object.isFrozen(q.stacks) && Object.isFrozen(q.frames[0]));
});

test('bpfscope JSON of the perf corpus is much smaller than folded text and re-imports identically', () => {
  const p = importPerfScript(corpusText('perf-script-busy.txt.gz'));
  const json = encodeProfile(p);
  const folded = toFolded(p);
  assert.ok(json.length * 2 < folded.length, `${json.length} vs ${folded.length}`);
  const q = importProfile(json);
  assert.equal(q.meta.source?.format, 'perf-script');
  assert.equal(toFolded(q), folded);
});

test('decodeProfile rejects bad input with errors naming the field', () => {
  const good = JSON.parse(encodeProfile(profileFromText('a;b 2\na;c 1')));
  const bad = (mut: (o: any) => void, re: RegExp) => {
    const o = structuredClone(good);
    mut(o);
    assert.throws(
      () => decodeProfile(JSON.stringify(o)),
      (e: unknown) => e instanceof CodecError && re.test(e.message),
    );
  };
  assert.throws(() => decodeProfile('{nope'), /not valid JSON/);
  bad((o) => (o.format = 'x'), /"format" must be "bpfscope"/);
  bad((o) => (o.version = 3), /unsupported "version" 3/);
  bad((o) => (o.unit = 'parsecs'), /"unit" must be one of/);
  bad((o) => (o.frames[0] = ['a', 99]), /frames\[0\]/);
  bad((o) => (o.stacks.frames[0] = 77), /is not a frame index/);
  bad((o) => (o.weights = [1]), /same length/);
  bad((o) => (o.weights[0] = -1), /weights\[0\]/);
  bad((o) => (o.stacks.shared[0] = 5), /exceeds the previous stack/);
  bad((o) => o.stacks.frames.push(0), /unused ids/);
  bad((o) => (o.timeline = { resolutionMs: 1, startTime: 0, offsetMs: [0], stack: [9], count: [1] }), /timeline.stack\[0\]/);
});
