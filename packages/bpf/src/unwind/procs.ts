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
import { performance } from 'node:perf_hooks';
import { ElfFile } from '../symbolize/elf.js';
import { ProcMaps, isFileMapping, type Mapping } from '../symbolize/procmaps.js';
import type { UnwindTable } from './types.js';
import {
  type UnwindMaps,
  KERNEL_ROW_BYTES,
  MAX_TABLE_ROWS,
  UNWIND_MAX_MAPPINGS,
  UNWIND_TABLE_FP,
  UNWIND_TABLE_PENDING,
  type FilledTable,
  type WalkerMapping,
} from './maps.js';

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
/** the scan of a host's processes at start yields to the event loop after this long */
const SCAN_SLICE_MS = 10;
/** tables filled within this long of each other enter the walker's map together (one RCU wait) */
const LOAD_BATCH_MS = 50;
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

interface LoadItem {
  t: TableEntry;
  table: UnwindTable;
  /** called once the table is loaded or refused */
  done: () => void;
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
  /** table requests waiting for their turn (runRequests) */
  private requests: Array<{ run: () => void; reject: (e: Error) => void }> = [];
  /** generated tables waiting to be loaded (runLoads) */
  private loadQueue: LoadItem[] = [];
  private loading = false;
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
    this.filter = opts.pids?.length ? new Set(opts.pids) : undefined;
    // the first SCAN_SLICE_MS of the scan now (all of a -p capture's few processes), the rest of
    // the host's processes in slices between which the event loop runs; idle() waits for it
    const pids = this.filter ? [...this.filter] : this.allPids();
    let next = this.scanSlice(pids, 0);
    if (next < pids.length) {
      this.track(
        (async () => {
          while (next < pids.length && !this.closed) {
            await new Promise<void>((r) => setImmediate(r));
            next = this.scanSlice(pids, next);
          }
        })(),
      );
    }
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

  /** Scan pids[from..] for up to SCAN_SLICE_MS; returns the index of the first pid not scanned. */
  private scanSlice(pids: readonly number[], from: number): number {
    const t0 = performance.now();
    let i = from;
    while (i < pids.length && !this.closed) {
      try {
        this.scan(pids[i++]);
      } catch (e) {
        this.lastError = (e as Error).message;
      }
      if (performance.now() - t0 >= SCAN_SLICE_MS) break;
    }
    return i;
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
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
    this.track(
      // the source's synchronous part (it reads the object's ELF headers for its build-id) runs in
      // slices too: a process mapping hundreds of new objects does not read them all in one turn
      new Promise<UnwindTable>((resolve, reject) => this.request({ run: () => get().then(resolve, reject), reject })).then(
        // resolves once the table is loaded (or refused): idle() waits for that
        (table) =>
          new Promise<void>((done) => {
            this.loadQueue.push({ t, table, done });
            this.runLoads();
          }),
        (e: unknown) => {
          t.state = 'failed';
          t.error = e instanceof Error ? e.message : String(e);
        },
      ),
    );
  }

  /** Queue a table request; requests run in SCAN_SLICE_MS slices between which the event loop runs. */
  private request(r: { run: () => void; reject: (e: Error) => void }): void {
    this.requests.push(r);
    if (this.requests.length === 1) setImmediate(() => this.runRequests());
  }

  private runRequests(): void {
    const t0 = performance.now();
    while (this.requests.length && performance.now() - t0 < SCAN_SLICE_MS) {
      const r = this.requests.shift()!;
      if (this.closed) r.reject(new Error('the unwinder is closed'));
      else r.run();
    }
    if (this.requests.length) setImmediate(() => this.runRequests());
  }

  /**
   * Load the generated tables, one loader at a time, in the order they arrive: each is filled into
   * its own BPF array (maps.fillTable: in slices between which the event loop runs), and those filled
   * within LOAD_BATCH_MS of each other (or until the queue is empty) go into the walker's table map
   * together (maps.insertTables: one RCU wait for all of them); then their processes are rewritten.
   */
  private runLoads(): void {
    if (this.loading) return;
    this.loading = true;
    this.maps.beginSlice();
    void (async () => {
      while (this.loadQueue.length && !this.closed) {
        const batch: Array<{ item: LoadItem; filled: FilledTable }> = [];
        let reserved = 0;
        const start = performance.now();
        try {
          while (this.loadQueue.length && !this.closed && (batch.length === 0 || performance.now() - start < LOAD_BATCH_MS)) {
            const item = this.loadQueue.shift()!;
            const bytes = this.admit(item.t, item.table, reserved);
            if (bytes === undefined) {
              item.done();
              continue;
            }
            try {
              batch.push({ item, filled: await this.maps.fillTable(item.table.rows, item.table.count, item.t.path) });
              reserved += bytes;
            } catch (e) {
              if (!this.closed) {
                item.t.state = 'failed';
                item.t.error = (e as Error).message;
              }
              item.done();
            }
          }
          if (this.closed) {
            for (const b of batch) this.maps.discardTable(b.filled);
          } else {
            this.insert(batch);
          }
        } catch (e) {
          this.lastError = (e as Error).message;
        } finally {
          for (const b of batch) b.item.done();
        }
      }
      this.loading = false;
      // closed: nothing more is loaded; whoever waits is told
      for (const item of this.loadQueue.splice(0)) item.done();
    })();
  }

  /** Whether a generated table is to be loaded (its kernel bytes) or not (state and error set). */
  private admit(t: TableEntry, table: UnwindTable, reserved: number): number | undefined {
    if (this.closed || this.tables.get(t.key) !== t) return undefined;
    if (table.error) t.error = table.error;
    if (table.count <= 0) {
      t.state = 'failed';
      t.error ??= 'no call-frame information';
      return undefined;
    }
    if (table.count > MAX_TABLE_ROWS) {
      t.state = 'failed';
      t.error = `${table.count} rows: more than the walker's ${MAX_TABLE_ROWS}`;
      return undefined;
    }
    if (t.users.size === 0) {
      this.tables.delete(t.key); // every process that mapped it is gone
      return undefined;
    }
    const bytes = table.count * KERNEL_ROW_BYTES;
    if (this.maps.tableBytes + this.maps.procBytes + reserved + bytes > this.limit) {
      t.state = 'over-limit';
      t.error = `not loaded: ${table.count} rows would exceed the ${this.limit} byte BPF map bound`;
      return undefined;
    }
    return bytes;
  }

  /** Put filled tables into the walker's map and point their processes at them. */
  private insert(batch: ReadonlyArray<{ item: LoadItem; filled: FilledTable }>): void {
    // tables whose every process exited while they were filled are not inserted
    const live = batch.filter(({ item: { t }, filled }) => {
      if (t.users.size > 0 && this.tables.get(t.key) === t) return true;
      this.maps.discardTable(filled);
      if (this.tables.get(t.key) === t) this.tables.delete(t.key);
      return false;
    });
    if (live.length === 0) return;
    const handles = this.maps.insertTables(live.map((b) => b.filled));
    const touched = new Set<number>();
    live.forEach(({ item: { t, table } }, i) => {
      const h = handles[i];
      if (h instanceof Error) {
        t.state = 'failed';
        t.error = h.message;
        return;
      }
      t.id = h;
      t.rows = table.count;
      t.state = 'loaded';
      for (const pid of t.users) touched.add(pid);
    });
    for (const pid of touched) {
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
