/** Map access in bulk: one Buffer per map, reused every interval; batch ops when the kernel has them. */
import * as L from './ffi/libbpf.js';
import { BpfError } from './errors.js';
import { syscall, syscall3 } from './ffi/libc.js';
import type { BpfMap, BpfObject } from './object.js';

const ENOENT = 2;
const ENOSPC = 28;
const EINVAL = 22;
const ENOTSUPP = 524;
const EOPNOTSUPP = 95;

/** x86_64 / aarch64 syscall numbers of membarrier(2) */
const SYS_membarrier = process.arch === 'arm64' ? 283 : 324;
const MEMBARRIER_CMD_GLOBAL = 1;

/**
 * Wait until every BPF program running now has returned: membarrier(MEMBARRIER_CMD_GLOBAL) is an
 * RCU grace period (synchronize_rcu), and non-sleepable programs run inside RCU read-side sections
 * (tracepoints, kprobes, uprobes, perf events, trampolines).
 */
export function waitForRunningPrograms(): void {
  checkMembarrier(Number(syscall(SYS_membarrier, 'int', MEMBARRIER_CMD_GLOBAL, 'unsigned int', 0, 'int', -1)));
}

/** waitForRunningPrograms on the libuv threadpool: the event loop keeps running during the grace period. */
export function waitForRunningProgramsAsync(): Promise<void> {
  return new Promise((resolve, reject) => {
    syscall3.async(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, -1, (err: unknown, r: unknown) => {
      if (err) return reject(err);
      try {
        checkMembarrier(Number(r));
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

function checkMembarrier(r: number): void {
  if (r < 0)
    throw new BpfError({
      errno: 22,
      message: 'membarrier(MEMBARRIER_CMD_GLOBAL) failed: the kernel needs CONFIG_MEMBARRIER (and no nohz_full CPUs) to drain maps without losing updates',
    });
}

/**
 * Reads and deletes every entry of a hash map; views stay valid until the next drain().
 * A DRAINED_HASH_MAP (bpfscope.bpf.h: `name`, `name_alt`, `name_gen`; open it with drainerOf) is
 * drained without losing what programs add meanwhile: the programs are switched to the other map,
 * the ones still running are waited for, then the map nobody writes to any more is drained. A plain
 * hash map is drained in place: an addition racing with the deletion of its entry can be lost.
 *
 * A drain is switch → wait → read. drain() does all three synchronously (the wait blocks the
 * thread for an RCU grace period, 8-60 ms on a loaded machine); prepareAsync() does the switch and
 * waits on the threadpool, and the drain() after it only reads (drainAsync() = both).
 */
export class HashDrainer {
  readonly keys: Buffer;
  readonly values: Buffer;
  private inBatch: Buffer;
  private outBatch: Buffer;
  private count = new Uint32Array(1);
  private batchOk: boolean | undefined;
  private gen = 0;
  private genKey = Buffer.alloc(4);
  private genVal = Buffer.alloc(4);
  /** number of entries read by the last drain() */
  n = 0;

  /** opts.batch=false: always use get_next_key + lookup + delete (what kernels without batch ops get);
   * opts.alt/opts.gen: the twin map and the __u32 array selecting which one programs write to */
  constructor(
    readonly map: BpfMap,
    opts: { batch?: boolean; alt?: BpfMap; gen?: BpfMap } = {},
  ) {
    if (opts.batch === false) this.batchOk = false;
    if (opts.alt || opts.gen) {
      if (!opts.alt || !opts.gen) throw new BpfError({ errno: 22, message: `drain map ${map.name}: alt and gen go together` });
      if (opts.alt.keySize !== map.keySize || opts.alt.valueSize !== map.valueSize || opts.alt.maxEntries !== map.maxEntries) {
        throw new BpfError({ errno: 22, message: `drain map ${map.name}: ${opts.alt.name} differs in key/value size or entries` });
      }
      this.alt = opts.alt;
      this.genMap = opts.gen;
    }
    this.keys = Buffer.alloc(map.keySize * map.maxEntries);
    this.values = Buffer.alloc(map.valueSize * map.maxEntries);
    const batchSize = Math.max(8, map.keySize);
    this.inBatch = Buffer.alloc(batchSize);
    this.outBatch = Buffer.alloc(batchSize);
  }

  private alt: BpfMap | undefined;
  private genMap: BpfMap | undefined;

  /** the map the programs were switched away from, not read yet */
  private pending: BpfMap | undefined;
  /** switches so far, and the switch whose running programs have been waited for */
  private switches = 0;
  private waited = 0;

  private switchMaps(alt: BpfMap, genMap: BpfMap): void {
    // programs switch to the other map; once the ones still running have returned, nothing writes to the one they left
    const target = this.gen & 1 ? alt : this.map;
    this.genVal.writeUInt32LE(this.gen ^ 1);
    const r = L.bpf_map_update_elem(genMap.fd, this.genKey, this.genVal, 0) as number;
    if (r < 0) throw BpfError.fromErrno(-r, `switch ${this.map.name} to its other map`);
    this.gen ^= 1;
    this.pending = target;
    this.switches++;
  }

  /**
   * Switch the programs to the other map and wait (on the threadpool) until the ones still running
   * have returned; the next drain() then only reads. No-op for a plain map or when already prepared.
   */
  async prepareAsync(): Promise<void> {
    if (!this.alt || !this.genMap) return;
    if (!this.pending) this.switchMaps(this.alt, this.genMap);
    const s = this.switches;
    if (this.waited === s) return;
    await waitForRunningProgramsAsync();
    // a sync drain() meanwhile read that map (and waited itself): nothing to mark
    if (this.switches === s && this.pending) this.waited = s;
  }

  /** prepareAsync() then drain(): the number of entries, read into keys/values. */
  async drainAsync(): Promise<number> {
    await this.prepareAsync();
    return this.drain();
  }

  /** Returns the number of entries; key i is keys[i*keySize…], value i is values[i*valueSize…]. */
  drain(): number {
    let target = this.map;
    if (this.alt && this.genMap) {
      if (!this.pending) this.switchMaps(this.alt, this.genMap);
      if (this.waited !== this.switches) {
        waitForRunningPrograms();
        this.waited = this.switches;
      }
      target = this.pending as BpfMap;
      this.pending = undefined;
    }
    if (this.batchOk !== false) {
      const r = this.drainBatch(target);
      if (r >= 0) {
        this.batchOk = true;
        return (this.n = r);
      }
      this.batchOk = false;
    }
    return (this.n = this.drainOneByOne(target));
  }

  /** -1 when the kernel has no batch ops for this map */
  private drainBatch(map: BpfMap): number {
    const { keySize, valueSize, maxEntries, fd } = map;
    let total = 0;
    let first = true;
    for (;;) {
      const room = maxEntries - total;
      if (room <= 0) break;
      this.count[0] = room;
      const keys = this.keys.subarray(total * keySize);
      const values = this.values.subarray(total * valueSize);
      const r = L.bpf_map_lookup_and_delete_batch(fd, first ? null : this.inBatch, this.outBatch, keys, values, this.count, null) as number;
      const got = this.count[0];
      if (r < 0 && -r !== ENOENT) {
        if (first && got === 0 && (-r === EINVAL || -r === ENOTSUPP || -r === EOPNOTSUPP)) return -1;
        if (-r === ENOSPC) throw new BpfError({ errno: ENOSPC, message: `drain map ${this.map.name}: batch buffer too small` });
        throw BpfError.fromErrno(-r, `drain map ${this.map.name}`);
      }
      total += got;
      if (r < 0) break; // ENOENT: walked the whole map
      this.outBatch.copy(this.inBatch);
      first = false;
    }
    return total;
  }

  private drainOneByOne(map: BpfMap): number {
    const { keySize, valueSize, maxEntries, fd } = map;
    let n = 0;
    let prev: Buffer | null = null;
    // collect keys first (deleting while walking would restart the walk)
    while (n < maxEntries) {
      const next = this.keys.subarray(n * keySize, (n + 1) * keySize);
      if ((L.bpf_map_get_next_key(fd, prev, next) as number) < 0) break;
      prev = next;
      n++;
    }
    let out = 0;
    for (let i = 0; i < n; i++) {
      const key = this.keys.subarray(i * keySize, (i + 1) * keySize);
      const val = this.values.subarray(out * valueSize, (out + 1) * valueSize);
      if ((L.bpf_map_lookup_elem(fd, key, val) as number) < 0) continue;
      L.bpf_map_delete_elem(fd, key);
      if (out !== i) key.copy(this.keys, out * keySize);
      out++;
    }
    return out;
  }
}

/** The drainer of `name`, a DRAINED_HASH_MAP of obj (name, name_alt, name_gen). */
export function drainerOf(obj: BpfObject, name: string, opts: { batch?: boolean } = {}): HashDrainer {
  return new HashDrainer(obj.map(name), { ...opts, alt: obj.map(`${name}_alt`), gen: obj.map(`${name}_gen`) });
}

/** u64 counters in one per-CPU array entry (the `stats` map), summed over CPUs; returns deltas since the last read. */
export class StatsReader {
  private buf: Buffer;
  private prev: bigint[];
  private key = Buffer.alloc(4);
  private ncpu: number;
  private stride: number;

  constructor(private map: BpfMap) {
    const n = L.libbpf_num_possible_cpus() as number;
    if (n <= 0) throw BpfError.fromErrno(-n, 'count possible CPUs');
    this.ncpu = n;
    this.stride = Math.ceil(map.valueSize / 8) * 8; // per-CPU values are 8-byte aligned
    this.buf = Buffer.alloc(this.stride * n);
    this.prev = new Array(map.valueSize / 8).fill(0n);
  }

  read(): number[] {
    const r = L.bpf_map_lookup_elem(this.map.fd, this.key, this.buf) as number;
    if (r < 0) throw BpfError.fromErrno(-r, `read ${this.map.name}`);
    const out: number[] = [];
    for (let i = 0; i < this.prev.length; i++) {
      let v = 0n;
      for (let c = 0; c < this.ncpu; c++) v += this.buf.readBigUInt64LE(c * this.stride + i * 8);
      out.push(Number(v - this.prev[i]));
      this.prev[i] = v;
    }
    return out;
  }
}

/** Fill a u32 → u8 filter map (pid_filter / tid_filter). */
export function fillU32Set(map: BpfMap, values: readonly number[]): void {
  const k = Buffer.alloc(4);
  const v = Buffer.from([1]);
  for (const x of values) {
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) {
      throw new BpfError({ errno: 22, code: 'EINVAL', message: `bad id ${x} for ${map.name}: expected a non-negative integer` });
    }
    k.writeUInt32LE(x);
    const r = L.bpf_map_update_elem(map.fd, k, v, 0n) as number;
    if (r < 0) throw BpfError.fromErrno(-r, `fill ${map.name}`);
  }
}
