/**
 * The disk cache of unwind tables: one file per object (by build-id, or by path identity for
 * objects without one), bounded in bytes with least-recently-used eviction (a hit refreshes the
 * file's mtime). Files carry a magic, a version and a CRC: a corrupt or truncated file is ignored
 * (and removed), never trusted. Writes are atomic (temp file + rename), so concurrent bpfscope
 * processes sharing the directory never see half a file.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { ROW_SIZE } from './format.js';
import { GENERATOR_REVISION } from './cfi.js';
import type { UnwindTable } from './types.js';

const MAGIC = 0x54575342; // "BSWT"
const VERSION = 1;
const HEADER = 20; // magic, version, count, metaLen, crc
export const DEFAULT_MAX_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Where tables are cached by default: `$BPFSCOPE_DATA_DIR/unwind-cache` when BPFSCOPE_DATA_DIR is
 * set; otherwise `./data/unwind-cache` for the collector service (`service: true`) and
 * `$XDG_CACHE_HOME/bpfscope/unwind` (default ~/.cache/bpfscope/unwind) for the CLI.
 */
export function defaultCacheDir(opts: { service?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  if (env.BPFSCOPE_DATA_DIR) return join(resolve(env.BPFSCOPE_DATA_DIR), 'unwind-cache');
  if (opts.service) return resolve('data', 'unwind-cache');
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'bpfscope', 'unwind');
}

/** Serialize a table into the cache file format. */
export function encodeCacheFile(t: UnwindTable): Buffer {
  const meta = Buffer.from(JSON.stringify({ buildId: t.buildId, source: t.source, reasons: t.reasons, error: t.error }), 'utf8');
  const rows = Buffer.from(t.rows.buffer, t.rows.byteOffset, t.count * ROW_SIZE);
  const out = Buffer.allocUnsafe(HEADER + meta.length + rows.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(t.count, 8);
  out.writeUInt32LE(meta.length, 12);
  meta.copy(out, HEADER);
  rows.copy(out, HEADER + meta.length);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 16);
  return out;
}

/** Parse a cache file; undefined (with why) when it is not a valid, complete cache file. */
export function decodeCacheFile(b: Buffer): { table?: UnwindTable; why?: string } {
  if (b.length < HEADER) return { why: 'truncated header' };
  if (b.readUInt32LE(0) !== MAGIC) return { why: 'bad magic' };
  if (b.readUInt32LE(4) !== VERSION) return { why: `version ${b.readUInt32LE(4)}` };
  const count = b.readUInt32LE(8);
  const metaLen = b.readUInt32LE(12);
  if (HEADER + metaLen + count * ROW_SIZE !== b.length) return { why: 'size does not match the header' };
  if (crc32(b.subarray(HEADER)) !== b.readUInt32LE(16)) return { why: 'checksum mismatch' };
  let meta: { buildId?: string; source?: string; reasons?: Record<string, number>; error?: string };
  try {
    meta = JSON.parse(b.toString('utf8', HEADER, HEADER + metaLen));
  } catch {
    return { why: 'bad metadata' };
  }
  const rows = new Uint8Array(count * ROW_SIZE);
  rows.set(b.subarray(HEADER + metaLen));
  return {
    table: {
      buildId: meta.buildId,
      rows,
      count,
      source: meta.source ?? 'none',
      reasons: meta.reasons ?? {},
      error: meta.error,
    },
  };
}

interface Entry {
  size: number;
  used: number; // mtimeMs
}

export class DiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  private index?: Promise<Map<string, Entry>>;
  private total = 0;
  private seq = 0;
  /** counters for tests and stats */
  readonly stats = { hits: 0, misses: 0, corrupt: 0, writes: 0, evictions: 0, errors: 0 };

  constructor(dir: string, maxBytes = DEFAULT_MAX_CACHE_BYTES) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  private load(): Promise<Map<string, Entry>> {
    if (!this.index) {
      this.index = (async () => {
        const m = new Map<string, Entry>();
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        for (const name of await readdir(this.dir)) {
          if (!name.endsWith('.uwt')) continue;
          try {
            const s = await stat(join(this.dir, name));
            m.set(name, { size: s.size, used: s.mtimeMs });
            this.total += s.size;
          } catch {
            /* removed meanwhile */
          }
        }
        return m;
      })().catch((e) => {
        this.stats.errors++;
        this.index = undefined;
        throw e;
      });
    }
    return this.index;
  }

  /** The file of a key: the generator revision is part of the name, so tables made by an older
   * generator are never used (they age out of the LRU). */
  static fileName(key: string): string {
    return `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.r${GENERATOR_REVISION}.uwt`;
  }

  /** The cached table for key, or undefined (missing, unreadable or corrupt: then removed). */
  async get(key: string): Promise<UnwindTable | undefined> {
    let index: Map<string, Entry>;
    try {
      index = await this.load();
    } catch {
      return undefined;
    }
    const name = DiskCache.fileName(key);
    const path = join(this.dir, name);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch {
      this.stats.misses++;
      this.forget(index, name);
      return undefined;
    }
    const { table } = decodeCacheFile(buf);
    if (!table) {
      this.stats.corrupt++;
      this.forget(index, name);
      await unlink(path).catch(() => {});
      return undefined;
    }
    this.stats.hits++;
    const now = Date.now();
    const e = index.get(name);
    if (e) e.used = now;
    else {
      index.set(name, { size: buf.length, used: now });
      this.total += buf.length;
    }
    utimes(path, now / 1000, now / 1000).catch(() => {});
    return table;
  }

  /** Store a table (atomically), then evict least recently used files beyond the bound. */
  async put(key: string, t: UnwindTable): Promise<void> {
    let index: Map<string, Entry>;
    try {
      index = await this.load();
    } catch {
      return;
    }
    const data = encodeCacheFile(t);
    if (data.length > this.maxBytes) return;
    const name = DiskCache.fileName(key);
    const tmp = join(this.dir, `.${name}.${process.pid}.${++this.seq}.tmp`);
    try {
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, join(this.dir, name));
    } catch {
      this.stats.errors++;
      await unlink(tmp).catch(() => {});
      return;
    }
    this.stats.writes++;
    this.forget(index, name);
    index.set(name, { size: data.length, used: Date.now() });
    this.total += data.length;
    await this.evict(index, name);
  }

  /** Bytes the cache holds (as this process knows it). */
  async size(): Promise<number> {
    await this.load().catch(() => undefined);
    return this.total;
  }

  private forget(index: Map<string, Entry>, name: string): void {
    const e = index.get(name);
    if (e) {
      this.total -= e.size;
      index.delete(name);
    }
  }

  private async evict(index: Map<string, Entry>, keep: string): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const byAge = [...index.entries()].filter(([n]) => n !== keep).sort((a, b) => a[1].used - b[1].used);
    for (const [name] of byAge) {
      if (this.total <= this.maxBytes) break;
      this.forget(index, name);
      this.stats.evictions++;
      await unlink(join(this.dir, name)).catch(() => {});
    }
  }
}
