/**
 * The CFI walker's BPF maps from user space (src/c/unwind.bpf.h, unwind_walk.h):
 * - UnwindMaps: one inner array map per unwind table (exactly its rows), put into unwind_tables at a
 *   table index; per-process mapping arrays in unwind_procs; pending "unknown pc" reports.
 * - UstackStore: the walked user stacks (ustacks: frame array → id), read and deleted each interval.
 */
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
const BPF_F_INNER_MAP = 1 << 12;

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

  /** Create a BPF array of `count` rows (12 bytes each, ROW_SIZE) and put it at a free table index;
   * returns the handle the walker's mapping entries carry (generation << 12 | index). */
  loadTable(rows: Uint8Array, count: number, name: string): number {
    if (count <= 0 || count > MAX_TABLE_ROWS) throw new Error(`unwind table ${name}: ${count} rows (1..${MAX_TABLE_ROWS} supported)`);
    if (rows.byteLength < count * ROW_SIZE) throw new Error(`unwind table ${name}: ${rows.byteLength} bytes for ${count} rows`);
    const id = this.freeIds.pop() ?? this.nextId++;
    if (id >= UNWIND_MAX_TABLES) {
      this.nextId = UNWIND_MAX_TABLES;
      throw new Error(`unwind tables: all ${UNWIND_MAX_TABLES} table slots in use`);
    }
    const opts = Buffer.alloc(48);
    opts.writeBigUInt64LE(48n, 0);
    opts.writeUInt32LE(BPF_F_INNER_MAP, 28);
    const fd = L.bpf_map_create(BPF_MAP_TYPE_ARRAY, 'unwind_rows', 4, ROW_SIZE, count, opts) as number;
    if (fd < 0) {
      this.freeIds.push(id);
      throw BpfError.fromErrno(-fd, `create the unwind table map of ${name} (${count} rows)`);
    }
    try {
      const CHUNK = 65536;
      const keys = new Uint32Array(Math.min(CHUNK, count));
      const cnt = new Uint32Array(1);
      for (let base = 0; base < count; base += CHUNK) {
        const n = Math.min(CHUNK, count - base);
        for (let i = 0; i < n; i++) keys[i] = base + i;
        cnt[0] = n;
        const vals = Buffer.from(rows.buffer, rows.byteOffset + base * ROW_SIZE, n * ROW_SIZE);
        const r = L.bpf_map_update_batch(fd, keys, vals, cnt, null) as number;
        if (r < 0) throw BpfError.fromErrno(-r, `fill the unwind table map of ${name}`);
      }
      this.key4.writeUInt32LE(id);
      const v = Buffer.alloc(4);
      v.writeUInt32LE(fd);
      const r = L.bpf_map_update_elem(this.tablesMap.fd, this.key4, v, 0n) as number;
      if (r < 0) throw BpfError.fromErrno(-r, `insert the unwind table of ${name}`);
    } catch (e) {
      close(fd);
      this.freeIds.push(id);
      throw e;
    }
    this.inner.set(id, { fd, rows: count });
    this.tableBytes += count * KERNEL_ROW_BYTES;
    // the walker's row cache is keyed by this value: a new generation for every load of an index
    this.gen = this.gen >= 0xffffe ? 1 : this.gen + 1;
    return ((this.gen << TABLE_BITS) | id) >>> 0;
  }

  /** `handle`: what loadTable returned */
  freeTable(handle: number): void {
    const id = handle & (UNWIND_MAX_TABLES - 1);
    const t = this.inner.get(id);
    if (!t) return;
    this.key4.writeUInt32LE(id);
    L.bpf_map_delete_elem(this.tablesMap.fd, this.key4);
    close(t.fd);
    this.inner.delete(id);
    this.freeIds.push(id);
    this.tableBytes -= t.rows * KERNEL_ROW_BYTES;
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

  /** Close every table map (the object's own maps go with BpfObject.destroy). */
  close(): void {
    for (const id of [...this.inner.keys()]) this.freeTable(id);
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
