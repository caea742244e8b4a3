/** DeltaAccumulator: collector deltas → full delta for a late subscriber, and → Profile. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deltaSchema, endSchema, DeltaAccumulator, type DeltaMessage } from '@bpfscope/viz/wire';
import type { Profile } from '@bpfscope/viz';

const progress = (seq: number) => ({ elapsedMs: seq * 1000, durationMs: 10_000, samples: seq, events: 0 });

/** every fixture goes through the real wire schema, so the tests cannot drift from the protocol */
function delta(d: Partial<DeltaMessage> & { seq: number }): DeltaMessage {
  return deltaSchema.parse({ type: 'delta', captureId: 'c1', progress: progress(d.seq), ...d });
}

function folded(p: Profile): string[] {
  return p.stacks
    .filter((s) => s.weight > 0)
    .map((s) => `${s.frames.map((f) => p.frames[f].name).join(';')} ${s.weight}`)
    .sort();
}

/** A profile capture's deltas in the order a collector sends them. */
const SCRIPT: DeltaMessage[] = [
  delta({
    seq: 1,
    frames: [
      [10, 'app', 'comm'],
      [11, 'main', 'user'],
      [12, 'spin', 'user'],
    ],
    stacks: [[100, [10, 11, 12]]],
    counts: [[100, 5]],
    timeline: [[0, 100, 5]],
    timelineResolutionMs: 10,
  }),
  delta({
    seq: 2,
    frames: [[13, '<b>x</b>', 'user']],
    stacks: [[101, [10, 11, 13]]],
    counts: [
      [100, 2],
      [101, 3],
    ],
    timeline: [
      [1000, 100, 2],
      [1010, 101, 3],
    ],
    loss: { userStackMissing: 1 },
  }),
  delta({ seq: 3, counts: [[101, 1]], timeline: [[2000, 101, 1]] }),
];

test('apply: frames, stacks and cumulative counts become folded stacks; duplicates are ignored', () => {
  const acc = new DeltaAccumulator('profile');
  for (const d of SCRIPT) assert.equal(acc.apply(d), true);
  assert.equal(acc.apply(SCRIPT[1]), false, 'a seq already applied is ignored');
  const p = acc.toProfile({ startTime: 1_000 });
  assert.equal(p.unit, 'samples');
  assert.equal(p.total, 11);
  assert.deepEqual(folded(p), ['app;main;<b>x</b> 4', 'app;main;spin 7']);
  assert.equal(p.meta.tool, 'profile');
  assert.deepEqual(p.meta.loss, { userStackMissing: 1 });
  assert.equal(p.timeline?.startTime, 1_000);
  assert.deepEqual([...p.timeline!.offsetMs], [0, 1000, 1010, 2000]);
  const names = p.timeline!.stack.map((s) => p.frames[p.stacks[s].frames.at(-1)!].name);
  assert.deepEqual(names, ['spin', 'spin', '<b>x</b>', '<b>x</b>']);
  assert.equal(acc.version, 3);
  assert.equal(acc.seq, 3);
});

test('a late subscriber: fullDelta replayed into a fresh accumulator gives the same profile, then live deltas continue', () => {
  const hub = new DeltaAccumulator('profile');
  hub.apply(SCRIPT[0]);
  hub.apply(SCRIPT[1]);
  const full = hub.fullDelta('hub-1');
  deltaSchema.parse(full); // the replay is a valid wire message
  assert.equal(full.full, true);
  assert.equal(full.captureId, 'hub-1');
  assert.equal(full.seq, 2);

  const late = new DeltaAccumulator('profile');
  late.apply(SCRIPT[0]); // whatever it had before is replaced by the full delta
  late.apply(full);
  assert.deepEqual(folded(late.toProfile()), folded(hub.toProfile()));
  assert.deepEqual([...late.toProfile().timeline!.offsetMs], [0, 1000, 1010]);
  assert.equal(late.apply(SCRIPT[1]), false, 'deltas already inside the full one are ignored');
  hub.apply(SCRIPT[2]);
  late.apply(SCRIPT[2]);
  assert.deepEqual(folded(late.toProfile()), ['app;main;<b>x</b> 4', 'app;main;spin 7']);
  assert.deepEqual(folded(late.toProfile()), folded(hub.toProfile()));
  assert.deepEqual(late.fullDelta('x'), { ...hub.fullDelta('x') });
});

test('unknown frame ids: the weight is kept under a placeholder, and replaced when the definition comes', () => {
  const acc = new DeltaAccumulator('offcputime');
  acc.apply(delta({ seq: 1, frames: [[1, 'sleeper', 'comm']], stacks: [[7, [1, 99]]], counts: [[7, 40]] }));
  const before = acc.toProfile();
  assert.equal(before.unit, 'microseconds');
  assert.deepEqual(folded(before), ['sleeper;[unknown frame 99] 40']);
  assert.equal(before.frames.find((f) => f.name === '[unknown frame 99]')?.kind, 'unknown');
  // the full delta does not invent a definition for frame 99
  const full = acc.fullDelta('c');
  assert.deepEqual(full.frames, [[1, 'sleeper', 'comm']]);
  assert.deepEqual(full.stacks, [[7, [1, 99]]]);
  const replayed = new DeltaAccumulator('offcputime');
  replayed.apply(full);
  assert.deepEqual(folded(replayed.toProfile()), folded(before));

  acc.apply(delta({ seq: 2, frames: [[99, 'schedule', 'kernel']], counts: [[7, 2]] }));
  assert.deepEqual(folded(acc.toProfile()), ['sleeper;schedule 42']);
  assert.deepEqual(folded(before), ['sleeper;[unknown frame 99] 40'], 'a profile handed out earlier does not change');
});

test('counts and timeline entries for a stack not defined yet are kept', () => {
  const acc = new DeltaAccumulator('profile');
  acc.apply(delta({ seq: 1, counts: [[3, 4]], timeline: [[0, 3, 4]] }));
  let p = acc.toProfile();
  assert.equal(p.total, 4);
  assert.deepEqual(folded(p), ['[unknown stack 3] 4']);
  assert.equal(p.timeline!.stack.length, 1);
  // the full delta restates the counts (not a definition it never got)
  const full = acc.fullDelta('c');
  assert.deepEqual(full.stacks, []);
  assert.deepEqual(full.counts, [[3, 4]]);
  acc.apply(delta({ seq: 2, frames: [[1, 'x', 'user']], stacks: [[3, [1]]] }));
  p = acc.toProfile();
  assert.deepEqual(folded(p), ['x 4']);
  assert.equal(p.frames[p.stacks[p.timeline!.stack[0]].frames[0]].name, 'x');
});

test('histogram deltas (biolatency): intervals accumulate, survive a full replay; total is the I/O count', () => {
  const acc = new DeltaAccumulator('biolatency');
  acc.apply(delta({ seq: 1, histUnit: 'msecs', histKeyKind: 'disk', histograms: [{ start: 0, end: 1000, key: 'vda', slots: [0, 0, 3, 1] }] }));
  acc.apply(
    delta({
      seq: 2,
      histograms: [
        { start: 1000, end: 2000, key: 'vda', slots: [0, 1] },
        { start: 1000, end: 2000, key: 'vdb', slots: [2] },
      ],
    }),
  );
  const p = acc.toProfile();
  assert.equal(p.unit, 'count');
  assert.equal(p.total, 7);
  assert.equal(p.histograms?.unit, 'msecs');
  assert.equal(p.histograms?.keyKind, 'disk');
  assert.deepEqual(
    p.histograms?.intervals.map((h) => h.key),
    ['vda', 'vda', 'vdb'],
  );
  const late = new DeltaAccumulator('biolatency');
  late.apply(acc.fullDelta('c'));
  assert.deepEqual(late.toProfile().histograms, p.histograms);
  assert.equal(late.toProfile().total, 7);
  // before any interval: an empty series in the unit the capture asked for
  const empty = new DeltaAccumulator('biolatency').toProfile({ histUnit: 'msecs' });
  assert.deepEqual(empty.histograms, { unit: 'msecs', keyKind: 'none', intervals: [] });
  assert.equal(empty.total, 0);
});

test('finish: the end message sets unit, totals, loss and metadata over what the caller knew', () => {
  const acc = new DeltaAccumulator('profile');
  acc.apply(SCRIPT[0]);
  acc.finish(
    endSchema.parse({
      type: 'end',
      captureId: 'c1',
      reason: 'completed',
      unit: 'samples',
      total: 5,
      samples: 5,
      events: 9,
      loss: { lostEvents: 2 },
      meta: { tool: 'profile', host: 'h1', kernel: '6.18', options: { frequency: 49 }, startTime: 77, durationMs: 2500 },
    }),
  );
  const p = acc.toProfile({ meta: { name: 'run', host: 'from-started' }, startTime: 5 });
  assert.equal(p.meta.name, 'run');
  assert.equal(p.meta.host, 'h1');
  assert.equal(p.meta.startTime, 77);
  assert.equal(p.meta.durationMs, 2500);
  assert.deepEqual(p.meta.options, { frequency: 49 });
  assert.deepEqual(p.meta.loss, { lostEvents: 2 });
  assert.equal(acc.progress.events, 9);
  assert.equal(acc.progress.elapsedMs, 2500);
});

test('source lines (protocol 3): accumulated into Profile.lines / Stack.lines, restated by fullDelta, stripped for older clients', async () => {
  const { messageForVersion, PROTOCOL_VERSION } = await import('@bpfscope/viz/wire');
  const { functionLines } = await import('@bpfscope/viz');
  const deltas = [
    delta({
      seq: 1,
      frames: [
        [1, 'app', 'comm'],
        [2, 'main', 'user'],
        [3, 'spin', 'user'],
      ],
      lines: [
        [1, 'spin.c', 10],
        [2, 'main.c', 4],
      ],
      stacks: [
        [7, [1, 2, 3]],
        [8, [1, 2, 3]],
      ],
      stackLines: [[7, [0, 2, 1]]],
      counts: [
        [7, 5],
        [8, 1],
      ],
    }),
    delta({
      seq: 2,
      lines: [[3, 'spin.c', 12]],
      stacks: [[9, [1, 2, 3]]],
      stackLines: [[9, [0, 2, 3]]],
      counts: [
        [9, 3],
        [7, 1],
      ],
    }),
  ];
  const acc = new DeltaAccumulator('profile');
  for (const d of deltas) acc.apply(d);
  const p = acc.toProfile();
  const spin = p.frames.findIndex((f) => f.name === 'spin');
  const fl = functionLines(p, [spin]);
  assert.deepEqual(
    fl.rows.map((r) => [r.file, r.line, r.weight]),
    [
      ['spin.c', 10, 6],
      ['spin.c', 12, 3],
    ],
  );
  assert.equal(fl.unknown, 1, 'stack 8 has no lines');
  // a late subscriber's full delta rebuilds the same profile (through the wire schema)
  const again = new DeltaAccumulator('profile');
  again.apply(deltaSchema.parse(JSON.parse(JSON.stringify(acc.fullDelta('c1')))));
  assert.deepEqual(functionLines(again.toProfile(), [spin]), fl);
  // lines that do not align with the stack are not guessed at
  const bad = new DeltaAccumulator('profile');
  bad.apply(delta({ seq: 1, frames: [[1, 'a', 'user']], lines: [[1, 'a.c', 1]], stacks: [[1, [1]]], stackLines: [[1, [1, 1]]], counts: [[1, 1]] }));
  assert.equal(bad.toProfile().stacks[0].lines, undefined);
  // older protocol versions get the delta without lines; the current one unchanged
  const text = JSON.stringify(deltas[0]);
  assert.equal(messageForVersion(text, PROTOCOL_VERSION), text);
  for (const v of [1, 2]) {
    const m = JSON.parse(messageForVersion(text, v));
    assert.equal(m.lines, undefined);
    assert.equal(m.stackLines, undefined);
    assert.deepEqual(m.stacks, deltas[0].stacks, 'the stacks stay (one per line combination, same frames)');
    const old = new DeltaAccumulator('profile');
    old.apply(deltaSchema.parse(m));
    assert.deepEqual(folded(old.toProfile()), ['app;main;spin 1', 'app;main;spin 5']);
  }
});

/** What a consumer holds: its profile and the full delta it would hand on (the whole state). */
function stateOf(acc: DeltaAccumulator): unknown {
  return { folded: folded(acc.toProfile()), full: acc.fullDelta('x'), seq: acc.seq };
}

test('a consumer that starts from the full delta at any moment (also before the first interval) ends in the producer state', () => {
  for (let join = 0; join <= SCRIPT.length; join++) {
    const hub = new DeltaAccumulator('profile');
    for (const d of SCRIPT.slice(0, join)) hub.apply(d);
    // through the wire, as the hub replays it to a browser
    const full = deltaSchema.parse(JSON.parse(JSON.stringify(hub.fullDelta('x'))));
    assert.equal(full.seq, join, 'the full delta names the last interval it holds (0: none yet)');
    const browser = new DeltaAccumulator('profile');
    assert.equal(browser.apply(full), true);
    assert.deepEqual(stateOf(browser), stateOf(hub), `joined after ${join} deltas`);
    for (const d of SCRIPT.slice(join)) {
      assert.equal(hub.apply(d), true);
      assert.equal(browser.apply(d), true, `delta seq ${d.seq} after a full delta of ${join} dropped`);
    }
    assert.deepEqual(stateOf(browser), stateOf(hub), `joined after ${join} deltas, then every live delta`);
  }
});

test('seq 0 is "no interval yet": an empty accumulator says 0, and an incremental delta numbered 0 is refused, not silently dropped by some consumers', () => {
  const hub = new DeltaAccumulator('profile');
  assert.equal(hub.seq, 0);
  assert.equal(hub.fullDelta('x').seq, 0);
  const browser = new DeltaAccumulator('profile');
  browser.apply(hub.fullDelta('x'));
  const zero = delta({ seq: 0, frames: [[1, 'a', 'user']], stacks: [[1, [1]]], counts: [[1, 1]] });
  // before: the hub (never applied anything) took it and the browser (seq 0 from the full delta) dropped it
  for (const acc of [hub, browser]) assert.throws(() => acc.apply(zero), /delta seq 0 of capture c1 is not a full delta: intervals are numbered from 1/);
  assert.deepEqual(stateOf(browser), stateOf(hub));
  // a full delta of any seq is a reset, 0 included
  hub.apply(SCRIPT[0]);
  assert.equal(hub.apply(delta({ seq: 0, full: true })), true);
  assert.equal(hub.seq, 0);
  assert.deepEqual(folded(hub.toProfile()), []);
  assert.equal(hub.apply(SCRIPT[0]), true, 'after a reset to 0, interval 1 applies');
  // a full delta older than what a consumer holds replaces it too (it is the producer's state)
  hub.apply(SCRIPT[1]);
  assert.equal(hub.apply(delta({ seq: 1, full: true, frames: [[1, 'b', 'user']], stacks: [[1, [1]]], counts: [[1, 2]] })), true);
  assert.deepEqual(folded(hub.toProfile()), ['b 2']);
  assert.equal(hub.apply(SCRIPT[1]), true, 'interval 2 follows a full delta of 1');
});

test('the wire schema refuses a negative seq', () => {
  const r = deltaSchema.safeParse({ type: 'delta', captureId: 'c1', seq: -1, progress: progress(0) });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ['seq']);
});
