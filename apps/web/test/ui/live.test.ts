/** LiveAccumulator: wire deltas (as the hub relays them) → Profile. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deltaSchema, endSchema, type DeltaMessage } from '@bpfscope/viz/wire';
import { LiveAccumulator, describeLoss, lossTotal } from '../../lib/live';

const progress = (elapsedMs: number, samples: number) => ({ elapsedMs, durationMs: 5000, samples, events: 0 });

function delta(d: Partial<DeltaMessage> & { seq: number }): DeltaMessage {
  // every fixture goes through the real wire schema, so the test cannot drift from the protocol
  return deltaSchema.parse({ type: 'delta', captureId: 'c1', progress: progress(d.seq * 1000, 0), ...d });
}

test('merges frames, stacks and counts across deltas into folded-equivalent stacks', () => {
  const acc = new LiveAccumulator('profile');
  acc.apply(
    delta({
      seq: 1,
      frames: [
        [10, 'busy', 'comm'],
        [11, 'main', 'user'],
        [12, 'spin', 'user'],
      ],
      stacks: [[100, [10, 11, 12]]],
      counts: [[100, 5]],
    }),
  );
  acc.apply(
    delta({
      seq: 2,
      frames: [[13, '<img src=x onerror=alert(1)>', 'user']],
      stacks: [[101, [10, 11, 13]]],
      counts: [
        [100, 2],
        [101, 3],
      ],
    }),
  );
  const p = acc.toProfile();
  assert.equal(p.unit, 'samples');
  assert.equal(p.total, 10);
  const folded = p.stacks.map((s) => `${s.frames.map((f) => p.frames[f].name).join(';')} ${s.weight}`).sort();
  assert.deepEqual(folded, ['busy;main;<img src=x onerror=alert(1)> 3', 'busy;main;spin 7']);
  assert.equal(p.frames.find((f) => f.name === 'busy')?.kind, 'comm');
  assert.equal(acc.version, 2);
});

test('a full delta replaces everything; stale and duplicate deltas are ignored', () => {
  const acc = new LiveAccumulator('offcputime');
  acc.apply(delta({ seq: 1, frames: [[1, 'a', 'kernel']], stacks: [[1, [1]]], counts: [[1, 100]] }));
  acc.apply(delta({ seq: 1, counts: [[1, 100]] })); // duplicate seq
  assert.equal(acc.toProfile().total, 100);
  acc.apply(
    delta({
      seq: 7,
      full: true,
      frames: [
        [1, 'a', 'kernel'],
        [2, 'b', 'kernel'],
      ],
      stacks: [
        [1, [1]],
        [2, [1, 2]],
      ],
      counts: [
        [1, 40],
        [2, 60],
      ],
    }),
  );
  const p = acc.toProfile();
  assert.equal(p.unit, 'microseconds');
  assert.equal(p.total, 100);
  assert.equal(p.stacks.length, 2);
  acc.apply(delta({ seq: 8, counts: [[2, 1]] }));
  assert.equal(acc.toProfile().total, 101);
});

test('a stack that names an undefined frame keeps its weight under a placeholder frame (as the hub does)', () => {
  const acc = new LiveAccumulator('profile');
  acc.apply(delta({ seq: 1, stacks: [[5, [99]]], counts: [[5, 2]] }));
  const p = acc.toProfile();
  assert.equal(p.total, 2);
  assert.deepEqual(p.frames[p.stacks[0].frames[0]], { name: '[unknown frame 99]', kind: 'unknown' });
});

test('counts that arrive before their stack definition are kept', () => {
  const acc = new LiveAccumulator('profile');
  acc.apply(delta({ seq: 1, counts: [[3, 4]] }));
  acc.apply(delta({ seq: 2, frames: [[1, 'x', 'user']], stacks: [[3, [1]]] }));
  assert.equal(acc.toProfile().total, 4);
});

test('timeline entries map collector stack ids to profile stack indices', () => {
  const acc = new LiveAccumulator('profile');
  acc.apply(
    delta({
      seq: 1,
      frames: [
        [1, 'x', 'user'],
        [2, 'y', 'user'],
      ],
      stacks: [
        [50, [1]],
        [60, [2]],
      ],
      counts: [
        [50, 1],
        [60, 2],
      ],
      timeline: [
        [0, 60, 2],
        [990, 50, 1],
      ],
      timelineResolutionMs: 10,
    }),
  );
  acc.startTime = 1_700_000_000_000;
  const p = acc.toProfile();
  assert.ok(p.timeline);
  assert.equal(p.timeline.resolutionMs, 10);
  assert.equal(p.timeline.startTime, 1_700_000_000_000);
  assert.deepEqual([...p.timeline.offsetMs], [0, 990]);
  assert.equal(p.frames[p.stacks[p.timeline.stack[0]].frames[0]].name, 'y');
  assert.equal(p.frames[p.stacks[p.timeline.stack[1]].frames[0]].name, 'x');
});

test('biolatency: histogram intervals accumulate and the total is the I/O count', () => {
  const acc = new LiveAccumulator('biolatency');
  acc.apply(delta({ seq: 1, histUnit: 'usecs', histKeyKind: 'disk', histograms: [{ start: 0, end: 1000, key: 'vda', slots: [0, 0, 3, 1] }] }));
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
  assert.equal(p.histograms?.keyKind, 'disk');
  assert.equal(p.histograms?.intervals.length, 3);
});

test('end message sets metadata and loss; describeLoss words non-zero counters only', () => {
  const acc = new LiveAccumulator('profile');
  acc.apply(delta({ seq: 1, loss: { userStackMissing: 2 } }));
  acc.end(
    endSchema.parse({
      type: 'end',
      captureId: 'c1',
      reason: 'stopped',
      unit: 'samples',
      total: 0,
      samples: 12,
      events: 0,
      loss: { userStackMissing: 3, stackCollisions: 1, lostEvents: 0 },
      meta: { tool: 'profile', host: 'h1', kernel: '6.18', options: { frequency: 49 }, startTime: 5, durationMs: 2500 },
    }),
  );
  const p = acc.toProfile();
  assert.equal(p.meta.host, 'h1');
  assert.equal(p.meta.durationMs, 2500);
  assert.equal(acc.progress.samples, 12);
  assert.equal(lossTotal(p.meta.loss), 4);
  const words = describeLoss(p.meta.loss);
  assert.equal(words.length, 2);
  assert.match(words[0], /^3 user stacks missing$/);
  assert.match(words[1], /^1 stack id collisions/);
});

test('stacks cut short by CFI unwinding are named in the "Some data was missed" words, by reason', () => {
  const words = describeLoss({ truncatedStacks: 2, unwindNoTable: 5, unwindUnsupported: 1, unwindReadFault: 3, timelineDropped: 4 });
  assert.deepEqual(words, [
    '2 stacks truncated at max depth',
    '4 samples left out of the timeline (timeline limit)',
    '5 user stacks ended early: no unwind table for the code yet (walked on by frame pointers)',
    '1 user stacks ended early: no usable unwind rule (no FDE or unsupported CFI)',
    '3 user stacks ended early: reading the stack faulted',
  ]);
});
