/**
 * Snapshot store: one SQLite table (better-sqlite3, WAL) with metadata columns and the encoded
 * profile as a gzip-compressed BLOB (brotli is read too). A snapshot is written by one INSERT inside a transaction,
 * so a crash leaves either the whole row or nothing; the profile is encoded and compressed
 * before the transaction starts, so a bad profile never reaches the database.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { LossStats, Profile, Unit } from '@bpfscope/viz';
import { dataDir } from './config';
import { newId, isValidId } from './ids';
import { decodeFromStore, encodeForStore, encodedAsObject } from './viz';

const gzip = promisify(zlib.gzip);

/** What `GET /api/snapshots` lists. */
export interface SnapshotSummary {
  id: string;
  name: string;
  tool: string;
  host: string;
  createdAt: number;
  total: number;
  unit: Unit | string;
}

/** Full metadata (`GET /api/snapshots/<id>?format=json` → `snapshot`). */
export interface SnapshotMeta extends SnapshotSummary {
  notes: string;
  kernel: string;
  options: Record<string, unknown>;
  loss: LossStats;
  durationMs: number | null;
  startTime: number | null;
  /** for imports: the detected format. */
  format: string | null;
  stackCount: number;
  frameCount: number;
  /** compressed size of the stored profile in bytes. */
  storedBytes: number;
}

export interface SaveInput {
  name?: string;
  notes?: string;
}

interface Row {
  id: string;
  name: string;
  notes: string;
  tool: string;
  host: string;
  kernel: string;
  created_at: number;
  start_time: number | null;
  duration_ms: number | null;
  total: number;
  unit: string;
  options: string;
  loss: string;
  format: string | null;
  stack_count: number;
  frame_count: number;
  codec: string;
  encoding: string;
  stored_bytes: number;
}

const SCHEMA_VERSION = 1;
const NAME_MAX = 200;
const NOTES_MAX = 10_000;

export class SnapshotValidationError extends Error {
  override name = 'SnapshotValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function cleanText(field: string, v: unknown, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new SnapshotValidationError(field, `${field} must be a string`);
  // control characters other than tab/newline are dropped: names are shown in lists and titles.
  const s = v.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  if (s.length > max) throw new SnapshotValidationError(field, `${field} is ${s.length} characters long; the limit is ${max}`);
  return s;
}

/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". */
function likeTerm(t: string): string {
  return '%' + t.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

function defaultName(p: Profile): string {
  const tool = p.meta.tool ?? 'profile';
  const when = new Date(p.meta.startTime ?? Date.now()).toISOString().replace('T', ' ').slice(0, 19);
  if (tool === 'import') return p.meta.source?.fileName || `import ${when}`;
  return `${tool}${p.meta.host ? ' on ' + p.meta.host : ''} ${when}`;
}

export class SnapshotStore {
  readonly db: Database.Database;
  readonly file: string;
  private insertStmt: Database.Statement;
  private getStmt: Database.Statement;
  private deleteStmt: Database.Statement;

  constructor(file: string) {
    this.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(`${file} was written by a newer bpfscope (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade bpfscope or use another BPFSCOPE_DATA_DIR`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS snapshots (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        notes        TEXT NOT NULL DEFAULT '',
        tool         TEXT NOT NULL,
        host         TEXT NOT NULL DEFAULT '',
        kernel       TEXT NOT NULL DEFAULT '',
        created_at   INTEGER NOT NULL,
        start_time   INTEGER,
        duration_ms  INTEGER,
        total        REAL NOT NULL,
        unit         TEXT NOT NULL,
        options      TEXT NOT NULL DEFAULT '{}',
        loss         TEXT NOT NULL DEFAULT '{}',
        format       TEXT,
        stack_count  INTEGER NOT NULL,
        frame_count  INTEGER NOT NULL,
        codec        TEXT NOT NULL,
        encoding     TEXT NOT NULL,
        stored_bytes INTEGER NOT NULL,
        profile      BLOB NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS snapshots_created ON snapshots(created_at DESC);
    `);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.insertStmt = this.db.prepare(`INSERT INTO snapshots
      (id, name, notes, tool, host, kernel, created_at, start_time, duration_ms, total, unit, options, loss, format,
       stack_count, frame_count, codec, encoding, stored_bytes, profile)
      VALUES (@id, @name, @notes, @tool, @host, @kernel, @created_at, @start_time, @duration_ms, @total, @unit, @options, @loss,
       @format, @stack_count, @frame_count, @codec, @encoding, @stored_bytes, @profile)`);
    this.getStmt = this.db.prepare('SELECT * FROM snapshots WHERE id = ?');
    this.deleteStmt = this.db.prepare('DELETE FROM snapshots WHERE id = ?');
  }

  /** Encodes, compresses and stores a profile. Resolves with the stored metadata. */
  async save(profile: Profile, input: SaveInput = {}): Promise<SnapshotMeta> {
    if (!profile || !Array.isArray(profile.stacks) || !Array.isArray(profile.frames))
      throw new SnapshotValidationError('profile', 'profile must have frames and stacks');
    const name = cleanText('name', input.name, NAME_MAX) || cleanText('name', profile.meta.name, NAME_MAX) || defaultName(profile);
    const notes = cleanText('notes', input.notes ?? profile.meta.notes, NOTES_MAX);
    const meta = profile.meta ?? {};
    const stored: Profile = { ...profile, meta: { ...meta, name, notes: notes || undefined } };
    const { codec, json } = encodeForStore(stored);
    // gzip level 6: about 5x faster than brotli q5 on 200k-stack profiles for ~30% more bytes;
    // saving sits between "capture ended" and "snapshot link shown", so speed wins.
    const blob = await gzip(Buffer.from(json, 'utf8'), { level: 6 });
    const row: Omit<Row, 'id'> & { id: string; profile: Buffer } = {
      id: newId(),
      name,
      notes,
      tool: meta.tool ?? 'import',
      host: meta.host ?? '',
      kernel: meta.kernel ?? '',
      created_at: Date.now(),
      start_time: meta.startTime ?? null,
      duration_ms: meta.durationMs != null ? Math.round(meta.durationMs) : null,
      total: Number.isFinite(profile.total) ? profile.total : 0,
      unit: profile.unit,
      options: JSON.stringify(meta.options ?? {}),
      loss: JSON.stringify(meta.loss ?? {}),
      format: meta.source?.format ?? null,
      stack_count: profile.stacks.length,
      frame_count: profile.frames.length,
      codec,
      encoding: 'gzip',
      stored_bytes: blob.length,
      profile: blob,
    };
    const tx = this.db.transaction(() => {
      // an id collision (62^10 space) is retried with a fresh id rather than failing the save.
      for (let i = 0; i < 5; i++) {
        try {
          this.insertStmt.run(row);
          return;
        } catch (e) {
          if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw e;
          row.id = newId();
        }
      }
      throw new Error('could not allocate a snapshot id');
    });
    tx();
    return this.getMeta(row.id)!;
  }

  getMeta(id: string): SnapshotMeta | null {
    if (!isValidId(id)) return null;
    const r = this.db.prepare(`SELECT ${META_COLS} FROM snapshots WHERE id = ?`).get(id) as Row | undefined;
    return r ? toMeta(r) : null;
  }

  /** The stored encoding as JSON text (no decode), for `?format=json`. */
  getEncoded(id: string): { snapshot: SnapshotMeta; codec: string; json: string } | null {
    if (!isValidId(id)) return null;
    const r = this.getStmt.get(id) as (Row & { profile: Buffer }) | undefined;
    if (!r) return null;
    return { snapshot: toMeta(r), codec: r.codec, json: inflate(r) };
  }

  /** The snapshot's metadata and decoded profile, or null when the id is unknown. */
  get(id: string): { snapshot: SnapshotMeta; profile: Profile } | null {
    const e = this.getEncoded(id);
    if (!e) return null;
    return { snapshot: e.snapshot, profile: decodeFromStore(e.codec, e.json) };
  }

  /** `{snapshot, profile}` with the profile as encodeProfile's JSON value, as the API returns it. */
  getApiJson(id: string): { snapshot: SnapshotMeta; profile: unknown } | null {
    const e = this.getEncoded(id);
    if (!e) return null;
    return { snapshot: e.snapshot, profile: encodedAsObject(e.codec, e.json) };
  }

  /**
   * The same document as getApiJson, as JSON text, without parsing and re-serializing the stored
   * profile (it is already encodeProfile's JSON text): the fast path for `GET ?format=json`.
   */
  getApiJsonText(id: string): { snapshot: SnapshotMeta; text: string } | null {
    const e = this.getEncoded(id);
    if (!e) return null;
    const profile = e.codec === 'viz' ? e.json : JSON.stringify(encodedAsObject(e.codec, e.json));
    return { snapshot: e.snapshot, text: `{"snapshot":${JSON.stringify(e.snapshot)},"profile":${profile}}` };
  }

  /**
   * Newest first. `q` is split on whitespace; every term must occur (case-insensitively) in the
   * name, host, tool or notes. `tool:x` / `host:x` restrict a term to one column.
   */
  list(q?: string, limit = 1000): SnapshotSummary[] {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const raw of (q ?? '').trim().split(/\s+/).filter(Boolean).slice(0, 16)) {
      const m = /^(tool|host|name):(.+)$/i.exec(raw);
      if (m) {
        where.push(`${m[1]!.toLowerCase()} LIKE ? ESCAPE '\\'`);
        args.push(likeTerm(m[2]!));
      } else {
        where.push(`(name LIKE ? ESCAPE '\\' OR host LIKE ? ESCAPE '\\' OR tool LIKE ? ESCAPE '\\' OR notes LIKE ? ESCAPE '\\')`);
        const t = likeTerm(raw);
        args.push(t, t, t, t);
      }
    }
    const sql = `SELECT id, name, tool, host, created_at, total, unit FROM snapshots ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    args.push(Math.max(1, Math.min(limit, 10000)));
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => ({
      id: r.id,
      name: r.name,
      tool: r.tool,
      host: r.host,
      createdAt: r.created_at,
      total: r.total,
      unit: r.unit,
    }));
  }

  /** true when a snapshot was deleted, false when the id was unknown. */
  delete(id: string): boolean {
    if (!isValidId(id)) return false;
    return this.deleteStmt.run(id).changes > 0;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

const META_COLS =
  'id, name, notes, tool, host, kernel, created_at, start_time, duration_ms, total, unit, options, loss, format, stack_count, frame_count, codec, encoding, stored_bytes';

function inflate(r: Row & { profile: Buffer }): string {
  if (r.encoding === 'br') return zlib.brotliDecompressSync(r.profile).toString('utf8');
  if (r.encoding === 'gzip') return zlib.gunzipSync(r.profile).toString('utf8');
  throw new Error(`snapshot ${r.id} has an unknown encoding ${r.encoding}`);
}

function parseObj(s: string): Record<string, unknown> {
  try {
    const v = JSON.parse(s);
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function toMeta(r: Row): SnapshotMeta {
  return {
    id: r.id,
    name: r.name,
    notes: r.notes,
    tool: r.tool,
    host: r.host,
    kernel: r.kernel,
    createdAt: r.created_at,
    startTime: r.start_time,
    durationMs: r.duration_ms,
    total: r.total,
    unit: r.unit,
    options: parseObj(r.options),
    loss: parseObj(r.loss) as LossStats,
    format: r.format,
    stackCount: r.stack_count,
    frameCount: r.frame_count,
    storedBytes: r.stored_bytes,
  };
}

const G = globalThis as typeof globalThis & { __bpfscopeSnapshotStore?: SnapshotStore };

/** The process-wide store at `$BPFSCOPE_DATA_DIR/bpfscope.db` (kept on globalThis: Next may load modules twice). */
export function getSnapshotStore(): SnapshotStore {
  const file = path.join(dataDir(), 'bpfscope.db');
  const cur = G.__bpfscopeSnapshotStore;
  if (cur && cur.file === file && cur.db.open) return cur;
  cur?.close();
  G.__bpfscopeSnapshotStore = new SnapshotStore(file);
  return G.__bpfscopeSnapshotStore;
}
