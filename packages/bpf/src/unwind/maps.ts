/**
 * The CFI walker's BPF maps from user space (src/c/unwind.bpf.h, unwind_walk.h):
 * - UnwindMaps: one inner array map per unwind table (exactly its rows), put into unwind_tables at a
 *   table index; per-process mapping arrays in unwind_procs; pending "unknown pc" reports.
 * - UstackStore: the walked user stacks (ustacks: frame array → id), read and deleted each interval.
 */
import { performance } from 'node:perf_hooks';
import * as L from '../ffi/libbpf.js';
import { close } from '../ffi/libc.js';
import { BpfError } from '../errors.js';
import { HashDrainer } from '../maps.js';
import type { BpfMap, BpfObject } from '../object.js';
import { ROW_SIZE } from './format.js';

export const UNWIND_MAX_MAPPINGS = 256;
export const UNWIND_MAX_TABLES = 4096;
const TABLE_BITS = 12;
export const UNWIND_TABLE_FP = 0xffffffff;
export const UNWIND_TABLE_PENDING = 0xfffffffe;
/** bytes of struct unwind_mapping / unwind_proc / ustack_key */
export const MAPPING_SIZE = 32;
export const PROC_SIZE = 8 + UNWIND_MAX_MAPPINGS * MAPPING_SIZE;
export const MAX_DEPTH = 127;
export const USTACK_KEY_SIZE = 8 + MAX_DEPTH * 8;
export const USTACK_TRUNCATED = 1;
export const USTACK_NO_TABLE = 2;
export const USTACK_UNSUPPORTED = 4;
export const USTACK_FAULT = 8;
export const USTACK_NO_RULE = 16;
export const USTACK_COMPLETE = 32;
/** a table's rows in the kernel: array elements are rounded up to 8 bytes */
export const KERNEL_ROW_BYTES = 16;
/** bpf_loop binary search bound in unwind.bpf.h (25 halvings) */
export const MAX_TABLE_ROWS = (1 << 24) - 1;

const BPF_MAP_TYPE_ARRAY = 2;
/** rows per bpf_map_update_batch call of a table fill (~2.5 ms of kernel copying here) */
const FILL_BATCH_ROWS = 4096;
/** a table fill yields to the event loop after this long */
const FILL_SLICE_MS = 8;
const BPF_F_INNER_MAP = 1 << 12;

/** A table's rows in a BPF array of their own, not yet in unwind_tables (UnwindMaps.fillTable). */
export interface FilledTable {
  fd: number;
  rows: number;
  name: string;
}

/** One executable mapping of a process as the walker sees it. */
export interface WalkerMapping {
  start: number;
  end: number;
  /** ELF virtual address = runtime address - bias (may be negative for non-PIE executables: 0) */
  bias: number;
  /** table index, UNWIND_TABLE_FP or UNWIND_TABLE_PENDING */
  table: number;
  rows: number;
}

export class UnwindMaps {
  private tablesMap: BpfMap;
  private procsMap: BpfMap;
  private unknownDrainer: HashDrainer;
  private inner = new Map<number, { fd: number; rows: number }>();
  private freeIds: number[] = [];
  private nextId = 0;
  private gen = 0;
  private procBuf = Buffer.alloc(PROC_SIZE);
  private key4 = Buffer.alloc(4);
  /** bytes of table rows in the kernel (KERNEL_ROW_BYTES per row) */
  tableBytes = 0;
  /** bytes of process mapping arrays in the kernel */
  procBytes = 0;
  private procs = new Set<number>();
  private closed = false;
  /** freed table slots not yet cleared in unwind_tables (clearFreed) */
  private freeing: number[] = [];
  /** when the current slice of table loading began (loadTable yields after FILL_SLICE_MS) */
  private sliceStart = 0;

  constructor(obj: BpfObject) {
    this.tablesMap = obj.map('unwind_tables');
    this.procsMap = obj.map('unwind_procs');
    if (this.procsMap.valueSize !== PROC_SIZE) {
      throw new BpfError({
        errno: 22,
        code: 'EINVAL',
        message: `map unwind_procs: value size ${this.procsMap.valueSize} differs from the TypeScript layout ${PROC_SIZE}; rebuild with packages/bpf/build-bpf.sh`,
      });
    }
    this.unknownDrainer = new HashDrainer(obj.map('unwind_unknown'));
  }

  /**
   * Create a BPF array of `count` rows (12 bytes each, ROW_SIZE) and fill it; the walker does not see
   * it until insertTables(). The fill (the kernel copies each row: ~0.3-0.6 µs a row here, 0.1-0.2 s
   * for a 300k-row table, more on a busy host) runs in batches of FILL_BATCH_ROWS and yields to the
   * event loop (setImmediate) whenever FILL_SLICE_MS have passed, also between tables, so loading
   * never stalls the caller's event loop (a collector keeps answering its clients while a capture
   * loads its tables). Rejects, with its map closed, when close() comes meanwhile.
   */
  async fillTable(rows: Uint8Array, count: number, name: string): Promise<FilledTable> {
    if (count <= 0 || count > MAX_TABLE_ROWS) throw new Error(`unwind table ${name}: ${count} rows (1..${MAX_TABLE_ROWS} supported)`);
    if (rows.byteLength < count * ROW_SIZE) throw new Error(`unwind table ${name}: ${rows.byteLength} bytes for ${count} rows`);
    await this.pause(name);
    const opts = Buffer.alloc(48);
    opts.writeBigUInt64LE(48n, 0);
    opts.writeUInt32LE(BPF_F_INNER_MAP, 28);
    const fd = L.bpf_map_create(BPF_MAP_TYPE_ARRAY, 'unwind_rows', 4, ROW_SIZE, count, opts) as number;
    if (fd < 0) throw BpfError.fromErrno(-fd, `create the unwind table map of ${name} (${count} rows)`);
    try {
      const keys = new Uint32Array(Math.min(FILL_BATCH_ROWS, count));
      const cnt = new Uint32Array(1);
      for (let base = 0; base < count; base += FILL_BATCH_ROWS) {
        await this.pause(name);
        const n = Math.min(FILL_BATCH_ROWS, count - base);
        for (let i = 0; i < n; i++) keys[i] = base + i;
        cnt[0] = n;
        const vals = Buffer.from(rows.buffer, rows.byteOffset + base * ROW_SIZE, n * ROW_SIZE);
        const r = L.bpf_map_update_batch(fd, keys, vals, cnt, null) as number;
        if (r < 0) throw BpfError.fromErrno(-r, `fill the unwind table map of ${name}`);
      }
    } catch (e) {
      close(fd);
      throw e;
    }
    return { fd, rows: count, name };
  }

  /**
   * Put filled tables at free table indexes, all in one bpf_map_update_batch of unwind_tables: every
   * update of a map-in-map waits for an RCU grace period (8-20 ms here, a blocking system call), so
   * one per table made a host's ~150 tables take seconds. Returns, per table, the handle the walker's
   * mapping entries carry (generation << 12 | index), or the error that kept it out (its map closed).
   */
  insertTables(list: readonly FilledTable[]): Array<number | Error> {
    const out: Array<number | Error> = new Array(list.length);
    const ids: number[] = [];
    const at: number[] = [];
    list.forEach((f, i) => {
      const id = this.freeIds.pop() ?? (this.nextId < UNWIND_MAX_TABLES ? this.nextId++ : -1);
      if (id < 0) {
        close(f.fd);
        out[i] = new Error(`unwind table ${f.name}: all ${UNWIND_MAX_TABLES} table slots in use`);
      } else {
        ids.push(id);
        at.push(i);
      }
    });
    if (ids.length === 0) return out;
    const keys = new Uint32Array(ids);
    const vals = new Uint32Array(at.map((i) => list[i].fd));
    const cnt = new Uint32Array([ids.length]);
    const r = L.bpf_map_update_batch(this.tablesMap.fd, keys, Buffer.from(vals.buffer), cnt, null) as number;
    // a failed batch (a bad element, or no batch updates for this map type on an older kernel; cnt is
    // not reliable then): every table one by one (an update of a slot already set is the same update),
    // each with its own error
    const done = r < 0 ? 0 : ids.length;
    for (let j = 0; j < ids.length; j++) {
      const i = at[j];
      const f = list[i];
      if (j >= done) {
        this.key4.writeUInt32LE(ids[j]);
        const v = Buffer.alloc(4);
        v.writeUInt32LE(f.fd);
        const e = L.bpf_map_update_elem(this.tablesMap.fd, this.key4, v, 0n) as number;
        if (e < 0) {
          close(f.fd);
          this.freeIds.push(ids[j]);
          out[i] = BpfError.fromErrno(-e, `insert the unwind table of ${f.name}`);
          continue;
        }
      }
      this.inner.set(ids[j], { fd: f.fd, rows: f.rows });
      this.tableBytes += f.rows * KERNEL_ROW_BYTES;
      // the walker's row cache is keyed by this value: a new generation for every load of an index
      this.gen = this.gen >= 0xffffe ? 1 : this.gen + 1;
      out[i] = ((this.gen << TABLE_BITS) | ids[j]) >>> 0;
    }
    return out;
  }

  /** Close a filled table that will not be inserted. */
  discardTable(f: FilledTable): void {
    close(f.fd);
  }

  /** A loader starts: the first FILL_SLICE_MS of its work run at once (a new process's table or
   * two load without waiting for the event loop's other work). */
  beginSlice(): void {
    this.sliceStart = performance.now();
  }

  /** Yield to the event loop (setImmediate) when this slice of loading has taken FILL_SLICE_MS;
   * throws when close() came meanwhile. */
  private async pause(name: string): Promise<void> {
    if (performance.now() - this.sliceStart >= FILL_SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      this.sliceStart = performance.now();
    }
    if (this.closed) throw new Error(`unwind table ${name}: the unwinder was closed while loading it`);
  }

  /** `handle`: what loadTable returned */
  freeTable(handle: number): void {
    const id = handle & (UNWIND_MAX_TABLES - 1);
    const t = this.inner.get(id);
    if (!t) return;
    // the map in unwind_tables keeps the table alive until its slot is cleared
    close(t.fd);
    this.inner.delete(id);
    this.tableBytes -= t.rows * KERNEL_ROW_BYTES;
    // the slot is cleared soon, not now: every delete from a map-in-map waits for an RCU grace period
    // (8-20 ms here; array-of-maps has no batch delete), so the slots of the tables of processes that
    // exited are cleared in slices between which the event loop runs; reused only once cleared
    this.freeing.push(id);
    if (this.freeing.length === 1) setImmediate(() => this.clearFreed());
  }

  /** Clear the slots of freed tables in unwind_tables for up to FILL_SLICE_MS, then yield. */
  private clearFreed(): void {
    if (this.closed) return;
    const t0 = performance.now();
    while (this.freeing.length && performance.now() - t0 < FILL_SLICE_MS) {
      const id = this.freeing.shift()!;
      this.key4.writeUInt32LE(id);
      L.bpf_map_delete_elem(this.tablesMap.fd, this.key4);
      this.freeIds.push(id);
    }
    if (this.freeing.length) setImmediate(() => this.clearFreed());
  }

  /** Write (replace) a process's mappings; at most UNWIND_MAX_MAPPINGS (the caller chooses which). */
  setProcess(pid: number, mappings: readonly WalkerMapping[]): void {
    const b = this.procBuf;
    b.fill(0);
    const sorted = mappings
      .slice()
      .sort((a, c) => a.start - c.start)
      .slice(0, UNWIND_MAX_MAPPINGS);
    b.writeUInt32LE(sorted.length, 0);
    sorted.forEach((m, i) => {
      const o = 8 + i * MAPPING_SIZE;
      b.writeBigUInt64LE(BigInt(m.start), o);
      b.writeBigUInt64LE(BigInt(m.end), o + 8);
      b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(m.bias)), o + 16);
      b.writeUInt32LE(m.table >>> 0, o + 24);
      b.writeUInt32LE(m.rows >>> 0, o + 28);
    });
    this.key4.writeUInt32LE(pid);
    const r = L.bpf_map_update_elem(this.procsMap.fd, this.key4, b, 0n) as number;
    if (r < 0) throw BpfError.fromErrno(-r, `write the unwind mappings of pid ${pid}`);
    if (!this.procs.has(pid)) {
      this.procs.add(pid);
      this.procBytes += PROC_SIZE;
    }
  }

  deleteProcess(pid: number): void {
    this.key4.writeUInt32LE(pid);
    L.bpf_map_delete_elem(this.procsMap.fd, this.key4);
    if (this.procs.delete(pid)) this.procBytes -= PROC_SIZE;
  }

  /** pids whose walk met a pc no mapping covered since the last call (and one such pc each) */
  unknownReports(): Array<{ pid: number; pc: number }> {
    const n = this.unknownDrainer.drain();
    const out: Array<{ pid: number; pc: number }> = [];
    for (let i = 0; i < n; i++) {
      out.push({ pid: this.unknownDrainer.keys.readUInt32LE(i * 4), pc: Number(this.unknownDrainer.values.readBigUInt64LE(i * 8)) });
    }
    return out;
  }

  get tableCount(): number {
    return this.inner.size;
  }

  /**
   * Close every table map; a load in progress stops. The caller destroys the object next: its
   * unwind_tables releases the tables then (no delete per slot: each would wait for an RCU grace period).
   */
  close(): void {
    this.closed = true;
    for (const t of this.inner.values()) close(t.fd);
    this.inner.clear();
    this.freeing.length = 0;
    this.tableBytes = 0;
  }
}

export interface WalkedStack {
  /** leaf first, as walked */
  pcs: bigint[];
  flags: number;
}

/**
 * ustacks (frame array → id) drained once per interval after the counts map, so every id a drained
 * count refers to has been read; ids of the previous interval stay resolvable (a sample that found
 * an existing stack just before it was read and deleted counts in the next interval).
 */
export class UstackStore {
  private drainer: HashDrainer;
  private cur = new Map<number, WalkedStack>();
  private prev = new Map<number, WalkedStack>();
  private drained = false;

  constructor(map: BpfMap) {
    if (map.keySize !== USTACK_KEY_SIZE) {
      throw new BpfError({
        errno: 22,
        code: 'EINVAL',
        message: `map ustacks: key size ${map.keySize} differs from the TypeScript layout ${USTACK_KEY_SIZE}; rebuild with packages/bpf/build-bpf.sh`,
      });
    }
    this.drainer = new HashDrainer(map);
  }

  private drain(): void {
    if (this.drained) return;
    this.drained = true;
    const n = this.drainer.drain();
    const k = this.drainer.keys;
    const v = this.drainer.values;
    for (let i = 0; i < n; i++) {
      const o = i * USTACK_KEY_SIZE;
      const len = Math.min(k.readUInt32LE(o), MAX_DEPTH);
      const flags = k.readUInt32LE(o + 4);
      const pcs: bigint[] = new Array(len);
      for (let j = 0; j < len; j++) pcs[j] = k.readBigUInt64LE(o + 8 + j * 8);
      this.cur.set(v.readUInt32LE(i * 4), { pcs, flags });
    }
  }

  get(id: number): WalkedStack | undefined {
    this.drain();
    return this.cur.get(id) ?? this.prev.get(id);
  }

  endInterval(): void {
    this.drain();
    this.prev = this.cur;
    this.cur = new Map();
    this.drained = false;
  }
}
