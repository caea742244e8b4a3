/**
 * The snapshot store on PostgreSQL (BPFSCOPE_DATABASE_URL), for several console replicas sharing
 * one database. Same table (snapshot-table.ts) and behaviour as the SQLite store; the schema is created/migrated at
 * start under an advisory lock, so replicas starting together migrate once.
 */
import pg from 'pg';
import type { Profile } from '@bpfscope/viz';
import { BrandedError } from '@bpfscope/viz/errors';
import { newId, isValidId } from './ids';
import { buildRow, isValidPublicToken, newPublicToken, type SaveInput, type SnapshotMeta, type SnapshotStore, type SnapshotSummary } from './snapshots';
import { MIGRATIONS, META_COLS, inflate, insertArgs, insertSql, listQuery, toMeta, toSummary, type Row } from './snapshot-table';
import { EncodedSnapshotReads, type EncodedSnapshot } from './snapshot-reads';

/** An arbitrary constant: the advisory lock that serializes migrations across replicas. */
const MIGRATION_LOCK = 0x62706673; // "bpfs"

/** The URL with its password replaced, for messages and `location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** SQLSTATE classes 08 (connection) and 57P (shutdown), and socket errors: the database is unreachable. */
const UNREACHABLE = /^(08|57P)|^E(CONNREFUSED|CONNRESET|TIMEDOUT|NOTFOUND|HOSTUNREACH|AI_AGAIN|PIPE)$/;

/** An error the API answers with 503: the shared database cannot be reached right now. */
export class StoreUnavailableError extends BrandedError {
  static override readonly brand = 'StoreUnavailableError';
}

function unavailable(e: unknown, where: string): unknown {
  const err = e as Error & { code?: string };
  if (err instanceof StoreUnavailableError) return err;
  const msg = err?.message ?? String(e);
  if ((err?.code && UNREACHABLE.test(err.code)) || /Connection terminated|timeout exceeded when trying to connect|cannot connect to PostgreSQL/i.test(msg))
    return new StoreUnavailableError(
      msg.startsWith('cannot connect') ? `the snapshot database is unreachable: ${msg}` : `the snapshot database at ${where} is unreachable: ${msg}`,
    );
  return e;
}

export class PgSnapshotStore extends EncodedSnapshotReads implements SnapshotStore {
  readonly kind = 'postgres' as const;
  readonly url: string;
  readonly pool: pg.Pool;
  closed = false;
  private ready: Promise<void>;

  get location(): string {
    return redactUrl(this.url);
  }

  constructor(url: string, opts: { max?: number } = {}) {
    super();
    this.url = url;
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 8, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
    // an idle client losing its connection (database restart) must not crash the console
    this.pool.on('error', (e) => console.error(`[bpfscope store] PostgreSQL connection lost (${this.location}): ${e.message}`));
    this.ready = this.migrate();
    // surfaced by the first query; avoid an unhandled rejection meanwhile
    this.ready.catch(() => {});
  }

  /** Runs the migrations this database has not seen yet; resolves when the schema is current. */
  private async migrate(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw new Error(`cannot connect to PostgreSQL at ${this.location}: ${(e as Error).message}`);
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS bpfscope_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM bpfscope_migrations');
      const have = rows[0]?.v ?? 0;
      if (have > MIGRATIONS.length)
        throw new Error(
          `the database at ${this.location} was migrated by a newer bpfscope (schema ${have}, this one knows ${MIGRATIONS.length}); upgrade bpfscope or use another database`,
        );
      for (let v = have + 1; v <= MIGRATIONS.length; v++) {
        await client.query(MIGRATIONS[v - 1]!('postgres'));
        await client.query('INSERT INTO bpfscope_migrations (version) VALUES ($1)', [v]);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  private async q<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new Error('the snapshot store is closed');
    try {
      try {
        await this.ready;
      } catch {
        // the database was down at start (or during the migration): try again now, so a console
        // started before its database recovers by itself
        this.ready = this.migrate();
        this.ready.catch(() => {});
        await this.ready;
      }
      return await this.pool.query<R>(sql, args);
    } catch (e) {
      throw unavailable(e, this.location);
    }
  }

  async save(profile: Profile, input: SaveInput = {}): Promise<SnapshotMeta> {
    const row = await buildRow(profile, input);
    // one statement = one transaction: a crash leaves the whole row or nothing
    for (let i = 0; ; i++) {
      try {
        await this.q(insertSql('postgres'), insertArgs(row));
        break;
      } catch (e) {
        const err = e as { code?: string; constraint?: string };
        if (err.code !== '23505' || err.constraint !== 'snapshots_pkey' || i >= 4) throw e;
        row.id = newId();
      }
    }
    return (await this.getMeta(row.id))!;
  }

  async getMeta(id: string): Promise<SnapshotMeta | null> {
    if (!isValidId(id)) return null;
    const { rows } = await this.q<Row>(`SELECT ${META_COLS} FROM snapshots WHERE id = $1`, [id]);
    return rows[0] ? toMeta(rows[0]) : null;
  }

  override async getEncoded(id: string): Promise<EncodedSnapshot | null> {
    if (!isValidId(id)) return null;
    const { rows } = await this.q<Row & { profile: Buffer }>(`SELECT ${META_COLS}, profile FROM snapshots WHERE id = $1`, [id]);
    const r = rows[0];
    if (!r) return null;
    return { snapshot: toMeta(r), codec: r.codec, json: inflate(r) };
  }

  async list(q?: string, limit = 1000): Promise<SnapshotSummary[]> {
    const { sql, args } = listQuery('postgres', q, limit);
    const { rows } = await this.q<Row>(sql, args);
    return rows.map(toSummary);
  }

  async delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    const r = await this.q('DELETE FROM snapshots WHERE id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async setPublic(id: string, on: boolean): Promise<string | null | undefined> {
    if (!isValidId(id)) return undefined;
    if (!on) {
      const r = await this.q('UPDATE snapshots SET public_token = NULL WHERE id = $1', [id]);
      return (r.rowCount ?? 0) > 0 ? null : undefined;
    }
    // keeps an existing token (two replicas asked at once agree on one link)
    const { rows } = await this.q<{ public_token: string }>(
      'UPDATE snapshots SET public_token = COALESCE(public_token, $2) WHERE id = $1 RETURNING public_token',
      [id, newPublicToken()],
    );
    return rows[0] ? rows[0].public_token : undefined;
  }

  async findPublic(token: string): Promise<string | null> {
    if (!isValidPublicToken(token)) return null;
    const { rows } = await this.q<{ id: string }>('SELECT id FROM snapshots WHERE public_token = $1', [token]);
    return rows[0]?.id ?? null;
  }

  async count(): Promise<number> {
    const { rows } = await this.q<{ n: string }>('SELECT count(*) AS n FROM snapshots');
    return Number(rows[0]!.n);
  }

  isOpen(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}
