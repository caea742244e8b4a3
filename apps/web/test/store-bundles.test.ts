/**
 * Next.js gives each route bundle its own copy of the hub's modules, while the snapshot store lives
 * on globalThis: a store made through one copy must serve the others (an instanceof check closed it
 * under another route's request: "The database connection is not open"), and its validation errors
 * must still be recognised as such (400, not 500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a store made by another copy of the module is reused, stays open, and its errors are recognised', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfscope-bundles-'));
  const env = { BPFSCOPE_DATA_DIR: dir };
  const one = await import('../server/snapshots.js');
  const two = (await import(`../server/snapshots.js?copy=${Date.now()}`)) as typeof one;
  assert.notEqual(one.SqliteSnapshotStore, two.SqliteSnapshotStore, 'two module instances');
  try {
    const a = two.getSnapshotStore(env);
    const b = one.getSnapshotStore(env);
    assert.equal(b, a, 'the same store');
    assert.ok(a.isOpen(), 'still open');
    assert.equal(await b.count(), 0);
    assert.ok(new two.SnapshotValidationError('name', 'bad name') instanceof one.SnapshotValidationError);
    assert.ok(!(new Error('x') instanceof one.SnapshotValidationError));
  } finally {
    await one.getSnapshotStore(env).close();
    rmSync(dir, { recursive: true, force: true });
  }
});
