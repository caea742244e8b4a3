/**
 * FleetMerge: host deltas in overlapping collector id spaces become one fleet id space with the
 * host as root frame, through viz's DeltaAccumulator; frames defined late, the fleet stack limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeltaAccumulator, type DeltaMessage } from '@bpfscope/viz/wire';
import { FleetMerge, OTHER_STACKS } from '../server/fleet';

const prog = (samples: number) => ({ elapsedMs: 1000, durationMs: 5000, samples, events: 0 });

/** folded lines of a profile, sorted, for readable assertions. */
function folded(acc: DeltaAccumulator): string[] {
  const p = acc.toProfile();
  return p.stacks
    .filter((s) => s.weight > 0)
    .map((s) => `${s.frames.map((f) => p.frames[f]!.name).join(';')} ${s.weight}`)
    .sort();
}

test('two hosts with the same collector ids stay apart, each under its host, frames shared by name', () => {
  const m = new FleetMerge([{ name: 'a' }, { name: 'b' }], 5000, 100);
  const acc = new DeltaAccumulator('profile', 5000);
  // both collectors number their frames and stacks from 1, with different meanings
  const da: DeltaMessage = {
    type: 'delta',
    captureId: 'x',
    seq: 0,
    frames: [
      [1, 'app', 'comm'],
      [2, 'f', 'user'],
    ],
    stacks: [[1, [1, 2]]],
    counts: [[1, 3]],
    progress: prog(3),
  };
  const db: DeltaMessage = {
    type: 'delta',
    captureId: 'y',
    seq: 0,
    frames: [
      [1, 'app', 'comm'],
      [2, 'g', 'user'],
    ],
    stacks: [[1, [1, 2]]],
    counts: [[1, 5]],
    progress: prog(5),
  };
  for (const [h, d] of [
    ['a', da],
    ['b', db],
  ] as const)
    assert.equal(acc.apply(m.remap(h, d, 'cap')), true);
  // a later delta of host a adds weight to its stack 1 only
  acc.apply(m.remap('a', { type: 'delta', captureId: 'x', seq: 1, counts: [[1, 2]], progress: prog(5) }, 'cap'));
  assert.deepEqual(folded(acc), ['a;app;f 5', 'b;app;g 5']);
  assert.deepEqual(acc.progress, { elapsedMs: 1000, durationMs: 5000, samples: 10, events: 0 });
  // "app" (same name and kind on both hosts) is one frame
  assert.equal(acc.toProfile().frames.filter((f) => f.name === 'app').length, 1);
});

test('counts before the stack definition, and a frame used before its definition, resolve when the definitions come', () => {
  const m = new FleetMerge([{ name: 'h' }], 5000, 100);
  const acc = new DeltaAccumulator('profile', 5000);
  acc.apply(m.remap('h', { type: 'delta', captureId: 'x', seq: 0, counts: [[7, 4]], progress: prog(4) }, 'cap'));
  acc.apply(m.remap('h', { type: 'delta', captureId: 'x', seq: 1, stacks: [[7, [9]]], progress: prog(4) }, 'cap'));
  acc.apply(m.remap('h', { type: 'delta', captureId: 'x', seq: 2, frames: [[9, 'late', 'user']], progress: prog(4) }, 'cap'));
  assert.deepEqual(folded(acc), ['h;late 4']);
});

test('past the fleet stack limit new stacks go to "[other stacks]" under their host; weight is kept', () => {
  const m = new FleetMerge([{ name: 'a' }, { name: 'b' }], 5000, 2);
  const acc = new DeltaAccumulator('profile', 5000);
  const d = (n: number): DeltaMessage => ({
    type: 'delta',
    captureId: 'x',
    seq: 0,
    frames: [
      [1, 'f1', 'user'],
      [2, 'f2', 'user'],
    ],
    stacks: [
      [1, [1]],
      [2, [2]],
    ],
    counts: [
      [1, n],
      [2, n],
    ],
    progress: prog(2 * n),
  });
  acc.apply(m.remap('a', d(1), 'cap'));
  acc.apply(m.remap('b', d(10), 'cap'));
  assert.equal(m.stackCount, 2);
  assert.deepEqual(folded(acc), ['a;f1 1', 'a;f2 1', `b;${OTHER_STACKS} 20`]);
  assert.equal(acc.toProfile().total, 22);
});

test('summary and finished follow host states; loss counters add up', () => {
  const m = new FleetMerge([{ name: 'a', labels: { role: 'x' } }, { name: 'b' }], 5000, 10);
  assert.equal(m.finished, false);
  m.remap('a', { type: 'delta', captureId: 'x', seq: 0, progress: prog(1), loss: { userStackMissing: 2 } }, 'cap');
  const last = m.remap('b', { type: 'delta', captureId: 'y', seq: 0, progress: prog(1), loss: { userStackMissing: 3 } }, 'cap');
  assert.deepEqual(last.loss, { userStackMissing: 5 });
  m.hosts.get('a')!.state = 'done';
  m.hosts.get('b')!.state = 'failed';
  m.hosts.get('b')!.error = 'lost the connection';
  assert.equal(m.finished, true);
  assert.deepEqual(
    m.summary().map((h) => [h.name, h.state, h.error ?? '', h.labels]),
    [
      ['a', 'done', '', { role: 'x' }],
      ['b', 'failed', 'lost the connection', {}],
    ],
  );
});

test('the hub refuses a fleet capture over BPFSCOPE_FLEET_MAX_HOSTS, and an empty selection, naming the field', async () => {
  const { Hub } = await import('../server/captures');
  const hub = new Hub({
    store: () => {
      throw new Error('no store needed');
    },
    configs: () => ['a', 'b', 'c'].map((id) => ({ id, name: id, url: 'ws://127.0.0.1:1', token: 'x'.repeat(12) })),
  });
  const prev = process.env.BPFSCOPE_FLEET_MAX_HOSTS;
  process.env.BPFSCOPE_FLEET_MAX_HOSTS = '2';
  try {
    await assert.rejects(
      hub.start({ tool: 'profile', durationSec: 1, options: {}, collector: 'local', hosts: ['a', 'b', 'c'], save: false }),
      (e: Error & { status?: number; extra?: { field?: string } }) => {
        assert.equal(e.status, 400);
        assert.equal(e.extra?.field, 'hosts');
        assert.match(e.message, /3 hosts.*BPFSCOPE_FLEET_MAX_HOSTS=2/);
        return true;
      },
    );
    await assert.rejects(
      hub.start({ tool: 'profile', durationSec: 1, options: {}, collector: 'local', selector: { role: 'none' }, save: false }),
      (e: Error & { extra?: { field?: string } }) => e.extra?.field === 'selector',
    );
    assert.equal(hub.list().length, 0, 'nothing was started');
  } finally {
    if (prev === undefined) delete process.env.BPFSCOPE_FLEET_MAX_HOSTS;
    else process.env.BPFSCOPE_FLEET_MAX_HOSTS = prev;
    hub.close();
  }
});

test('a subscriber that joins before the first fleet delta (full delta of nothing yet) still gets the first delta and its frames', () => {
  const m = new FleetMerge([{ name: 'a' }, { name: 'b' }], 5000, 100);
  const hub = new DeltaAccumulator('profile', 5000);
  const browser = new DeltaAccumulator('profile', 5000);
  // what the hub replays to a browser subscribing right after `started`
  assert.equal(browser.apply(hub.fullDelta('cap')), true);
  const first = m.remap(
    'a',
    {
      type: 'delta',
      captureId: 'x',
      seq: 1,
      frames: [
        [1, 'app', 'comm'],
        [2, 'hot', 'user'],
      ],
      stacks: [[1, [1, 2]]],
      counts: [[1, 3]],
      progress: prog(3),
    },
    'cap',
  );
  // host b's stack uses the same frames: no definitions of its own in its delta
  const second = m.remap(
    'b',
    {
      type: 'delta',
      captureId: 'y',
      seq: 1,
      frames: [
        [5, 'app', 'comm'],
        [6, 'hot', 'user'],
      ],
      stacks: [[1, [5, 6]]],
      counts: [[1, 2]],
      progress: prog(2),
    },
    'cap',
  );
  for (const d of [first, second]) {
    assert.equal(hub.apply(d), true);
    assert.equal(browser.apply(d), true, `fleet delta seq ${d.seq} ignored by a subscriber that got the full delta first`);
  }
  assert.deepEqual(folded(browser), ['a;app;hot 3', 'b;app;hot 2']);
  assert.deepEqual(folded(browser), folded(hub));
});

test('a frame one host used before defining it, defined meanwhile by another host, is not left a placeholder', () => {
  const m = new FleetMerge([{ name: 'a' }, { name: 'b' }], 5000, 100);
  const acc = new DeltaAccumulator('profile', 5000);
  acc.apply(m.remap('b', { type: 'delta', captureId: 'y', seq: 1, stacks: [[1, [4]]], counts: [[1, 2]], progress: prog(2) }, 'cap'));
  acc.apply(
    m.remap('a', { type: 'delta', captureId: 'x', seq: 1, frames: [[1, 'hot', 'user']], stacks: [[1, [1]]], counts: [[1, 3]], progress: prog(3) }, 'cap'),
  );
  acc.apply(m.remap('b', { type: 'delta', captureId: 'y', seq: 2, frames: [[4, 'hot', 'user']], progress: prog(2) }, 'cap'));
  // a re-sent definition (a collector's full delta) sends nothing new
  assert.equal(m.remap('b', { type: 'delta', captureId: 'y', seq: 3, frames: [[4, 'hot', 'user']], progress: prog(2) }, 'cap').frames?.length ?? 0, 0);
  assert.deepEqual(folded(acc), ['a;hot 3', 'b;hot 2']);
});
