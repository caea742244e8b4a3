/**
 * The hub's capture manager outlives the route bundle that created it (it lives on globalThis), and
 * Next.js gives each route bundle its own copy of server/http.ts: an HttpError thrown from one copy
 * must still answer with its status through another copy's handler (it answered 500 before).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('an HttpError from another copy of the module keeps its status and field', async () => {
  const one = await import('../server/http.js');
  // a second instance of the same module, as a second route bundle has
  const two = (await import(`../server/http.js?copy=${Date.now()}`)) as typeof one;
  assert.notEqual(one.HttpError, two.HttpError, 'two module instances');
  const e = new two.HttpError(400, 'options.pattern: no kernel function matches "x"', { field: 'options.pattern' });
  assert.ok(e instanceof one.HttpError);
  assert.ok(!(new Error('plain') instanceof one.HttpError));
  const r = await one.handle(() => {
    throw e;
  });
  assert.equal(r.status, 400);
  assert.deepEqual(await r.json(), { error: 'options.pattern: no kernel function matches "x"', field: 'options.pattern' });
});
