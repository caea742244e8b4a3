/**
 * Capture and snapshots stores with a fake API and a fake EventSource: what the console sends,
 * how the SSE stream drives the phases, the ≤ 4/s re-render throttle, save and import errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCaptureStore, FLUSH_MS, type EventSourceLike } from '../../stores/capture';
import { createSnapshotsStore } from '../../stores/snapshots';
import { createViewStore } from '../../stores/view';
import { ApiError, type api as realApi } from '../../lib/api';

class FakeEventSource implements EventSourceLike {
  onmessage: ((ev: { data: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readyState = 1;
  closed = false;
  constructor(readonly url: string) {}
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  send(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeApi(over: Partial<typeof realApi> = {}) {
  const calls: { fn: string; args: unknown[] }[] = [];
  const base: Partial<typeof realApi> = {
    collectors: async () => ({ collectors: [{ id: 'local', name: 'local', url: 'ws://127.0.0.1:9700', healthy: true, health: null }] }),
    startCapture: async (body: unknown) => {
      calls.push({ fn: 'startCapture', args: [body] });
      return { id: 'cap1' };
    },
    stopCapture: async (id: string) => {
      calls.push({ fn: 'stopCapture', args: [id] });
      return {};
    },
    saveCapture: async (id: string, name: string, notes: string) => {
      calls.push({ fn: 'saveCapture', args: [id, name, notes] });
      return { id: 'snap1', url: '/s/snap1' };
    },
    captureState: async () => ({ id: 'cap1', state: 'done' as const }),
  };
  return { api: { ...base, ...over } as typeof realApi, calls };
}

const progress = (elapsedMs: number, samples: number) => ({ elapsedMs, durationMs: 3000, samples, events: 0 });

test('start posts save:false with the form options, streams deltas, throttles re-renders, ends done', async () => {
  const { api, calls } = fakeApi();
  const sources: FakeEventSource[] = [];
  const store = createCaptureStore({ api, openEvents: (u) => (sources.push(new FakeEventSource(u)), sources.at(-1)!) });
  store.getState().setForm({ tool: 'profile', durationSec: 3, pids: [1234], frequency: 99 });
  await store.getState().start();
  assert.deepEqual(calls[0], {
    fn: 'startCapture',
    args: [{ tool: 'profile', durationSec: 3, collector: 'local', save: false, options: { pid: 1234, frequency: 99 } }],
  });
  assert.equal(store.getState().phase, 'running');
  assert.equal(sources[0].url, '/api/captures/cap1/events');

  let profileUpdates = 0;
  store.subscribe((s, prev) => {
    if (s.profile !== prev.profile) profileUpdates++;
  });
  const es = sources[0];
  es.send({
    type: 'started',
    requestId: 'r',
    captureId: 'cap1',
    tool: 'profile',
    options: {},
    durationSec: 3,
    intervalMs: 100,
    startTime: 1,
    host: 'h',
    kernel: 'k',
  });
  es.send({
    type: 'delta',
    captureId: 'cap1',
    seq: 0,
    full: true,
    frames: [
      [1, 'busy', 'comm'],
      [2, 'spin', 'user'],
    ],
    stacks: [[1, [1, 2]]],
    counts: [[1, 1]],
    progress: progress(100, 1),
  });
  // a burst of 30 deltas within one flush window → at most two profile rebuilds
  for (let i = 1; i <= 30; i++) es.send({ type: 'delta', captureId: 'cap1', seq: i, counts: [[1, 1]], progress: progress(100 + i, 1 + i) });
  assert.equal(store.getState().profile, null, 'nothing rendered synchronously');
  await sleep(FLUSH_MS + 100);
  assert.ok(profileUpdates >= 1 && profileUpdates <= 2, `profile rebuilt ${profileUpdates} times`);
  assert.equal(store.getState().profile?.total, 31);
  assert.equal(store.getState().progress.samples, 31);
  assert.ok(store.getState().firstDataMs !== null);

  es.send({
    type: 'end',
    captureId: 'cap1',
    reason: 'completed',
    unit: 'samples',
    total: 31,
    samples: 31,
    events: 0,
    loss: { userStackMissing: 2 },
    meta: { tool: 'profile', host: 'h', kernel: 'k', options: {}, startTime: 1, durationMs: 3000 },
  });
  assert.equal(store.getState().phase, 'done');
  assert.ok(es.closed, 'stream closed at the end');
  assert.equal(store.getState().loss.userStackMissing, 2);
  assert.equal(store.getState().profile?.meta.durationMs, 3000, 'the end flushes at once');

  await store.getState().saveSnapshot('  my run ', 'notes here');
  assert.deepEqual(calls.at(-1), { fn: 'saveCapture', args: ['cap1', 'my run', 'notes here'] });
  assert.deepEqual(store.getState().save, { state: 'saved', snapshotId: 'snap1', url: '/s/snap1' });
  store.getState().dispose();
});

test('stop asks the hub and keeps the data until the end message; errors are shown in words', async () => {
  const { api, calls } = fakeApi();
  const sources: FakeEventSource[] = [];
  const store = createCaptureStore({ api, openEvents: (u) => (sources.push(new FakeEventSource(u)), sources.at(-1)!) });
  await store.getState().start();
  sources[0].send({ type: 'delta', captureId: 'cap1', seq: 1, frames: [[1, 'x', 'user']], stacks: [[1, [1]]], counts: [[1, 5]], progress: progress(500, 5) });
  await store.getState().stop();
  assert.equal(calls.at(-1)?.fn, 'stopCapture');
  assert.equal(store.getState().phase, 'stopping');
  sources[0].send({
    type: 'end',
    captureId: 'cap1',
    reason: 'stopped',
    unit: 'samples',
    total: 5,
    samples: 5,
    events: 0,
    meta: { tool: 'profile', host: 'h', kernel: 'k', options: {}, startTime: 1, durationMs: 500 },
  });
  assert.equal(store.getState().phase, 'done');
  assert.equal(store.getState().endReason, 'stopped');
  assert.equal(store.getState().profile?.total, 5);

  // collector error during a capture
  await store.getState().start();
  sources[1].send({ type: 'error', captureId: 'cap1', code: 'privileges', message: 'BPF needs root or CAP_BPF + CAP_PERFMON' });
  assert.equal(store.getState().phase, 'failed');
  assert.equal(store.getState().error, 'BPF needs root or CAP_BPF + CAP_PERFMON');
  store.getState().dispose();
});

test('a refused start shows the server error; a bad form never reaches the API', async () => {
  const { api, calls } = fakeApi({
    startCapture: async () => {
      throw new ApiError('Starting the capture: options.frequency: Number must be less than or equal to 1000', 400);
    },
  });
  const store = createCaptureStore({ api, openEvents: () => new FakeEventSource('x') });
  await store.getState().start();
  assert.equal(store.getState().phase, 'failed');
  assert.match(store.getState().error ?? '', /options\.frequency/);

  store.getState().setForm({ tool: 'offcputime', minBlockUs: 100, maxBlockUs: 10 });
  await store.getState().start();
  assert.equal(store.getState().phase, 'idle');
  assert.match(store.getState().error ?? '', /Max block time/);
  assert.equal(calls.length, 0);
});

test('collectors: the first collector is selected; a failure is kept as words', async () => {
  const ok = createCaptureStore({ api: fakeApi().api, openEvents: () => new FakeEventSource('x') });
  ok.getState().setForm({ collector: 'gone' });
  await ok.getState().loadCollectors();
  assert.equal(ok.getState().form.collector, 'local');
  const bad = createCaptureStore({
    api: fakeApi({
      collectors: async () => {
        throw new ApiError('Listing collectors: the console server did not answer (fetch failed)', 0);
      },
    }).api,
    openEvents: () => new FakeEventSource('x'),
  });
  await bad.getState().loadCollectors();
  assert.match(bad.getState().collectorsError ?? '', /did not answer/);
});

test('snapshots store: import errors are kept for display; delete removes the row', async () => {
  const deleted: string[] = [];
  const store = createSnapshotsStore({
    api: {
      importFile: async () => {
        throw new ApiError('Importing bad.folded: line 3: expected "stack count", got "foo"', 400);
      },
      deleteSnapshot: async (id: string) => {
        deleted.push(id);
      },
      snapshots: async () => ({ snapshots: [] }),
    } as unknown as typeof realApi,
    initial: [
      { id: 'a', name: 'A', tool: 'profile', host: 'h', createdAt: 1, total: 1, unit: 'samples' },
      { id: 'b', name: 'B', tool: 'profile', host: 'h', createdAt: 2, total: 1, unit: 'samples' },
    ],
  });
  await store.getState().importFile({ name: 'bad.folded' } as File);
  assert.match(store.getState().importError ?? '', /line 3/);
  await store.getState().remove('a');
  assert.deepEqual(deleted, ['a']);
  assert.deepEqual(
    store.getState().items.map((s) => s.id),
    ['b'],
  );
});

test('view store: Esc resets zoom only, r resets the view, a new range clears the zoom', () => {
  const v = createViewStore({ zoom: ['a', 'b'], q: 'x', orientation: 'icicle' });
  v.getState().resetZoom();
  assert.deepEqual(v.getState().zoom, []);
  assert.equal(v.getState().q, 'x');
  v.getState().setZoom(['a']);
  v.getState().setRange([0, 100]);
  assert.deepEqual(v.getState().zoom, []);
  v.getState().resetView();
  assert.equal(v.getState().q, '');
  assert.equal(v.getState().range, null);
  assert.equal(v.getState().orientation, 'flame');
  // stores are independent per provider
  assert.notEqual(createViewStore().getState(), createViewStore().getState());
});
