/**
 * UnwindTables: unwind tables for ELF objects on demand (see types.ts for the contract).
 *
 * get(path, {root}) identifies the object on the caller's thread (ELF headers only: build-id), then
 * answers from the in-memory cache, else the disk cache (async reads), else generates the table in
 * the worker thread (worker.ts) and stores it in both caches. Concurrent requests for the same
 * object share one promise. Returned tables are shared: callers must not modify `rows`.
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ElfFile } from '../symbolize/elf.js';
import { DEFAULT_MAX_CACHE_BYTES, DiskCache } from './cache.js';
import { emptyTable } from './generate.js';
import type { UnwindGetOptions, UnwindTable, UnwindTablesOptions } from './types.js';
import type { WorkerRequest } from './worker.js';

export { defaultCacheDir } from './cache.js';
export type { UnwindTable, UnwindTablesOptions, UnwindGetOptions } from './types.js';

const DEFAULT_MAX_MEMORY_BYTES = 64 * 1024 * 1024;

type Pending = { resolve: (t: UnwindTable) => void; reject: (e: Error) => void };

export class UnwindTables {
  private readonly disk?: DiskCache;
  private readonly maxMemory: number;
  private readonly memory = new Map<string, UnwindTable>();
  private memoryBytes = 0;
  private readonly inflight = new Map<string, Promise<UnwindTable>>();
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** counters (tests, stats) */
  readonly stats = { memoryHits: 0, diskHits: 0, generated: 0, deduped: 0 };

  constructor(opts: UnwindTablesOptions = {}) {
    if (opts.cacheDir) this.disk = new DiskCache(opts.cacheDir, opts.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES);
    this.maxMemory = opts.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  }

  /** The disk cache's counters (hits, corrupt files ignored, evictions), when there is one. */
  get diskStats(): DiskCache['stats'] | undefined {
    return this.disk?.stats;
  }

  /**
   * The table of the ELF object at `path` (as the process sees it; `root` is prefixed for file access).
   * Resolves with an empty table and `error` for unreadable or broken objects; rejects only after close().
   */
  get(path: string, opts: UnwindGetOptions = {}): Promise<UnwindTable> {
    if (this.closed) return Promise.reject(new Error('UnwindTables is closed'));
    if (typeof path !== 'string' || !path.startsWith('/')) {
      return Promise.resolve(emptyTable(`unwind table: path ${JSON.stringify(path)} is not absolute; pass the path from /proc/PID/maps`, 'bad-path'));
    }
    const root = opts.root ?? '';
    let key: string;
    let buildId: string | undefined;
    try {
      const st = statSync(root + path);
      if (!st.isFile()) return Promise.resolve(emptyTable(`${path}: not a regular file`, 'unreadable-object'));
      const elf = ElfFile.open(root + path, { name: path });
      buildId = elf.buildId;
      elf.close();
      key =
        buildId && /^[0-9a-f]{8,128}$/.test(buildId)
          ? `b-${buildId}`
          : // no build-id: the file's identity (the same through any /proc/PID/root), not the path
            `f-${createHash('sha256').update(`${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`).digest('hex').slice(0, 40)}`;
    } catch (e) {
      return Promise.resolve(emptyTable(`${path}: ${(e as Error).message}`, 'unreadable-object'));
    }
    return this.lookup(key, () => ({ kind: 'file', path, root: opts.root }));
  }

  /** The table of a process's vDSO (read from /proc/PID/mem; the same for every process of a kernel). */
  getVdso(pid: number, procRoot = '/proc'): Promise<UnwindTable> {
    if (this.closed) return Promise.reject(new Error('UnwindTables is closed'));
    if (!Number.isInteger(pid) || pid <= 0) return Promise.resolve(emptyTable(`[vdso]: invalid pid ${pid}: expected a positive integer`, 'bad-path'));
    // one vDSO image per kernel (and ABI): key on the memory-cache only, by the kernel's boot id
    const key = `vdso-${vdsoIdentity()}`;
    return this.lookup(key, () => ({ kind: 'vdso', pid, procRoot }), false);
  }

  /** End the worker thread. Pending and later requests reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error('UnwindTables is closed'));
    this.pending.clear();
    if (w) void w.terminate();
  }

  private lookup(key: string, req: () => Omit<WorkerRequest, 'id'>, useDisk = true): Promise<UnwindTable> {
    const mem = this.memory.get(key);
    if (mem) {
      this.stats.memoryHits++;
      this.memory.delete(key); // LRU: move to the end
      this.memory.set(key, mem);
      return Promise.resolve(mem);
    }
    const running = this.inflight.get(key);
    if (running) {
      this.stats.deduped++;
      return running;
    }
    const p = (async () => {
      let t = useDisk && this.disk ? await this.disk.get(key) : undefined;
      if (t) {
        this.stats.diskHits++;
        t.cached = true;
      } else {
        t = await this.generate(req());
        this.stats.generated++;
        // a failed worker is not a property of the object: never cache that
        if (transient(t)) return t;
        if (useDisk && this.disk) await this.disk.put(key, t);
      }
      // a vDSO that could not be read (e.g. a 32-bit process) must not stand for the others
      if (useDisk || !t.error) this.remember(key, t);
      return t;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private remember(key: string, t: UnwindTable): void {
    const size = t.rows.byteLength + 256;
    if (size > this.maxMemory) return;
    this.memory.set(key, t);
    this.memoryBytes += size;
    for (const [k, v] of this.memory) {
      if (this.memoryBytes <= this.maxMemory) break;
      this.memory.delete(k);
      this.memoryBytes -= v.rows.byteLength + 256;
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    let w: Worker;
    if (import.meta.url.endsWith('.ts')) {
      // running from the TypeScript sources (tests, tsx): worker threads do not inherit tsx's
      // loader on Node 20, so the worker registers it before importing worker.ts
      const api = import.meta.resolve('tsx/esm/api');
      const entry = new URL('./worker.ts', import.meta.url).href;
      w = new Worker(`import(${JSON.stringify(api)}).then((t) => t.register()).then(() => import(${JSON.stringify(entry)}))`, { eval: true });
    } else {
      w = new Worker(new URL('./worker.js', import.meta.url));
    }
    w.unref();
    w.on('message', (m: { id: number; table?: UnwindTable; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.table) p.resolve(m.table);
      else p.resolve(emptyTable(`unwind table generation failed: ${m.error}`, 'generator-failed'));
    });
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.resolve(emptyTable(`unwind table worker ${why}`, 'worker-failed'));
      this.pending.clear();
    };
    w.on('error', (e) => fail(`failed: ${e.message}`));
    w.on('exit', (code) => fail(`exited (code ${code})`));
    this.worker = w;
    return w;
  }

  private generate(req: Omit<WorkerRequest, 'id'>): Promise<UnwindTable> {
    if (this.closed) return Promise.reject(new Error('UnwindTables is closed'));
    const w = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<UnwindTable>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref(); // keep the process alive while a table is being made
      w.postMessage({ ...req, id });
    });
  }
}

function transient(t: UnwindTable): boolean {
  return t.reasons['worker-failed'] !== undefined || t.reasons['generator-failed'] !== undefined;
}

let vdsoId: string | undefined;
/** boot_id changes with every boot (so with every kernel): one vDSO image per boot and ABI. */
function vdsoIdentity(): string {
  if (vdsoId === undefined) {
    try {
      vdsoId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')
        .trim()
        .replace(/[^0-9a-f-]/g, '');
    } catch {
      vdsoId = 'unknown';
    }
  }
  return vdsoId;
}
