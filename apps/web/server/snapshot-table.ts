/**
 * The `snapshots` table, described once for both stores (SQLite in snapshots.ts, PostgreSQL in
 * snapshots-pg.ts): its columns and their type in each SQL dialect, the migrations that create it,
 * the statements both stores run the same way, and the mapping from a stored row to the metadata
 * the API shows.
 */
import zlib from 'node:zlib';
import type { LossStats } from '@bpfscope/viz';
import type { SnapshotMeta, SnapshotSummary } from './snapshots';

export type Dialect = 'sqlite' | 'postgres';

/** A stored row as read back (numbers from PostgreSQL's BIGINT arrive as strings: see toMeta). */
export interface Row {
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
  public_token?: string | null;
}

/** A row as a save inserts it: every column of schema 1 (a new snapshot is not public). */
export type NewRow = Omit<Row, 'public_token'> & { profile: Buffer };

/** The column types that differ between the dialects (`bigint` holds milliseconds since the epoch). */
const TYPES = {
  sqlite: { bigint: 'INTEGER', real: 'REAL', bytes: 'BLOB' },
  postgres: { bigint: 'BIGINT', real: 'DOUBLE PRECISION', bytes: 'BYTEA' },
} as const;

/**
 * The column that keeps insertion order, the tie-break of lists sorted by created_at: SQLite's
 * implicit rowid; PostgreSQL has none, so its table has a `seq` column for it.
 */
const INSERTION_ORDER = { sqlite: 'rowid', postgres: 'seq' } as const;

/** Schema 1: the table as a save writes it (COLUMNS), in either dialect. */
function createTable(d: Dialect): string {
  const t = TYPES[d];
  return `CREATE TABLE IF NOT EXISTS snapshots (${d === 'postgres' ? '\n  seq          BIGSERIAL UNIQUE,' : ''}
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  notes        TEXT NOT NULL DEFAULT '',
  tool         TEXT NOT NULL,
  host         TEXT NOT NULL DEFAULT '',
  kernel       TEXT NOT NULL DEFAULT '',
  created_at   ${t.bigint} NOT NULL,
  start_time   ${t.bigint},
  duration_ms  ${t.bigint},
  total        ${t.real} NOT NULL,
  unit         TEXT NOT NULL,
  options      TEXT NOT NULL DEFAULT '{}',
  loss         TEXT NOT NULL DEFAULT '{}',
  format       TEXT,
  stack_count  INTEGER NOT NULL,
  frame_count  INTEGER NOT NULL,
  codec        TEXT NOT NULL,
  encoding     TEXT NOT NULL,
  stored_bytes INTEGER NOT NULL,
  profile      ${t.bytes} NOT NULL
)${d === 'sqlite' ? ' STRICT' : ''};
CREATE INDEX IF NOT EXISTS snapshots_created ON snapshots (created_at DESC${d === 'postgres' ? ', seq DESC' : ''});`;
}

/** The columns a save writes (schema 1, every key of NewRow), in table order. */
const COLUMNS: readonly (keyof NewRow)[] = [
  'id',
  'name',
  'notes',
  'tool',
  'host',
  'kernel',
  'created_at',
  'start_time',
  'duration_ms',
  'total',
  'unit',
  'options',
  'loss',
  'format',
  'stack_count',
  'frame_count',
  'codec',
  'encoding',
  'stored_bytes',
  'profile',
];

/**
 * Schema version n is reached by running MIGRATIONS[n-1] once, in order. SQLite counts versions in
 * `PRAGMA user_version`, PostgreSQL in its `bpfscope_migrations` table.
 */
export const MIGRATIONS: readonly ((d: Dialect) => string)[] = [
  createTable,
  // 2: public links
  () => `ALTER TABLE snapshots ADD COLUMN public_token TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS snapshots_public ON snapshots (public_token) WHERE public_token IS NOT NULL;`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The columns of SnapshotMeta (everything but the profile). */
export const META_COLS = [...COLUMNS.filter((c) => c !== 'profile'), 'public_token'].join(', ');
/** The columns of SnapshotSummary (list). */
const SUMMARY_COLS = 'id, name, tool, host, created_at, total, unit';

/** The n-th (1-based) positional parameter. */
export function param(d: Dialect, n: number): string {
  return d === 'postgres' ? `$${n}` : '?';
}

/** The INSERT of a new row; its parameters are insertArgs(row). */
export function insertSql(d: Dialect): string {
  return `INSERT INTO snapshots (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => param(d, i + 1)).join(', ')})`;
}

export function insertArgs(row: NewRow): unknown[] {
  return COLUMNS.map((c) => row[c]);
}

/** Escapes LIKE wildcards so a search for "50%" matches the text "50%". */
function likeTerm(t: string): string {
  return '%' + t.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/** A search query as column conditions: every term is a list of columns, any of which may match. */
export function searchTerms(q: string | undefined): { columns: string[]; pattern: string }[] {
  const out: { columns: string[]; pattern: string }[] = [];
  for (const raw of (q ?? '').trim().split(/\s+/).filter(Boolean).slice(0, 16)) {
    const m = /^(tool|host|name):(.+)$/i.exec(raw);
    if (m) out.push({ columns: [m[1]!.toLowerCase()], pattern: likeTerm(m[2]!) });
    else out.push({ columns: ['name', 'host', 'tool', 'notes'], pattern: likeTerm(raw) });
  }
  return out;
}

export function clampLimit(limit: number): number {
  return Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : 1000, 10000));
}

/**
 * The query behind SnapshotStore.list: newest first, every term of `q` matching case-insensitively
 * (SQLite's LIKE is case-insensitive for ASCII, PostgreSQL needs ILIKE), at most `limit` rows.
 */
export function listQuery(d: Dialect, q: string | undefined, limit: number): { sql: string; args: unknown[] } {
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return param(d, args.length);
  };
  const like = d === 'postgres' ? 'ILIKE' : 'LIKE';
  const where = searchTerms(q).map((t) => '(' + t.columns.map((c) => `${c} ${like} ${arg(t.pattern)} ESCAPE '\\'`).join(' OR ') + ')');
  const sql = `SELECT ${SUMMARY_COLS} FROM snapshots ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY created_at DESC, ${INSERTION_ORDER[d]} DESC LIMIT ${arg(clampLimit(limit))}`;
  return { sql, args };
}

/** The stored profile's text (gzip; brotli from earlier versions). */
export function inflate(r: Row & { profile: Buffer }): string {
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

/** The list entry of a row. */
export function toSummary(r: Row): SnapshotSummary {
  return { id: r.id, name: r.name, tool: r.tool, host: r.host, createdAt: Number(r.created_at), total: Number(r.total), unit: r.unit };
}

/** The metadata of a row as the API shows it (its keys in this order). */
export function toMeta(r: Row): SnapshotMeta {
  return {
    id: r.id,
    name: r.name,
    notes: r.notes,
    tool: r.tool,
    host: r.host,
    kernel: r.kernel,
    createdAt: Number(r.created_at),
    startTime: r.start_time == null ? null : Number(r.start_time),
    durationMs: r.duration_ms == null ? null : Number(r.duration_ms),
    total: Number(r.total),
    unit: r.unit,
    options: parseObj(r.options),
    loss: parseObj(r.loss) as LossStats,
    format: r.format,
    stackCount: Number(r.stack_count),
    frameCount: Number(r.frame_count),
    storedBytes: Number(r.stored_bytes),
    publicToken: r.public_token ?? null,
  };
}
