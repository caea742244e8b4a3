// A capture over a source that drains asynchronously (drainAsync: the wait for running BPF programs
// off the event loop): ticks never overlap, and stop/cancel/shutdown during a drain wait for it, so
// the source is never closed between a drain's start and its read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { LossStats, StackDelta } from '@bpfscope/bpf';
import type { ServerMessage } from '@bpfscope/viz/wire';
import { Capture, type Subscriber } from '../src/server/capture.js';
import type { CaptureSource } from '../src/engine.js';

const delta = (value: number): StackDelta => ({
  kind: 'stacks',
  unit: 'samples',
  records: value ? [{ pid: 1, tid: 1, comm: 'w', user: [{ name: 'f', kind: 'user' }], kernel: [], value }] : [],
  loss: {} as LossStats,
  events: value,
});

/** drainAsync takes drainMs; records overlaps and drains/closes in order */
function slowSource(drainMs: number, fail?: string) {
  const s = { events: [] as string[], inFlight: 0, maxInFlight: 0, closed: false, drainAfterClose: false, syncDrains: 0 };
  const source: CaptureSource = {
    tool: 'profile',
    startTime: Date.now(),
    drain: () => {
      s.syncDrains++;
      return delta(1);
    },
    drainAsync: async () => {
      if (s.closed) s.drainAfterClose = true;
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      s.events.push('start');
      await new Promise((r) => setTimeout(r, drainMs));
      s.inFlight--;
      s.events.push('read');
      if (fail) throw new Error(fail);
      return delta(1);
    },
    close: () => {
      if (s.inFlight) s.events.push('close during drain');
      s.closed = true;
      s.events.push('close');
    },
  };
  return { s, source };
}

function capture(source: CaptureSource, durationSec: number, intervalMs: number) {
  const ends: ServerMessage[] = [];
  let total = 0;
  const sub: Subscriber = {
    id: 's',
    deliver: (_c, parts) => {
      for (const v of parts.counts.values()) total += v;
    },
    sendAfterPending: (_id, msg) => void ends.push(msg),
    forget: () => {},
  };
  let onEnded!: (c: Capture) => void;
  const ended = new Promise<Capture>((resolve) => (onEnded = resolve));
  const c = new Capture({
    id: 'c_async',
    tool: 'profile',
    options: {},
    durationSec,
    intervalMs,
    source,
    host: 'h',
    kernel: 'k',
    maxUniqueStacks: 1000,
    maxTimelineEntries: 1000,
    log: pino({ level: 'silent' }),
    onEnded: (x) => onEnded(x),
  });
  c.subscribe(sub, false);
  c.run();
  return { c, ends, ended, total: () => total };
}

test('capture with drainAsync: drains slower than the interval never overlap; the final drain precedes close', async () => {
  const { s, source } = slowSource(120);
  const { ends, ended, total } = capture(source, 0.6, 50);
  await ended;
  assert.equal(s.maxInFlight, 1, 'one drain at a time');
  assert.equal(s.syncDrains, 0, 'the sync drain is not used');
  assert.ok(!s.drainAfterClose);
  assert.equal(s.events.at(-1), 'close');
  assert.ok(!s.events.includes('close during drain'), s.events.join(','));
  const drains = s.events.filter((e) => e === 'read').length;
  assert.ok(drains >= 3, `drains: ${drains}`);
  assert.equal(total(), drains, 'every drained delta was delivered');
  assert.equal(ends.length, 1);
  assert.equal((ends[0] as { reason: string }).reason, 'completed');
});

for (const reason of ['cancelled', 'stopped', 'shutdown'] as const)
  test(`capture with drainAsync: finish('${reason}') during a drain waits for its read before closing`, async () => {
    const { s, source } = slowSource(150);
    const { c, ends } = capture(source, 30, 50);
    while (!s.inFlight) await new Promise((r) => setTimeout(r, 5));
    const p = c.finish(reason);
    assert.ok(!c.isEnded, 'not ended while the drain is between start and read');
    assert.ok(!s.closed);
    const again = c.finish('cancelled'); // a second finish meanwhile waits for the same end
    await Promise.all([p, again]);
    assert.ok(c.isEnded);
    assert.ok(s.closed);
    assert.ok(!s.events.includes('close during drain'), s.events.join(','));
    assert.ok(!s.drainAfterClose);
    assert.equal(s.maxInFlight, 1);
    assert.equal(s.events.at(-1), 'close');
    // stop/shutdown drain once more after the one in flight; cancel does not
    assert.equal(s.events.filter((e) => e === 'read').length, reason === 'cancelled' ? 1 : 2, s.events.join(','));
    assert.equal(ends.length, 1);
    assert.equal((ends[0] as { reason: string }).reason, reason);
  });

test('capture with drainAsync: a failed drain ends the capture as failed, naming why', async () => {
  const { s, source } = slowSource(20, 'bpf_map_lookup_and_delete_batch: EBADF');
  const { ends, ended } = capture(source, 30, 50);
  await ended;
  assert.ok(s.closed);
  assert.equal(ends.length, 1);
  const end = ends[0] as { reason: string; error?: string };
  assert.equal(end.reason, 'failed');
  assert.match(end.error ?? '', /drain failed: bpf_map_lookup_and_delete_batch: EBADF/);
});
