/**
 * The CFI unwinder of one capture: the walker's maps (UnwindMaps), the process/table tracker and
 * the walked stacks (UstackStore). Tools open it after loading an object built with unwind.bpf.h.
 */
import type { BpfObject } from '../object.js';
import { BpfError } from '../errors.js';
import type { UnwindMode } from '../tools/types.js';
import { UnwindMaps, UstackStore } from './maps.js';
import { UnwindTracker, type TableSource, type UnwindInfo } from './procs.js';
import { UnwindTables, defaultCacheDir } from './tables.js';
import { PyProcs } from '../python/procs.js';
import { PyFrameNamer } from '../python/frames.js';
import type { PyCodeLayout } from '../python/layouts.js';
import type { Mapping } from '../symbolize/procmaps.js';

export type { UnwindInfo, TableSource };

let shared: TableSource | undefined;
/* default: the unwind-tables generator (worker thread) with its disk cache (BPFSCOPE_DATA_DIR or ~/.cache/bpfscope) */
let factory: () => TableSource = () => new UnwindTables({ cacheDir: defaultCacheDir() });

/** The table source every capture of this process uses (the CLI / collector may set their own). */
export function setUnwindTableSource(s: TableSource | undefined): void {
  shared = s;
}

/** Register how the default table source is made (first use creates it). */
export function setUnwindTableFactory(f: () => TableSource): void {
  factory = f;
}

export function unwindTableSource(): TableSource {
  shared ??= factory();
  return shared;
}

export interface UnwindSession {
  store: UstackStore;
  tracker: UnwindTracker;
  /**
   * Resolves when the tables of the processes present at start are loaded, or after `boundMs`
   * (whichever comes first): true when they all are. Tools start sampling then, so the first
   * samples are not walked without tables (counted as "no table").
   */
  tablesLoaded(boundMs: number): Promise<boolean>;
  /** names of the Python frames the walker stores in place of _PyEval_EvalFrameDefault frames */
  python: PyFrameNamer;
  info(): UnwindInfo;
  close(): void;
}

/**
 * The bound of the unwinder's BPF map memory (table rows and process mapping arrays) of one capture:
 * BPFSCOPE_UNWIND_MAX_MB (default 64, what every process of a busy host needs here); tables beyond
 * it are not loaded (their code is walked by frame pointers, counted as "no table", and listed in
 * the handle's unwind() info as overLimit).
 */
export function unwindMemoryLimit(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.BPFSCOPE_UNWIND_MAX_MB;
  if (v === undefined || v === '') return 64 * 1024 * 1024;
  const mb = Number(v);
  if (!Number.isFinite(mb) || mb <= 0 || mb > 65536) {
    throw new BpfError({ errno: 22, code: 'EINVAL', message: `BPFSCOPE_UNWIND_MAX_MB=${v}: expected a number of MiB between 1 and 65536` });
  }
  return Math.round(mb * 1024 * 1024);
}

export function openUnwindSession(obj: BpfObject, pids: number[]): UnwindSession {
  const maps = new UnwindMaps(obj);
  const store = new UstackStore(obj.map('ustacks'));
  const py = new PyProcs(obj);
  const python = new PyFrameNamer((pid) => layouts.get(pid));
  // layouts stay known after a process exits, so its last stacks are still named
  const layouts = new Map<number, PyCodeLayout>();
  const observer = {
    scan(pid: number, m: readonly Mapping[]) {
      py.scan(pid, m);
      const l = py.get(pid)?.layout?.code;
      if (l) layouts.set(pid, l);
    },
    drop(pid: number) {
      py.drop(pid);
      // named at the next drain from what was read; forgotten after it
      setTimeout(() => {
        python.drop(pid);
        layouts.delete(pid);
      }, 60000).unref();
    },
  };
  const tracker = new UnwindTracker(maps, unwindTableSource(), { pids, observer, memoryLimitBytes: unwindMemoryLimit() });
  return {
    store,
    tracker,
    python,
    tablesLoaded: (boundMs) => waitBounded(tracker.idle(), boundMs),
    info: () => ({ ...tracker.info(), python: py.summary() }),
    close: () => {
      python.close();
      tracker.close();
    },
  };
}

/**
 * How long a capture waits for the unwind tables of the processes present at start before it
 * starts sampling anyway (its samples in code without a table yet are counted as "no table").
 * Named processes (-p): their own objects, typically a few (python3: 60 ms here from the disk cache,
 * up to ~0.8 s to generate a libpython table cold): 3 s. System-wide: every object mapped on the host;
 * generating them all cold took 4.6 s on this 2-core host, from the disk cache well under a second;
 * 5 s covers the cold case here, and the capture's start time and duration count from when sampling
 * starts, so the wait costs no samples, only a later start.
 */
export const TABLE_WAIT_PIDS_MS = 3000;
export const TABLE_WAIT_ALL_MS = 5000;

export function tableWaitMs(pids: readonly number[]): number {
  return pids.length ? TABLE_WAIT_PIDS_MS : TABLE_WAIT_ALL_MS;
}

function waitBounded(p: Promise<void>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
  return Promise.race([p.then(() => true), timeout]).finally(() => clearTimeout(t));
}

/**
 * Load a stack tool's object with the walker on (mode 'cfi' / 'auto') or off ('fp'). 'auto' falls
 * back to frame pointers when the kernel rejects the walker (old kernels: no bpf_loop, no
 * bpf_task_pt_regs); 'cfi' reports that failure. Returns the object and whether the walker is on.
 */
export function loadWithUnwind(mode: UnwindMode | undefined, wanted: boolean, load: (cfi: boolean) => BpfObject): { obj: BpfObject; cfi: boolean } {
  const m = mode ?? 'auto';
  if (m === 'fp' || !wanted) return { obj: load(false), cfi: false };
  try {
    return { obj: load(true), cfi: true };
  } catch (e) {
    if (m === 'cfi' || (e instanceof BpfError && e.isPermission)) throw e;
    return { obj: load(false), cfi: false };
  }
}

/** enable() filter of BpfObject.load: the exec hook only with the walker, the system-call exit
 * hook only with deferred off-CPU user stacks */
export function unwindPrograms(cfi: boolean, deferUser = false): (base: string) => boolean {
  return (base) => (base !== 'sched_process_exec' || cfi) && (base !== 'sys_exit' || deferUser);
}
