import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SqliteSnapshotStore, buildRow, getSnapshotStore, isValidPublicToken, type SnapshotStore } from '../server/snapshots';
import { MIGRATIONS, insertArgs, insertSql } from '../server/snapshot-table';
import { PgSnapshotStore, StoreUnavailableError } from '../server/snapshots-pg';
import { listSnapshots } from '../server/api';
import { newId, isValidId } from '../server/ids';
import { profileFromLines, tempDir } from './helpers';
import { postgresUnavailable, startPostgres, type TestPostgres } from './postgres';

const dirs: string[] = [];
function sqliteFile(): string {
  const d = tempDir();
  dirs.push(d);
  return path.join(d, 'bpfscope.db');
}

// The PostgreSQL half runs against a real server: a throwaway cluster started here.
const pgSkip = postgresUnavailable();
if (pgSkip) console.log(`# PostgreSQL store tests skipped: ${pgSkip}`);
let server: TestPostgres | undefined;
before(async () => {
  if (!pgSkip) server = await startPostgres();
});
after(() => {
  server?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** What differs between the two stores for the shared suite. */
interface Backend {
  kind: 'sqlite' | 'postgres';
  skip: string | false;
  /** An empty store. */
  fresh(): Promise<SnapshotStore>;
  /** Makes every insert of a snapshot named `doomed` fail inside the database. */
  failInsertsNamed(store: SnapshotStore, name: string): Promise<void>;
}

const BACKENDS: Backend[] = [
  {
    kind: 'sqlite',
    skip: false,
    fresh: async () => new SqliteSnapshotStore(sqliteFile()),
    async failInsertsNamed(store, name) {
      (store as SqliteSnapshotStore).db.exec(
        `CREATE TRIGGER fail_insert BEFORE INSERT ON snapshots WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END;`,
      );
    },
  },
  {
    kind: 'postgres',
    skip: pgSkip ?? false,
    fresh: async () => new PgSnapshotStore(await server!.createDatabase()),
    async failInsertsNamed(store, name) {
      const c = new pg.Client({ connectionString: (store as PgSnapshotStore).url });
      await c.connect();
      await store.count(); // migrations done
      await c.query(`CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN
          IF NEW.name = '${name}' THEN RAISE EXCEPTION 'simulated disk failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER fail_insert BEFORE INSERT ON snapshots FOR EACH ROW EXECUTE FUNCTION fail_insert();`);
      await c.end();
    },
  },
];

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

for (const backend of BACKENDS)
  describe(`SnapshotStore (${backend.kind})`, { skip: backend.skip }, () => {
    const freshStore = backend.fresh;
    test('save and get round-trip the profile and its metadata', async () => {
      const store = await freshStore();
      const p = profileFromLines(
        ['nginx;main;serve;read 7', 'nginx;main;serve;write 3', '<img src=x onerror=alert(1)>;main 2'],
        {
          tool: 'profile',
          host: 'web-1',
          kernel: '6.18.0',
          startTime: 1_700_000_000_000,
          durationMs: 5000,
          options: { frequency: 99, pid: [1, 2] },
          loss: { userStackMissing: 4 },
        },
        {
          timeline: { resolutionMs: 10, startTime: 1_700_000_000_000, offsetMs: [0, 10, 20], stack: [0, 1, 2], count: [7, 3, 2] },
        },
      );
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

      const got = (await store.get(meta.id))!;
      assert.ok(got);
      assert.deepEqual(got.snapshot, meta);
      assert.equal(got.profile.total, 12);
      assert.equal(got.profile.stacks.length, 3);
      const names = got.profile.stacks.map((s) => s.frames.map((f) => got.profile.frames[f]!.name).join(';') + ' ' + s.weight).sort();
      assert.deepEqual(names, ['<img src=x onerror=alert(1)>;main 2', 'nginx;main;serve;read 7', 'nginx;main;serve;write 3']);
      assert.deepEqual(got.profile.timeline?.count, [7, 3, 2]);
      assert.equal(got.profile.meta.name, 'before deploy');
      // the API form carries encodeProfile's JSON
      const api = (await store.getApiJson(meta.id))!;
      assert.equal(api.snapshot.id, meta.id);
      assert.equal(typeof api.profile, 'object');
      // the text fast path is the same document
      assert.deepEqual(JSON.parse((await store.getApiJsonText(meta.id))!.text), api);
      await store.close();
    });

    test('histogram-only (biolatency) profiles are stored with their intervals', async () => {
      const store = await freshStore();
      const p = profileFromLines(
        [],
        { tool: 'biolatency', host: 'db-1' },
        {
          unit: 'count',
          total: 6,
          histograms: { unit: 'usecs', keyKind: 'disk', intervals: [{ start: 1, end: 2, key: 'sda', slots: [0, 1, 5] }] },
        },
      );
      const meta = await store.save(p);
      assert.match(meta.name, /^biolatency on db-1 /);
      const got = (await store.get(meta.id))!;
      assert.deepEqual(got.profile.histograms?.intervals[0]?.slots, [0, 1, 5]);
      assert.equal(got.profile.histograms?.keyKind, 'disk');
      await store.close();
    });

    test('list is newest first and searches name, host and tool', async () => {
      const store = await freshStore();
      const a = await store.save(profileFromLines(['a;x 1'], { tool: 'profile', host: 'alpha' }), { name: 'checkout latency' });
      const b = await store.save(profileFromLines(['b;y 2'], { tool: 'offcputime', host: 'beta' }), { name: 'db stall 50%_done' });
      const c = await store.save(profileFromLines(['c;z 3'], { tool: 'import' }), { name: 'perf import', notes: 'from staging' });
      assert.deepEqual(
        (await store.list()).map((s) => s.id),
        [c.id, b.id, a.id],
      );
      assert.deepEqual(Object.keys((await store.list())[0]!).sort(), ['createdAt', 'host', 'id', 'name', 'tool', 'total', 'unit']);
      assert.deepEqual(
        (await store.list('CHECKOUT')).map((s) => s.id),
        [a.id],
      );
      assert.deepEqual(
        (await store.list('beta')).map((s) => s.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.list('offcpu')).map((s) => s.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.list('staging')).map((s) => s.id),
        [c.id],
      );
      assert.deepEqual(
        (await store.list('tool:profile')).map((s) => s.id),
        [a.id],
      );
      assert.deepEqual(
        (await store.list('host:alpha latency')).map((s) => s.id),
        [a.id],
      );
      assert.deepEqual(
        (await store.list('host:alpha stall')).map((s) => s.id),
        [],
      );
      // LIKE wildcards are literal
      assert.deepEqual(
        (await store.list('50%_')).map((s) => s.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.list('%')).map((s) => s.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.list('_')).map((s) => s.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.list("' OR 1=1 --")).map((s) => s.id),
        [],
      );
      assert.equal((await store.list(undefined, 2)).length, 2);
      await store.close();
    });

    test('delete removes one snapshot and reports unknown ids', async () => {
      const store = await freshStore();
      const a = await store.save(profileFromLines(['a;x 1']), { name: 'a' });
      const b = await store.save(profileFromLines(['b;x 1']), { name: 'b' });
      assert.equal(await store.delete(a.id), true);
      assert.equal(await store.get(a.id), null);
      assert.equal(await store.delete(a.id), false);
      assert.equal(await store.delete('nonexistent'), false);
      assert.equal(await store.delete('../../x'), false);
      assert.ok(await store.get(b.id));
      assert.equal(await store.count(), 1);
      await store.close();
    });

    test('bad names and unencodable profiles are refused before anything is written', async () => {
      const store = await freshStore();
      const keep = await store.save(profileFromLines(['a;x 1']), { name: 'keep' });
      await assert.rejects(store.save(profileFromLines(['a;x 1']), { name: 'x'.repeat(201) }), /name is 201 characters long; the limit is 200/);
      await assert.rejects(store.save(profileFromLines(['a;x 1']), { name: 5 as unknown as string }), /name must be a string/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await assert.rejects(store.save(profileFromLines(['a;x 1'], { options: cyclic })), /circular|cyclic/i);
      await assert.rejects(store.save({ unit: 'samples' } as never), /frames and stacks/);
      assert.equal(await store.count(), 1);
      assert.ok(await store.get(keep.id));
      await store.close();
    });

    test('a write that fails inside the transaction leaves no row and keeps old data', async () => {
      const store = await freshStore();
      const keep = await store.save(profileFromLines(['a;x 1']), { name: 'keep' });
      // simulate a failure at the moment of writing (e.g. disk full): the insert aborts
      await backend.failInsertsNamed(store, 'doomed');
      await assert.rejects(store.save(profileFromLines(['b;y 2']), { name: 'doomed' }), /simulated disk failure/);
      assert.equal(await store.count(), 1);
      assert.deepEqual(
        (await store.list()).map((s) => s.id),
        [keep.id],
      );
      assert.equal((await store.get(keep.id))!.profile.total, 1);
      await store.close();
    });

    test('public links: ≥ 120 random bits, stable while public, gone when made private or deleted', async () => {
      const store = await freshStore();
      const a = await store.save(profileFromLines(['a;x 1']), { name: 'a' });
      assert.equal((await store.getMeta(a.id))!.publicToken, null);
      const t1 = (await store.setPublic(a.id, true))!;
      assert.ok(isValidPublicToken(t1), t1);
      assert.ok(t1.length * Math.log2(62) >= 120);
      assert.equal(await store.setPublic(a.id, true), t1, 'making it public again keeps the link');
      assert.equal((await store.getMeta(a.id))!.publicToken, t1);
      assert.equal(await store.findPublic(t1), a.id);
      assert.equal(await store.findPublic(t1.slice(0, -1) + (t1.endsWith('a') ? 'b' : 'a')), null);
      assert.equal(await store.findPublic("' OR 1=1 --"), null);
      assert.equal(await store.setPublic(a.id, false), null);
      assert.equal(await store.findPublic(t1), null, 'the old link stops working');
      const t2 = (await store.setPublic(a.id, true))!;
      assert.notEqual(t2, t1, 'a new link, not the revoked one');
      assert.equal(await store.setPublic('nonexistent', true), undefined);
      assert.equal(await store.delete(a.id), true);
      assert.equal(await store.findPublic(t2), null);
      await store.close();
    });

    test('killing the writer mid-save (SIGKILL) never leaves a half snapshot and loses nothing acknowledged', async () => {
      let target: string;
      if (backend.kind === 'sqlite') target = sqliteFile();
      else {
        target = await server!.createDatabase();
        await new PgSnapshotStore(target).close(); // schema in place before the writer starts
      }
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(import.meta.dirname, 'fixtures/crash-writer.ts'), target], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (b) => (err += b));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`writer made no progress: ${err}`)), 30000);
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
        // PostgreSQL: the database server dies at the same moment (kill -9, no shutdown), then
        // restarts and recovers from its WAL
        if (backend.kind === 'postgres') server!.crash();
        await exited;
      }
      if (backend.kind === 'sqlite') {
        const raw = new Database(target);
        assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
        raw.close();
      } else server!.start();
      const acknowledged = [...out.matchAll(/saved (\d+)/g)].map((m) => `crash ${Number(m[1]) - 1}`);
      const store = backend.kind === 'sqlite' ? new SqliteSnapshotStore(target) : new PgSnapshotStore(target);
      const list = await store.list();
      const names = new Set(list.map((s) => s.name));
      for (const n of acknowledged)
        assert.ok(names.has(n), `acknowledged snapshot "${n}" survived (${list.length} stored, ${acknowledged.length} acknowledged)`);
      for (const s of list) {
        const got = (await store.get(s.id))!;
        assert.equal(got.profile.stacks.length, 3000, `snapshot ${s.name} is complete`);
        assert.equal(got.profile.total, got.snapshot.total);
      }
      await store.close();
    });
  });

test('getSnapshotStore opens $BPFSCOPE_DATA_DIR/bpfscope.db once per process (globalThis)', async () => {
  const d = tempDir();
  dirs.push(d);
  const env = { BPFSCOPE_DATA_DIR: d };
  const s1 = getSnapshotStore(env) as SqliteSnapshotStore;
  const s2 = getSnapshotStore(env);
  assert.equal(s1, s2);
  assert.equal(s1.kind, 'sqlite');
  assert.equal(s1.file, path.join(d, 'bpfscope.db'));
  assert.ok(fs.existsSync(s1.file));
  assert.equal(s1.db.pragma('journal_mode', { simple: true }), 'wal');
  await s1.close();
});

test('getSnapshotStore uses PostgreSQL when BPFSCOPE_DATABASE_URL is set', { skip: pgSkip ?? false }, async () => {
  const url = await server!.createDatabase();
  const d = tempDir();
  dirs.push(d);
  const env = { BPFSCOPE_DATA_DIR: d, BPFSCOPE_DATABASE_URL: url };
  const s1 = getSnapshotStore(env);
  assert.equal(getSnapshotStore(env), s1);
  assert.equal(s1.kind, 'postgres');
  assert.equal(await s1.count(), 0);
  assert.ok(!fs.existsSync(path.join(d, 'bpfscope.db')), 'no SQLite file is made');
  await s1.close();
});

test('a bad BPFSCOPE_DATABASE_URL is refused with what to do', () => {
  assert.throws(() => getSnapshotStore({ BPFSCOPE_DATABASE_URL: 'mysql://x' }), /BPFSCOPE_DATABASE_URL must be a postgres:\/\/ .*unset it to use SQLite/);
});

test('PostgreSQL: an unreachable database fails requests with a clear error (503 from the API), password never shown', async () => {
  const s = new PgSnapshotStore('postgres://nobody:secret@127.0.0.1:1/none');
  await assert.rejects(
    s.list(),
    (e: Error) =>
      e instanceof StoreUnavailableError &&
      /snapshot database is unreachable: cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/.test(e.message) &&
      !e.message.includes('secret'),
  );
  const r = await listSnapshots(new Request('http://127.0.0.1:3000/api/snapshots'), { store: () => s, env: {} });
  assert.equal(r.status, 503);
  const body = await r.json();
  assert.match(body.error, /snapshot database is unreachable/);
  assert.ok(!JSON.stringify(body).includes('secret'));
  await s.close();
});

test('PostgreSQL: a console recovers by itself when its database restarts or was down when it started', { skip: pgSkip ?? false }, async () => {
  const url = await server!.createDatabase();
  const running = new PgSnapshotStore(url);
  const a = await running.save(profileFromLines(['a;x 1']), { name: 'before the restart' });
  server!.crash();
  await assert.rejects(running.list(), StoreUnavailableError);
  const startedWhileDown = new PgSnapshotStore(url);
  await assert.rejects(startedWhileDown.count(), StoreUnavailableError);
  server!.start();
  for (const store of [running, startedWhileDown]) {
    // a pooled connection that died with the server may fail one more request; then it is back
    let ids: string[] | undefined;
    for (let i = 0; i < 3 && !ids; i++)
      ids = await store.list().then(
        (l) => l.map((x) => x.id),
        () => undefined,
      );
    assert.deepEqual(ids, [a.id]);
  }
  await running.close();
  await startedWhileDown.close();
});

test('PostgreSQL: two stores migrating one database at once agree on one schema', { skip: pgSkip ?? false }, async () => {
  const url = await server!.createDatabase();
  const stores = [new PgSnapshotStore(url), new PgSnapshotStore(url), new PgSnapshotStore(url)];
  const saved = await Promise.all(stores.map((s, i) => s.save(profileFromLines(['a;x 1']), { name: `r${i}` })));
  for (const s of stores) assert.deepEqual((await s.list()).map((x) => x.id).sort(), saved.map((x) => x.id).sort());
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query('SELECT version FROM bpfscope_migrations ORDER BY version');
  await c.end();
  assert.deepEqual(
    rows.map((r) => r.version),
    [1, 2],
  );
  for (const s of stores) await s.close();
});

test('the one table description: the INSERT writes every field of a new row, in both dialects', async () => {
  const row = await buildRow(profileFromLines(['a;x 1']), { name: 'n' });
  const columns = (sql: string) => /\(([^)]*)\) VALUES/.exec(sql)![1]!.split(', ');
  assert.deepEqual(columns(insertSql('sqlite')).sort(), Object.keys(row).sort());
  assert.deepEqual(columns(insertSql('postgres')), columns(insertSql('sqlite')));
  assert.deepEqual(
    insertArgs(row),
    columns(insertSql('sqlite')).map((c) => row[c as keyof typeof row]),
  );
  assert.match(insertSql('postgres'), /VALUES \(\$1, \$2, .*\$20\)$/);
  // every column of schema 1 is created with the same name in both dialects
  const created = (sql: string) => [...sql.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]).filter((c) => c !== 'seq');
  assert.deepEqual(created(MIGRATIONS[0]!('postgres')), created(MIGRATIONS[0]!('sqlite')));
  assert.deepEqual(created(MIGRATIONS[0]!('sqlite')).sort(), Object.keys(row).sort());
});

test('SQLite: a schema-1 database (before public links) is migrated in place', async () => {
  const file = sqliteFile();
  const raw = new Database(file);
  raw.exec(`CREATE TABLE snapshots (id TEXT PRIMARY KEY, name TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '', tool TEXT NOT NULL, host TEXT NOT NULL DEFAULT '',
    kernel TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, start_time INTEGER, duration_ms INTEGER, total REAL NOT NULL, unit TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', loss TEXT NOT NULL DEFAULT '{}', format TEXT, stack_count INTEGER NOT NULL, frame_count INTEGER NOT NULL,
    codec TEXT NOT NULL, encoding TEXT NOT NULL, stored_bytes INTEGER NOT NULL, profile BLOB NOT NULL) STRICT;`);
  raw.pragma('user_version = 1');
  raw.close();
  const store = new SqliteSnapshotStore(file);
  const a = await store.save(profileFromLines(['a;x 1']), { name: 'after upgrade' });
  assert.ok(await store.setPublic(a.id, true));
  assert.equal(store.db.pragma('user_version', { simple: true }), 2);
  await store.close();
});
