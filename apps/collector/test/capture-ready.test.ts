// A capture whose source starts sampling later (the CFI walker waits for unwind tables): its start
// time and duration count from when sampling starts; a source that cannot start ends the capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { LossStats, StackDelta } from '@bpfscope/bpf';
import { Capture } from '../src/server/capture.js';
import type { CaptureSource } from '../src/engine.js';

const empty = (): StackDelta => ({ kind: 'stacks', unit: 'samples', records: [], loss: {} as LossStats, events: 0 });

function delayedSource(waitMs: number, fail?: string) {
  const s = { drains: [] as number[], startedAt: 0, closed: false };
  let startTime = Date.now();
  const ready = new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      if (fail) return reject(new Error(fail));
      startTime = Date.now();
      s.startedAt = startTime;
      resolve();
    }, waitMs),
  );
  const source: CaptureSource = {
    tool: 'profile',
    get startTime() {
      return startTime;
    },
    ready,
    drain: () => {
      s.drains.push(Date.now());
      return empty();
    },
    close: () => {
      s.closed = true;
    },
  };
  return { s, source };
}

function capture(source: CaptureSource, durationSec: number, logs: string[] = []) {
  return new Promise<Capture>((resolve) => {
    const c = new Capture({
      id: 'c_test',
      tool: 'profile',
      options: {},
      durationSec,
      intervalMs: 200,
      source,
      host: 'h',
      kernel: 'k',
      maxUniqueStacks: 1000,
      maxTimelineEntries: 1000,
      log: pino({ level: 'info' }, { write: (l: string) => void logs.push(l) }),
      onEnded: (x) => resolve(x),
    });
    c.run();
  });
}

test('capture: a source that starts sampling later (unwind tables) counts start time and duration from then', async () => {
  const { s, source } = delayedSource(400);
  const opened = Date.now();
  const c = await capture(source, 0.6);
  const ended = Date.now();
  assert.ok(s.startedAt >= opened + 350, 'the source started late');
  assert.equal(c.startTime, s.startedAt, "the capture's start time is when sampling started");
  assert.ok(s.drains.length > 0 && s.drains[0] >= s.startedAt, `no drain before sampling started: ${s.drains.map((d) => d - s.startedAt)}`);
  assert.ok(ended - s.startedAt >= 590, `the full duration after sampling started: ${ended - s.startedAt} ms`);
  assert.ok(s.closed);
  assert.equal(c.endMessage('completed').meta?.startTime ?? c.startTime, s.startedAt);
});

test('capture: a source that fails to start sampling ends the capture as failed, naming why', async () => {
  const { s, source } = delayedSource(50, 'perf_event_open: no such device');
  const logs: string[] = [];
  const c = await capture(source, 5, logs);
  assert.ok(c.isEnded);
  const end = logs
    .map((l) => JSON.parse(l) as { msg: string; reason?: string; err?: string })
    .filter((l) => l.msg === 'capture ended' || l.msg === 'cannot start sampling');
  assert.deepEqual(
    end.map((l) => l.reason ?? l.err),
    ['perf_event_open: no such device', 'failed'],
  );
  assert.ok(s.closed, 'the source is closed');
  assert.equal(s.drains.length, 0);
});
