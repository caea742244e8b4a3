/**
 * UnwindTracker: keeps the CFI walker's maps in step with the processes being sampled.
 * - Processes: every process at start (or the -p pids), then any process the walker reports
 *   (unwind_unknown: a pid, or a pc, no mapping covered: new processes, exec, dlopen, new JIT code);
 *   mappings from /proc/PID/maps, files read through /proc/PID/root (containers); rescanned at most
 *   every RESCAN_MS per process; freed when the process is gone.
 * - Tables: one per ELF object (by device, inode, size, mtime), generated off the event loop by the
 *   TableSource (the unwind-tables worker), loaded into a BPF array when ready, shared by every
 *   process mapping that object, freed when no tracked process maps it. Until a table is loaded its
 *   mappings are walked by frame pointers, counted as "no table" by the walker.
 * - Memory: table rows and process arrays in BPF maps stay within `memoryLimitBytes` (default 64 MiB);
 *   a table that does not fit is not loaded (frame pointers, counted) and reported in info().
 */
import fs from 'node:fs';
import { ElfFile } from '../symbolize/elf.js';
import { ProcMaps, isFileMapping, type Mapping } from '../symbolize/procmaps.js';
import type { UnwindTable } from './types.js';
import { UnwindMaps, KERNEL_ROW_BYTES, MAX_TABLE_ROWS, UNWIND_MAX_MAPPINGS, UNWIND_TABLE_FP, UNWIND_TABLE_PENDING, type WalkerMapping } from './maps.js';

/** Where tables come from: the unwind-tables generator (UnwindTables) or a test double. */
export interface TableSource {
  get(path: string, opts?: { root?: string }): Promise<UnwindTable>;
  getVdso?(pid: number): Promise<UnwindTable>;
}

export interface UnwindTrackerOptions {
  /** only these processes (-p); default: every process of the host */
  pids?: number[];
  /** bound of table rows + process arrays in BPF maps (default 64 MiB) */
  memoryLimitBytes?: number;
  /** /proc (tests may point elsewhere) */
  procRoot?: string;
  /** how often the walker's reports are read (default 100 ms) */
  pollMs?: number;
  /** told of every process scan and exit (the Python frame finder, src/python/procs.ts) */
  observer?: { scan(pid: number, mappings: readonly Mapping[]): void; drop(pid: number): void };
}

/** What the tracker holds, for the CLI/console and the benchmarks. */
export interface UnwindInfo {
  processes: number;
  /** tables loaded into BPF maps */
  tables: number;
  rows: number;
  /** bytes of BPF map memory used by tables and process mapping arrays */
  bytes: number;
  limitBytes: number;
  /** tables being generated */
  pending: number;
  /** objects without a usable table (no CFI, unreadable, corrupt), walked by frame pointers */
  failed: number;
  /** tables not loaded because of the memory bound */
  overLimit: number;
  /** why objects have no (complete) table: path → reason */
  errors: Record<string, string>;
  /** Python processes found (their frames replace _PyEval_EvalFrameDefault), and the interpreters
   * whose version has no known layout (their stacks keep the native frames, counted) */
  python?: { processes: number; unsupported: Record<string, string> };
}

const RESCAN_MS = 200;
const EXIT_CHECK_MS = 1000;
const DEFAULT_LIMIT = 64 * 1024 * 1024;

type TableState = 'pending' | 'loaded' | 'failed' | 'over-limit';

interface TableEntry {
  key: string;
  path: string;
  state: TableState;
  id: number;
  rows: number;
  users: Set<number>;
  /** the generated table while it waits for memory (never kept otherwise) */
  error?: string;
}

interface ProcEntry {
  pid: number;
  /** executable mappings with what the walker needs, table keys for file mappings */
  mappings: Array<{ m: Mapping; bias: number; tableKey?: string; fp: boolean }>;
  lastScan: number;
}

export class UnwindTracker {
  private procs = new Map<number, ProcEntry>();
  private tables = new Map<string, TableEntry>();
  private elfCache = new Map<string, { vaddrOf: (off: number) => number | undefined } | null>();
  private timer: NodeJS.Timeout | undefined;
  private lastExitCheck = Date.now();
  private inflight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly procRoot: string;
  private readonly limit: number;
  private readonly filter: Set<number> | undefined;
  private vdsoKey = 'vdso';
  private readonly observer: UnwindTrackerOptions['observer'];
  /** the last error of the background poll (reported in info().errors) */
  private lastError: string | undefined;

  constructor(
    private maps: UnwindMaps,
    private source: TableSource,
    opts: UnwindTrackerOptions = {},
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.observer = opts.observer;
    this.limit = opts.memoryLimitBytes ?? DEFAULT_LIMIT;
    this.filter = opts.pids && opts.pids.length ? new Set(opts.pids) : undefined;
    const pids = this.filter ? [...this.filter] : this.allPids();
    for (const pid of pids) this.scan(pid);
    this.timer = setInterval(() => {
      try {
        this.poll();
      } catch (e) {
        // a failed rescan must not take the capture down: the walker falls back to frame pointers
        this.lastError = (e as Error).message;
      }
    }, opts.pollMs ?? 100);
    this.timer.unref();
  }

  private allPids(): number[] {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.procRoot);
    } catch {
      return [];
    }
    return names.filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number);
  }

  /** Read the walker's reports (new processes / code), rescan those, drop exited processes. */
  poll(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const { pid } of this.maps.unknownReports()) {
      if (this.filter && !this.filter.has(pid)) continue;
      const p = this.procs.get(pid);
      if (p && now - p.lastScan < RESCAN_MS) {
        // reported again before the rescan interval: the report was consumed, so look again soon
        setTimeout(() => this.scan(pid), RESCAN_MS - (now - p.lastScan)).unref();
        continue;
      }
      this.scan(pid);
    }
    if (now - this.lastExitCheck >= EXIT_CHECK_MS) {
      this.lastExitCheck = now;
      for (const pid of [...this.procs.keys()]) {
        if (!fs.existsSync(`${this.procRoot}/${pid}`)) this.dropProcess(pid);
      }
    }
  }

  /** (Re)read a process's mappings and write its walker entry; request missing tables. */
  scan(pid: number): void {
    if (this.closed) return;
    let pm: ProcMaps;
    try {
      pm = ProcMaps.read(pid, this.procRoot);
    } catch {
      this.dropProcess(pid);
      return;
    }
    const old = this.procs.get(pid);
    const entry: ProcEntry = { pid, mappings: [], lastScan: Date.now() };
    for (const m of pm.mappings) {
      if (!m.exec || m.start >= 0x800000000000) continue; // [vsyscall] is a kernel address
      if (isFileMapping(m) && !m.deleted) {
        const t = this.fileTable(pid, m);
        if (t) {
          entry.mappings.push({ m, bias: t.bias, tableKey: t.key, fp: false });
          continue;
        }
        entry.mappings.push({ m, bias: 0, fp: false }); // not an ELF we can read: no table, counted
      } else if (m.path === '[vdso]' && this.source.getVdso) {
        // the vDSO is linked at 0: its ELF addresses are offsets from the mapping
        entry.mappings.push({ m, bias: m.start, tableKey: this.vdsoTable(pid), fp: false });
      } else {
        entry.mappings.push({ m, bias: 0, fp: true }); // JIT / anonymous code: frame pointers by design
      }
    }
    // take the new table references before releasing the old ones (a rescan keeps shared tables)
    for (const x of entry.mappings) if (x.tableKey) this.tables.get(x.tableKey)?.users.add(pid);
    this.procs.set(pid, entry);
    if (old) this.releaseUnused(old, entry);
    this.writeProcess(entry);
    try {
      this.observer?.scan(pid, pm.mappings);
    } catch (e) {
      this.lastError = (e as Error).message;
    }
  }

  private fileTable(pid: number, m: Mapping): { key: string; bias: number } | undefined {
    const p = `${this.procRoot}/${pid}/root${m.path}`;
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return undefined;
    }
    if (!st.isFile() || st.ino !== m.inode) return undefined;
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let elf = this.elfCache.get(key);
    if (elf === undefined) {
      try {
        const f = ElfFile.open(p, { name: m.path });
        f.close();
        elf = { vaddrOf: (off) => f.fileOffsetToVaddr(off) };
      } catch {
        elf = null;
      }
      this.elfCache.set(key, elf);
    }
    if (!elf) return undefined;
    const vaddr = elf.vaddrOf(m.offset);
    if (vaddr === undefined) return undefined;
    let t = this.tables.get(key);
    if (!t) {
      t = { key, path: m.path, state: 'pending', id: -1, rows: 0, users: new Set() };
      this.tables.set(key, t);
      this.generate(t, () => this.source.get(m.path, { root: `${this.procRoot}/${pid}/root` }));
    }
    return { key, bias: m.start - vaddr };
  }

  private vdsoTable(pid: number): string {
    // one vDSO image per kernel: the first process's table serves every process
    let t = this.tables.get(this.vdsoKey);
    if (!t) {
      t = { key: this.vdsoKey, path: '[vdso]', state: 'pending', id: -1, rows: 0, users: new Set() };
      this.tables.set(this.vdsoKey, t);
      this.generate(t, () => this.source.getVdso!(pid));
    }
    return this.vdsoKey;
  }

  private generate(t: TableEntry, get: () => Promise<UnwindTable>): void {
    const p = get().then(
      (table) => this.tableReady(t, table),
      (e: unknown) => {
        t.state = 'failed';
        t.error = e instanceof Error ? e.message : String(e);
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private tableReady(t: TableEntry, table: UnwindTable): void {
    if (this.closed || this.tables.get(t.key) !== t) return;
    if (table.error) t.error = table.error;
    if (table.count <= 0) {
      t.state = 'failed';
      t.error ??= 'no call-frame information';
      return;
    }
    if (table.count > MAX_TABLE_ROWS) {
      t.state = 'failed';
      t.error = `${table.count} rows: more than the walker's ${MAX_TABLE_ROWS}`;
      return;
    }
    if (t.users.size === 0) {
      this.tables.delete(t.key); // every process that mapped it is gone
      return;
    }
    const bytes = table.count * KERNEL_ROW_BYTES;
    if (this.maps.tableBytes + this.maps.procBytes + bytes > this.limit) {
      t.state = 'over-limit';
      t.error = `not loaded: ${table.count} rows would exceed the ${this.limit} byte BPF map bound`;
      return;
    }
    try {
      t.id = this.maps.loadTable(table.rows, table.count, t.path);
    } catch (e) {
      t.state = 'failed';
      t.error = (e as Error).message;
      return;
    }
    t.rows = table.count;
    t.state = 'loaded';
    for (const pid of t.users) {
      const p = this.procs.get(pid);
      if (p) this.writeProcess(p);
    }
  }

  private writeProcess(p: ProcEntry): void {
    const out: WalkerMapping[] = [];
    for (const x of p.mappings) {
      let table = x.fp ? UNWIND_TABLE_FP : UNWIND_TABLE_PENDING;
      let rows = 0;
      if (x.tableKey) {
        const t = this.tables.get(x.tableKey);
        if (t && t.state === 'loaded') {
          table = t.id;
          rows = t.rows;
        }
      }
      out.push({ start: x.m.start, end: x.m.end, bias: x.bias, table, rows });
    }
    // too many executable mappings: keep the ones with tables first (the rest: frame pointers)
    if (out.length > UNWIND_MAX_MAPPINGS) out.sort((a, b) => Number(b.rows > 0) - Number(a.rows > 0));
    try {
      this.maps.setProcess(p.pid, out);
    } catch {
      // the map is full (more processes than it holds): this process walks by frame pointers
    }
  }

  private releaseUnused(old: ProcEntry, now: ProcEntry | undefined): void {
    const keep = new Set(now?.mappings.map((x) => x.tableKey) ?? []);
    for (const x of old.mappings) {
      if (!x.tableKey || keep.has(x.tableKey)) continue;
      const t = this.tables.get(x.tableKey);
      if (!t) continue;
      t.users.delete(old.pid);
      if (t.users.size === 0 && t.state !== 'pending') {
        if (t.state === 'loaded') this.maps.freeTable(t.id);
        this.tables.delete(t.key);
      }
    }
  }

  private dropProcess(pid: number): void {
    const p = this.procs.get(pid);
    this.maps.deleteProcess(pid);
    this.observer?.drop(pid);
    if (!p) return;
    this.procs.delete(pid);
    this.releaseUnused(p, undefined);
  }

  /** Resolves when no table is being generated (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  info(): UnwindInfo {
    let pending = 0;
    let failed = 0;
    let overLimit = 0;
    let rows = 0;
    const errors: Record<string, string> = {};
    for (const t of this.tables.values()) {
      if (t.state === 'pending') pending++;
      else if (t.state === 'failed') failed++;
      else if (t.state === 'over-limit') overLimit++;
      else rows += t.rows;
      if (t.error) errors[t.path] = t.error;
    }
    if (this.lastError) errors['(tracker)'] = this.lastError;
    return {
      processes: this.procs.size,
      tables: this.maps.tableCount,
      rows,
      bytes: this.maps.tableBytes + this.maps.procBytes,
      limitBytes: this.limit,
      pending,
      failed,
      overLimit,
      errors,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.maps.close();
  }
}
