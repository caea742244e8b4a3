import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { SnapshotStore, getSnapshotStore } from '../server/snapshots';
import { newId, isValidId } from '../server/ids';
import { profileFromLines, tempDir } from './helpers';

const dirs: string[] = [];
function freshStore(): SnapshotStore {
  const d = tempDir();
  dirs.push(d);
  return new SnapshotStore(path.join(d, 'bpfscope.db'));
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('ids', () => {
  test('10 base62 characters, unique, URL-safe', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newId();
      assert.match(id, /^[0-9A-Za-z]{10}$/);
      assert.ok(isValidId(id));
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
    assert.equal(isValidId('../etc/passwd'), false);
    assert.equal(isValidId("x' OR 1=1"), false);
  });
});

describe('SnapshotStore', () => {
  test('save and get round-trip the profile and its metadata', async () => {
    const store = freshStore();
    const p = profileFromLines(['nginx;main;serve;read 7', 'nginx;main;serve;write 3', '<img src=x onerror=alert(1)>;main 2'], {
      tool: 'profile',
      host: 'web-1',
      kernel: '6.18.0',
      startTime: 1_700_000_000_000,
      durationMs: 5000,
      options: { frequency: 99, pid: [1, 2] },
      loss: { userStackMissing: 4 },
    }, {
      timeline: { resolutionMs: 10, startTime: 1_700_000_000_000, offsetMs: [0, 10, 20], stack: [0, 1, 2], count: [7, 3, 2] },
    });
    const meta = await store.save(p, { name: 'before deploy', notes: 'line one\nline two' });
    assert.match(meta.id, /^[0-9A-Za-z]{10}$/);
    assert.equal(meta.name, 'before deploy');
    assert.equal(meta.notes, 'line one\nline two');
    assert.equal(meta.tool, 'profile');
    assert.equal(meta.host, 'web-1');
    assert.equal(meta.kernel, '6.18.0');
    assert.equal(meta.total, 12);
    assert.equal(meta.unit, 'samples');
    assert.deepEqual(meta.options, { frequency: 99, pid: [1, 2] });
    assert.deepEqual(meta.loss, { userStackMissing: 4 });
    assert.equal(meta.durationMs, 5000);
    assert.equal(meta.stackCount, 3);
    assert.ok(meta.storedBytes > 0);

    const got = store.get(meta.id)!;
    assert.ok(got);
    assert.deepEqual(got.snapshot, meta);
    assert.equal(got.profile.total, 12);
    assert.equal(got.profile.stacks.length, 3);
    const names = got.profile.stacks.map((s) => s.frames.map((f) => got.profile.frames[f]!.name).join(';') + ' ' + s.weight).sort();
    assert.deepEqual(names, ['<img src=x onerror=alert(1)>;main 2', 'nginx;main;serve;read 7', 'nginx;main;serve;write 3']);
    assert.deepEqual(got.profile.timeline?.count, [7, 3, 2]);
    assert.equal(got.profile.meta.name, 'before deploy');
    // the API form carries encodeProfile's JSON
    const api = store.getApiJson(meta.id)!;
    assert.equal(api.snapshot.id, meta.id);
    assert.equal(typeof api.profile, 'object');
    // the text fast path is the same document
    assert.deepEqual(JSON.parse(store.getApiJsonText(meta.id)!.text), api);
    store.close();
  });

  test('histogram-only (biolatency) profiles are stored with their intervals', async () => {
    const store = freshStore();
    const p = profileFromLines([], { tool: 'biolatency', host: 'db-1' }, {
      unit: 'count',
      total: 6,
      histograms: { unit: 'usecs', keyKind: 'disk', intervals: [{ start: 1, end: 2, key: 'sda', slots: [0, 1, 5] }] },
    });
    const meta = await store.save(p);
    assert.match(meta.name, /^biolatency on db-1 /);
    const got = store.get(meta.id)!;
    assert.deepEqual(got.profile.histograms?.intervals[0]?.slots, [0, 1, 5]);
    assert.equal(got.profile.histograms?.keyKind, 'disk');
    store.close();
  });

  test('list is newest first and searches name, host and tool', async () => {
    const store = freshStore();
    const a = await store.save(profileFromLines(['a;x 1'], { tool: 'profile', host: 'alpha' }), { name: 'checkout latency' });
    const b = await store.save(profileFromLines(['b;y 2'], { tool: 'offcputime', host: 'beta' }), { name: 'db stall 50%_done' });
    const c = await store.save(profileFromLines(['c;z 3'], { tool: 'import' }), { name: 'perf import', notes: 'from staging' });
    assert.deepEqual(store.list().map((s) => s.id), [c.id, b.id, a.id]);
    assert.deepEqual(Object.keys(store.list()[0]!).sort(), ['createdAt', 'host', 'id', 'name', 'tool', 'total', 'unit']);
    assert.deepEqual(store.list('CHECKOUT').map((s) => s.id), [a.id]);
    assert.deepEqual(store.list('beta').map((s) => s.id), [b.id]);
    assert.deepEqual(store.list('offcpu').map((s) => s.id), [b.id]);
    assert.deepEqual(store.list('staging').map((s) => s.id), [c.id]);
    assert.deepEqual(store.list('tool:profile').map((s) => s.id), [a.id]);
    assert.deepEqual(store.list('host:alpha latency').map((s) => s.id), [a.id]);
    assert.deepEqual(store.list('host:alpha stall').map((s) => s.id), []);
    // LIKE wildcards are literal
    assert.deepEqual(store.list('50%_').map((s) => s.id), [b.id]);
    assert.deepEqual(store.list('%').map((s) => s.id), [b.id]);
    assert.deepEqual(store.list('_').map((s) => s.id), [b.id]);
    assert.deepEqual(store.list("' OR 1=1 --").map((s) => s.id), []);
    assert.equal(store.list(undefined, 2).length, 2);
    store.close();
  });

  test('delete removes one snapshot and reports unknown ids', async () => {
    const store = freshStore();
    const a = await store.save(profileFromLines(['a;x 1']), { name: 'a' });
    const b = await store.save(profileFromLines(['b;x 1']), { name: 'b' });
    assert.equal(store.delete(a.id), true);
    assert.equal(store.get(a.id), null);
    assert.equal(store.delete(a.id), false);
    assert.equal(store.delete('nonexistent'), false);
    assert.equal(store.delete('../../x'), false);
    assert.ok(store.get(b.id));
    assert.equal(store.count(), 1);
    store.close();
  });

  test('bad names and unencodable profiles are refused before anything is written', async () => {
    const store = freshStore();
    const keep = await store.save(profileFromLines(['a;x 1']), { name: 'keep' });
    await assert.rejects(store.save(profileFromLines(['a;x 1']), { name: 'x'.repeat(201) }), /name is 201 characters long; the limit is 200/);
    await assert.rejects(store.save(profileFromLines(['a;x 1']), { name: 5 as unknown as string }), /name must be a string/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(store.save(profileFromLines(['a;x 1'], { options: cyclic })), /circular|cyclic/i);
    await assert.rejects(store.save({ unit: 'samples' } as never), /frames and stacks/);
    assert.equal(store.count(), 1);
    assert.ok(store.get(keep.id));
    store.close();
  });

  test('a write that fails inside the transaction leaves no row and keeps old data', async () => {
    const store = freshStore();
    const keep = await store.save(profileFromLines(['a;x 1']), { name: 'keep' });
    // simulate a failure at the moment of writing (e.g. disk full): the insert aborts
    store.db.exec(`CREATE TRIGGER fail_insert BEFORE INSERT ON snapshots WHEN NEW.name = 'doomed' BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;`);
    await assert.rejects(store.save(profileFromLines(['b;y 2']), { name: 'doomed' }), /simulated disk failure/);
    assert.equal(store.count(), 1);
    assert.deepEqual(store.list().map((s) => s.id), [keep.id]);
    assert.equal(store.get(keep.id)!.profile.total, 1);
    store.close();
  });

  test('killing the writer mid-save (SIGKILL) never leaves a half snapshot', async () => {
    const d = tempDir();
    dirs.push(d);
    const file = path.join(d, 'bpfscope.db');
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(import.meta.dirname, 'fixtures/crash-writer.ts'), file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`writer made no progress: ${err}`)), 20000);
        child.stdout.on('data', (b) => {
          out += b;
          if ((out.match(/saved/g) ?? []).length >= 5) {
            clearTimeout(t);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`writer exited early: ${err}`)));
      });
      // kill at a random moment while it keeps writing
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const raw = new Database(file);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    raw.close();
    const store = new SnapshotStore(file);
    const list = store.list();
    assert.ok(list.length >= 5, `at least the 5 acknowledged snapshots survive (got ${list.length})`);
    for (const s of list) {
      const got = store.get(s.id)!;
      assert.equal(got.profile.stacks.length, 3000, `snapshot ${s.name} is complete`);
      assert.equal(got.profile.total, got.snapshot.total);
    }
    store.close();
  });

  test('getSnapshotStore opens $BPFSCOPE_DATA_DIR/bpfscope.db once per process (globalThis)', () => {
    const d = tempDir();
    dirs.push(d);
    const prev = process.env.BPFSCOPE_DATA_DIR;
    process.env.BPFSCOPE_DATA_DIR = d;
    try {
      const s1 = getSnapshotStore();
      const s2 = getSnapshotStore();
      assert.equal(s1, s2);
      assert.equal(s1.file, path.join(d, 'bpfscope.db'));
      assert.ok(fs.existsSync(s1.file));
      assert.equal(s1.db.pragma('journal_mode', { simple: true }), 'wal');
      s1.close();
    } finally {
      if (prev === undefined) delete process.env.BPFSCOPE_DATA_DIR;
      else process.env.BPFSCOPE_DATA_DIR = prev;
    }
  });
});
