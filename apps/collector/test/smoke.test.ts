import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldRecord } from '../src/fold.js';
import { PROTOCOL_VERSION } from '@bpfscope/viz/wire';
test('fold', () => {
  assert.equal(PROTOCOL_VERSION, 3);
  const f = foldRecord('profile', { pid: 1, tid: 1, comm: 'x', user: [{ name: 'main', kind: 'user' }], kernel: [], value: 1 });
  assert.deepEqual(
    f.map((x) => x.name),
    ['x', 'main'],
  );
});
