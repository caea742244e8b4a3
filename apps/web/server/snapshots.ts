/**
 * Snapshot store: one interface (`SnapshotStore`), two implementations with the same behaviour.
 *
 * - `SqliteSnapshotStore` (default): one SQLite table under BPFSCOPE_DATA_DIR (better-sqlite3, WAL).
 * - `PgSnapshotStore` (snapshots-pg.ts, when BPFSCOPE_DATABASE_URL is set): the same table in
 *   PostgreSQL, shared by several console replicas.
 *
 * Both keep metadata columns and the encoded profile as a gzip-compressed blob (brotli is read
 * too), in the table snapshot-table.ts describes for both SQL dialects. A snapshot is written by one INSERT inside a transaction, so a crash leaves either the
 * whole row or nothing; the profile is encoded and compressed before the transaction starts, so a
 * bad profile never reaches the database.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { LossStats, Profile, Unit } from '@bpfscope/viz';
import { BrandedError } from '@bpfscope/viz/errors';
import { dataDir, databaseUrl, type Env } from './config';
import { newId, isValidId } from './ids';
import { encodeForStore } from './viz';
import { PgSnapshotStore } from './snapshots-pg';
import { EncodedSnapshotReads, type EncodedSnapshot } from './snapshot-reads';
import { MIGRATIONS, META_COLS, SCHEMA_VERSION, inflate, insertArgs, insertSql, listQuery, toMeta, toSummary, type NewRow, type Row } from './snapshot-table';

export { apiJsonText } from './snapshot-reads';

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
  /** the public-link token when the snapshot is public (`/p/<token>`), else null. */
  publicToken: string | null;
}

export interface SaveInput {
  name?: string;
  notes?: string;
}

const NAME_MAX = 200;
const NOTES_MAX = 10_000;

/* The store lives on globalThis and may come from another Next route bundle's copy of this module
 * (see getSnapshotStore): its errors are recognised by brand (viz/errors), not by class identity. */
export class SnapshotValidationError extends BrandedError {
  static override readonly brand = 'SnapshotValidationError';
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

function defaultName(p: Profile): string {
  const tool = p.meta.tool ?? 'profile';
  const when = new Date(p.meta.startTime ?? Date.now()).toISOString().replace('T', ' ').slice(0, 19);
  if (tool === 'import') return p.meta.source?.fileName || `import ${when}`;
  return `${tool}${p.meta.host ? ' on ' + p.meta.host : ''} ${when}`;
}

/** What both implementations offer; every method is async (PostgreSQL is a network round trip). */
export interface SnapshotStore {
  /** "sqlite" or "postgres" (shown by health checks and tests). */
  readonly kind: 'sqlite' | 'postgres';
  /** Where it stores: the SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** Encodes, compresses and stores a profile. Resolves with the stored metadata. */
  save(profile: Profile, input?: SaveInput): Promise<SnapshotMeta>;
  getMeta(id: string): Promise<SnapshotMeta | null>;
  /** The stored encoding as JSON text (no decode), for `?format=json`. */
  getEncoded(id: string): Promise<{ snapshot: SnapshotMeta; codec: string; json: string } | null>;
  /** The snapshot's metadata and decoded profile, or null when the id is unknown. */
  get(id: string): Promise<{ snapshot: SnapshotMeta; profile: Profile } | null>;
  /** `{snapshot, profile}` with the profile as encodeProfile's JSON value, as the API returns it. */
  getApiJson(id: string): Promise<{ snapshot: SnapshotMeta; profile: unknown } | null>;
  /** The same document as getApiJson as JSON text, without re-serializing the stored profile. */
  getApiJsonText(id: string): Promise<{ snapshot: SnapshotMeta; text: string } | null>;
  /**
   * Newest first. `q` is split on whitespace; every term must occur (case-insensitively) in the
   * name, host, tool or notes. `tool:x` / `host:x` / `name:x` restrict a term to one column.
   */
  list(q?: string, limit?: number): Promise<SnapshotSummary[]>;
  /** true when a snapshot was deleted, false when the id was unknown. */
  delete(id: string): Promise<boolean>;
  /**
   * Makes a snapshot public (returns its public token, a new one unless it already has one) or
   * private again (`false`: returns null, the old link stops working). undefined: unknown id.
   */
  setPublic(id: string, on: boolean): Promise<string | null | undefined>;
  /** The snapshot id behind a public token, or null. */
  findPublic(token: string): Promise<string | null>;
  count(): Promise<number>;
  /** false once closed */
  isOpen(): boolean;
  close(): Promise<void>;
}

/** Public-link tokens: 22 base62 characters = 131 random bits. */
export const PUBLIC_TOKEN_LENGTH = 22;
const PUBLIC_TOKEN_RE = /^[0-9A-Za-z]{22}$/;
export function isValidPublicToken(t: string): boolean {
  return PUBLIC_TOKEN_RE.test(t);
}
export function newPublicToken(): string {
  return newId(PUBLIC_TOKEN_LENGTH);
}

/** Validates and encodes a profile into the row both stores insert. */
export async function buildRow(profile: Profile, input: SaveInput = {}): Promise<NewRow> {
  if (!profile || !Array.isArray(profile.stacks) || !Array.isArray(profile.frames))
    throw new SnapshotValidationError('profile', 'profile must have frames and stacks');
  const name = cleanText('name', input.name, NAME_MAX) || cleanText('name', profile.meta?.name, NAME_MAX) || defaultName(profile);
  const notes = cleanText('notes', input.notes ?? profile.meta?.notes, NOTES_MAX);
  const meta = profile.meta ?? {};
  const stored: Profile = { ...profile, meta: { ...meta, name, notes: notes || undefined } };
  const { codec, json } = encodeForStore(stored);
  // gzip level 6: about 5x faster than brotli q5 on 200k-stack profiles for ~30% more bytes;
  // saving sits between "capture ended" and "snapshot link shown", so speed wins.
  const blob = await gzip(Buffer.from(json, 'utf8'), { level: 6 });
  return {
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
}

export class SqliteSnapshotStore extends EncodedSnapshotReads implements SnapshotStore {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  readonly file: string;
  private insertStmt: Database.Statement;
  private getStmt: Database.Statement;
  private deleteStmt: Database.Statement;

  get location(): string {
    return this.file;
  }

  constructor(file: string) {
    super();
    this.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(
        `${file} was written by a newer bpfscope (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade bpfscope or use another BPFSCOPE_DATA_DIR`,
      );
    // each migration runs once, in one transaction with the version bump
    const migrate = this.db.transaction(() => {
      for (let v = version + 1; v <= SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v - 1]!('sqlite'));
      if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    });
    migrate();
    this.insertStmt = this.db.prepare(insertSql('sqlite'));
    this.getStmt = this.db.prepare('SELECT * FROM snapshots WHERE id = ?');
    this.deleteStmt = this.db.prepare('DELETE FROM snapshots WHERE id = ?');
  }

  async save(profile: Profile, input: SaveInput = {}): Promise<SnapshotMeta> {
    const row = await buildRow(profile, input);
    const tx = this.db.transaction(() => {
      // an id collision (62^10 space) is retried with a fresh id rather than failing the save.
      for (let i = 0; i < 5; i++) {
        try {
          this.insertStmt.run(...insertArgs(row));
          return;
        } catch (e) {
          if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw e;
          row.id = newId();
        }
      }
      throw new Error('could not allocate a snapshot id');
    });
    tx();
    return (await this.getMeta(row.id))!;
  }

  async getMeta(id: string): Promise<SnapshotMeta | null> {
    if (!isValidId(id)) return null;
    const r = this.db.prepare(`SELECT ${META_COLS} FROM snapshots WHERE id = ?`).get(id) as Row | undefined;
    return r ? toMeta(r) : null;
  }

  override async getEncoded(id: string): Promise<EncodedSnapshot | null> {
    if (!isValidId(id)) return null;
    const r = this.getStmt.get(id) as (Row & { profile: Buffer }) | undefined;
    if (!r) return null;
    return { snapshot: toMeta(r), codec: r.codec, json: inflate(r) };
  }

  async list(q?: string, limit = 1000): Promise<SnapshotSummary[]> {
    const { sql, args } = listQuery('sqlite', q, limit);
    return (this.db.prepare(sql).all(...args) as Row[]).map(toSummary);
  }

  async delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    return this.deleteStmt.run(id).changes > 0;
  }

  async setPublic(id: string, on: boolean): Promise<string | null | undefined> {
    if (!isValidId(id)) return undefined;
    const tx = this.db.transaction((): string | null | undefined => {
      const r = this.db.prepare('SELECT public_token FROM snapshots WHERE id = ?').get(id) as { public_token: string | null } | undefined;
      if (!r) return undefined;
      if (!on) {
        this.db.prepare('UPDATE snapshots SET public_token = NULL WHERE id = ?').run(id);
        return null;
      }
      if (r.public_token) return r.public_token;
      const token = newPublicToken();
      this.db.prepare('UPDATE snapshots SET public_token = ? WHERE id = ?').run(token, id);
      return token;
    });
    return tx();
  }

  async findPublic(token: string): Promise<string | null> {
    if (!isValidPublicToken(token)) return null;
    const r = this.db.prepare('SELECT id FROM snapshots WHERE public_token = ?').get(token) as { id: string } | undefined;
    return r?.id ?? null;
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n;
  }

  isOpen(): boolean {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

const G = globalThis as typeof globalThis & { __bpfscopeSnapshotStore?: SnapshotStore; __bpfscopeSnapshotStoreKey?: string };

/**
 * The process-wide store (kept on globalThis: Next may load modules twice): PostgreSQL when
 * BPFSCOPE_DATABASE_URL is set, else SQLite at `$BPFSCOPE_DATA_DIR/bpfscope.db`. The current store is
 * recognised by what it opened, not by its class: each Next route bundle has its own copy of these
 * classes, and a store one bundle made must serve them all (an instanceof check here closed the
 * shared store under requests of other routes: "The database connection is not open").
 */
export function getSnapshotStore(env: Env = process.env): SnapshotStore {
  const url = databaseUrl(env);
  const key = url ? `postgres ${url}` : `sqlite ${path.join(dataDir(env), 'bpfscope.db')}`;
  const cur = G.__bpfscopeSnapshotStore;
  if (cur && G.__bpfscopeSnapshotStoreKey === key && cur.isOpen()) return cur;
  void cur?.close();
  G.__bpfscopeSnapshotStore = url ? new PgSnapshotStore(url) : new SqliteSnapshotStore(path.join(dataDir(env), 'bpfscope.db'));
  G.__bpfscopeSnapshotStoreKey = key;
  return G.__bpfscopeSnapshotStore;
}
