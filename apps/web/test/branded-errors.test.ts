/**
 * Next.js gives each route bundle its own copy of the hub's modules, while the hub's long-lived
 * objects (captures, collector connections, stores) live on globalThis: an error made by one copy
 * must be recognised by every other copy's checks. Every error class apps/web/server checks is a
 * BrandedError (@bpfscope/viz/errors); here each is made by a second instance of its module (the
 * same file under another URL) and checked by the first, at the classes and at the check sites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '../server/http.js';
import { Hub, type CaptureRequest } from '../server/captures.js';
import { CollectorRequestError, CollectorUnavailableError, type CollectorClient } from '../server/collector-client.js';
import { SnapshotValidationError } from '../server/snapshots.js';
import { StoreUnavailableError } from '../server/snapshots-pg.js';
import { ConfigError } from '@bpfscope/viz/config';
import * as api from '../server/api.js';

/** Another instance of a module, as another route bundle holds. */
async function copyOf<T>(specifier: string): Promise<T> {
  const url = specifier.startsWith('.') ? new URL(specifier, import.meta.url).href : import.meta.resolve(specifier);
  return (await import(`${url}?copy=${process.hrtime.bigint()}`)) as T;
}

test('every error class the web server checks is recognised across copies of its module', async () => {
  const http = await copyOf<typeof import('../server/http.js')>('../server/http.js');
  const client = await copyOf<typeof import('../server/collector-client.js')>('../server/collector-client.js');
  const snapshots = await copyOf<typeof import('../server/snapshots.js')>('../server/snapshots.js');
  const pgStore = await copyOf<typeof import('../server/snapshots-pg.js')>('../server/snapshots-pg.js');
  const config = await copyOf<typeof import('@bpfscope/viz/config')>('@bpfscope/viz/config');
  const pairs: [string, Error, abstract new (...a: never[]) => Error, (abstract new (...a: never[]) => Error)[]][] = [
    ['HttpError', new http.HttpError(400, 'bad'), HttpError, [SnapshotValidationError]],
    ['CollectorRequestError', new client.CollectorRequestError('bad_option', 'x', 'options.pattern'), CollectorRequestError, [CollectorUnavailableError]],
    ['CollectorUnavailableError', new client.CollectorUnavailableError('gone'), CollectorUnavailableError, [CollectorRequestError]],
    ['SnapshotValidationError', new snapshots.SnapshotValidationError('name', 'too long'), SnapshotValidationError, [HttpError]],
    ['StoreUnavailableError', new pgStore.StoreUnavailableError('down'), StoreUnavailableError, [ConfigError]],
    ['ConfigError', new config.ConfigError('BPFSCOPE_X: bad'), ConfigError, [StoreUnavailableError]],
  ];
  for (const [name, e, cls, others] of pairs) {
    assert.notEqual(e.constructor, cls, `${name}: two module instances`);
    assert.ok(e instanceof cls, `${name} of another copy recognised`);
    assert.equal(e.name, name);
    for (const o of others) assert.ok(!(e instanceof o), `${name} is not a ${o.name}`);
    assert.ok(!(new Error(e.message) instanceof cls), `a plain Error is not a ${name}`);
  }
});

test("the check sites: a collector's refusal from another copy answers 400 with its field, an unreachable one 503, a bad setting 500 in words, an unreachable store 503", async () => {
  const client = await copyOf<typeof import('../server/collector-client.js')>('../server/collector-client.js');
  const config = await copyOf<typeof import('@bpfscope/viz/config')>('@bpfscope/viz/config');
  const pgStore = await copyOf<typeof import('../server/snapshots-pg.js')>('../server/snapshots-pg.js');
  const http = await copyOf<typeof import('../server/http.js')>('../server/http.js');
  const req: CaptureRequest = { tool: 'stackcount', durationSec: 1, options: { pattern: 'nope_*' }, collector: 'local', save: false };
  const hubWith = (err: Error) => {
    const hub = new Hub({ configs: () => [{ id: 'local', name: 'local', url: 'ws://127.0.0.1:1', token: 'x'.repeat(16) }] });
    hub.client = () => ({ request: () => Promise.reject(err) }) as unknown as CollectorClient;
    return hub;
  };
  await assert.rejects(
    hubWith(new client.CollectorRequestError('bad_option', 'options.pattern: no kernel function matches "nope_*"', 'options.pattern')).start(req),
    (e: unknown) => e instanceof HttpError && e.status === 400 && e.extra.field === 'options.pattern' && /no kernel function matches/.test(e.message),
  );
  await assert.rejects(
    hubWith(new client.CollectorUnavailableError('nothing listens at ws://127.0.0.1:1')).start(req),
    (e: unknown) => e instanceof HttpError && e.status === 503 && /nothing listens/.test(e.message),
  );

  const hub = {
    collectorList: () => {
      throw new config.ConfigError('BPFSCOPE_COLLECTORS is not valid JSON');
    },
  } as unknown as Hub;
  const r = await api.listCollectors(new Request('http://127.0.0.1/api/collectors'), { hub: () => hub, env: {} });
  assert.equal(r.status, 500);
  assert.deepEqual(await r.json(), { error: 'BPFSCOPE_COLLECTORS is not valid JSON' }, 'a ConfigError, in its own words (not "internal error")');

  const down = await http.handle(() => {
    throw new pgStore.StoreUnavailableError('the snapshot database is unreachable: ECONNREFUSED');
  });
  assert.equal(down.status, 503);
  assert.deepEqual(await down.json(), { error: 'the snapshot database is unreachable: ECONNREFUSED' });
});
