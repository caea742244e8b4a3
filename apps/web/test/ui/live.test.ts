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

// How deltas accumulate (merging, full deltas, duplicates, unknown frames and stacks, histograms) is
// viz's DeltaAccumulator, tested in packages/viz/test/wire-accumulator.test.ts; these tests cover what
// the browser's LiveAccumulator adds: the metadata it starts with, the timeline's anchor, `end`.

test('the metadata of the started capture and the timeline anchor reach the profile', () => {
  const acc = new LiveAccumulator('profile', { host: 'h1' });
  acc.apply(
    delta({
      seq: 1,
      frames: [[1, 'x', 'user']],
      stacks: [[50, [1]]],
      counts: [[50, 3]],
      timeline: [[990, 50, 3]],
      timelineResolutionMs: 10,
    }),
  );
  acc.startTime = 1_700_000_000_000;
  const p = acc.toProfile();
  assert.deepEqual([p.meta.tool, p.meta.host, p.total], ['profile', 'h1', 3]);
  assert.equal(p.timeline?.startTime, 1_700_000_000_000);
  assert.deepEqual([...p.timeline!.offsetMs], [990]);
  assert.equal(acc.version, 1);
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
  assert.equal(acc.startTime, 5, "the collector's start time anchors the timeline");
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
