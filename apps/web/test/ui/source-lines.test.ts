/** The frame details' hottest source lines (lib/source-lines.ts): through the hub's wire accumulator, a snapshot's codec, the time range and the transforms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProfile, encodeProfile, ProfileBuilder, selectRange, type Profile } from '@bpfscope/viz';
import { DeltaAccumulator, deltaSchema } from '@bpfscope/viz/wire';
import { sourceLinesOf } from '../../lib/source-lines';
import { applyTransforms } from '../../lib/transforms';

function profile(): Profile {
  const b = new ProfileBuilder('samples', { tool: 'profile' });
  b.enableTimeline({ resolutionMs: 10, startTime: 0 });
  const app = { name: 'app', kind: 'comm' } as const;
  b.addStack([app, { name: 'main', kind: 'user', file: 'src/main.c', line: 20 }, { name: 'crc', kind: 'user', file: 'src/crc.c', line: 41 }], 60, 5);
  b.addStack([app, { name: 'main', kind: 'user', file: 'src/main.c', line: 20 }, { name: 'crc', kind: 'user', file: 'src/crc.c', line: 44 }], 30, 15);
  b.addStack([app, { name: 'main', kind: 'user' }, { name: 'crc', kind: 'user' }], 10, 25);
  // a Python function: its line is the sample's line
  b.addStack([app, { name: 'handle <img src=x onerror=alert(1)> (app/server.py)', kind: 'python', file: 'app/<b>server</b>.py', line: 7 }], 5, 5);
  b.addStack([app, { name: 'main', kind: 'user', file: 'src/main.c', line: 22 }, { name: 'idle', kind: 'user' }], 5, 25);
  return b.build();
}

test('hottest lines of a function, with shares of its weight; the unknown part is said', () => {
  const s = sourceLinesOf(profile(), 'crc');
  assert.deepEqual(
    s.rows.map((r) => [r.where, r.weight]),
    [
      ['src/crc.c:41', 60],
      ['src/crc.c:44', 30],
    ],
  );
  assert.equal(s.total, 100);
  assert.equal(s.unknown, 10);
  assert.equal(s.rows[0].share, 0.6);
  assert.ok(s.profileHasLines);
  const m = sourceLinesOf(profile(), 'main');
  assert.deepEqual(
    m.rows.map((r) => [r.where, r.weight]),
    [
      ['src/main.c:20', 90],
      ['src/main.c:22', 5],
    ],
  );
  const none = sourceLinesOf(profile(), 'idle');
  assert.deepEqual(none.rows, []);
  assert.ok(none.profileHasLines, 'the panel can say this function has no line info (not the whole profile)');
  const app = sourceLinesOf(profile(), 'app');
  assert.equal(app.total, 0, 'comm frames are not functions');
});

test('Python frames show their line; untrusted file names are kept verbatim (React escapes them)', () => {
  const s = sourceLinesOf(profile(), 'handle <img src=x onerror=alert(1)> (app/server.py)');
  assert.deepEqual(
    s.rows.map((r) => r.where),
    ['app/<b>server</b>.py:7'],
  );
});

test('lines survive the live wire, a snapshot round trip, a time range and exclude; a profile without lines says so', () => {
  const p = profile();
  // the hub/browser path: a full delta as the collector would send it
  const acc = new DeltaAccumulator('profile');
  const frames = p.frames.map((f, i) => [i, f.name, f.kind] as [number, string, typeof f.kind]);
  const lines = p.lines!.slice(1).map((l, i) => [i + 1, l.file, l.line] as [number, string, number]);
  const stacks = p.stacks.map((s, i) => [i, s.frames.slice()] as [number, number[]]);
  const stackLines = p.stacks.flatMap((s, i) => (s.lines ? [[i, s.lines.slice()] as [number, number[]]] : []));
  acc.apply(
    deltaSchema.parse({
      type: 'delta',
      captureId: 'c',
      seq: 1,
      frames,
      lines,
      stacks,
      stackLines,
      counts: p.stacks.map((s, i) => [i, s.weight]),
      progress: { elapsedMs: 1, durationMs: 1, samples: 1, events: 1 },
    }),
  );
  const live = acc.toProfile();
  assert.deepEqual(sourceLinesOf(live, 'crc'), sourceLinesOf(p, 'crc'));
  const snap = decodeProfile(encodeProfile(live));
  assert.deepEqual(sourceLinesOf(snap, 'crc'), sourceLinesOf(p, 'crc'));
  const early = selectRange(p, 0, 10);
  assert.deepEqual(
    sourceLinesOf(early, 'crc').rows.map((r) => [r.where, r.weight]),
    [['src/crc.c:41', 60]],
  );
  const ex = applyTransforms(p, [{ kind: 'exclude', name: 'idle' }]);
  assert.deepEqual(sourceLinesOf(ex, 'crc'), sourceLinesOf(p, 'crc'));
  const b = new ProfileBuilder();
  b.addStack([{ name: 'crc', kind: 'user' }], 3);
  const plain = sourceLinesOf(b.build(), 'crc');
  assert.deepEqual(plain.rows, []);
  assert.equal(plain.profileHasLines, false);
});
