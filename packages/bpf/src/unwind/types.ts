/**
 * The unwind-table API (for the BPF walker's map loader). Implementation: ./tables.ts.
 *
 *   import { UnwindTables } from './unwind/tables.js';
 *   const tables = new UnwindTables({ cacheDir, maxCacheBytes });   // cacheDir: see defaultCacheDir()
 *   const t = await tables.get('/usr/lib/x86_64-linux-gnu/libc.so.6', { root: `/proc/${pid}/root` });
 *   const v = await tables.getVdso(pid);                            // the [vdso] image of a process
 *   // t.rows: t.count rows of ROW_SIZE (12) bytes, format.ts / c/unwind.h; load into maps as is.
 *   tables.close();                                                 // ends the worker thread
 *
 * - get() never rejects for bad input: a missing file, a non-ELF file, or a corrupt/truncated
 *   .eh_frame gives a table with count 0 (or the rows parsed before the damage, up to the last
 *   complete FDE) and `error` / `reasons` saying why. It rejects only after close().
 * - Generation runs in a worker_thread; concurrent get() of the same object share one promise;
 *   results are cached on disk by build-id (objects without one: by path + size + mtime) and in memory.
 * - Paths are as the process sees them (e.g. from /proc/PID/maps); `root` (e.g. /proc/PID/root) is
 *   prefixed for every file access, including separate debug files under /usr/lib/debug.
 */

/** Counts of CFI forms that could not be expressed as rows (each → INVALID rows) and other events. */
export type UnwindReasons = Record<string, number>;

export interface UnwindTable {
  /** GNU build-id (hex) of the object, when it has one. */
  buildId?: string;
  /** count rows of 12 bytes (format.ts), sorted by pc; ELF virtual addresses of the object. */
  rows: Uint8Array;
  count: number;
  /**
   * Where the CFI came from: 'eh_frame', 'debug_frame' (e.g. from a separate debug file),
   * 'eh_frame+debug_frame' (merged: debug_frame fills ranges eh_frame does not cover), or 'none'.
   */
  source: string;
  /** Counts by reason: e.g. 'unsupported-cfa-expression', 'ra-not-at-cfa-8', 'corrupt-fde', 'cache-hit'. */
  reasons: UnwindReasons;
  /** Set when the object could not be read or its CFI was damaged (the table may be empty/partial). */
  error?: string;
  /** True when the rows came from the disk or memory cache. */
  cached?: boolean;
}

export interface UnwindTablesOptions {
  /** Directory of the disk cache; undefined: no disk cache. See defaultCacheDir(). */
  cacheDir?: string;
  /** Bound of the disk cache in bytes (LRU eviction by access time); default 256 MiB. */
  maxCacheBytes?: number;
  /** Bound of the in-memory cache in bytes; default 64 MiB. */
  maxMemoryBytes?: number;
}

export interface UnwindGetOptions {
  /** Prefix for every file access, e.g. /proc/PID/root (containers). */
  root?: string;
}
