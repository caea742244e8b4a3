/**
 * Byte layouts of the structs in src/c/*.h, mirrored for the TypeScript side (x86_64, little endian).
 * Sizes are checked against the loaded maps (assertSize) so a drift between C and TS fails loudly.
 */
import { BpfError } from '../errors.js';
import type { BpfMap } from '../object.js';

export const TASK_COMM_LEN = 16;
export const MAX_STACK_DEPTH = 127;
export const STACK_NOT_COLLECTED = -10000;
export const EFAULT = 14;

/** indices of the kernel counters (enum bpfscope_stat in bpfscope.h) */
export const Stat = {
  EVENTS: 0,
  USTACK_EFAULT: 1,
  USTACK_EEXIST: 2,
  USTACK_ENOMEM: 3,
  USTACK_OTHER: 4,
  KSTACK_EFAULT: 5,
  KSTACK_EEXIST: 6,
  KSTACK_ENOMEM: 7,
  KSTACK_OTHER: 8,
  MAP_FULL: 9,
  START_FULL: 10,
  UNWIND_NO_TABLE: 11,
  UNWIND_UNSUPPORTED: 12,
  UNWIND_FAULT: 13,
  UNWIND_TRUNCATED: 14,
  PY_UNSUPPORTED: 15,
  COMPLETION_UNSEEN: 16,
} as const;

export function assertSize(map: BpfMap, keySize: number, valueSize: number): void {
  if (map.keySize !== keySize || map.valueSize !== valueSize) {
    throw new BpfError({
      errno: 22,
      code: 'EINVAL',
      message: `map ${map.name}: key/value sizes ${map.keySize}/${map.valueSize} differ from the TypeScript layout ${keySize}/${valueSize}; rebuild with packages/bpf/build-bpf.sh`,
    });
  }
}

export function readComm(buf: Buffer, off: number): string {
  let end = off;
  const max = off + TASK_COMM_LEN;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

/* struct thread_filter (8 bytes) */
export interface ThreadFilter {
  filterPid: boolean;
  filterTid: boolean;
  userThreadsOnly: boolean;
  kernelThreadsOnly: boolean;
  state: number;
}

/** A run of u8 flag fields of a C struct (1 or 0), in their order in the struct, the first at `off`. */
function writeFlags(b: Buffer, off: number, ...flags: (boolean | undefined)[]): void {
  for (let i = 0; i < flags.length; i++) b[off + i] = flags[i] ? 1 : 0;
}

function writeThreadFilter(b: Buffer, off: number, f: ThreadFilter): void {
  writeFlags(b, off, f.filterPid, f.filterTid, f.userThreadsOnly, f.kernelThreadsOnly);
  b.writeInt32LE(f.state, off + 4);
}

/* struct profile_cfg (16) / profile_key (40) */
export const PROFILE_KEY_SIZE = 40;
export function profileCfg(c: {
  bucketNs: bigint;
  filterPid: boolean;
  filterTid: boolean;
  userOnly: boolean;
  kernelOnly: boolean;
  includeIdle: boolean;
  unwind: boolean;
}): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(c.bucketNs, 0);
  writeFlags(b, 8, c.filterPid, c.filterTid, c.userOnly, c.kernelOnly, c.includeIdle, c.unwind);
  return b;
}

/* struct offcpu_cfg / wakeup_cfg / offwake_cfg (32) */
export function offcpuCfg(c: {
  f: ThreadFilter;
  minUs: bigint;
  maxUs: bigint;
  userOnly: boolean;
  kernelOnly: boolean;
  unwind: boolean;
  deferUser?: boolean;
}): Buffer {
  const b = Buffer.alloc(32);
  writeThreadFilter(b, 0, c.f);
  b.writeBigUInt64LE(c.minUs, 8);
  b.writeBigUInt64LE(c.maxUs, 16);
  writeFlags(b, 24, c.userOnly, c.kernelOnly, c.unwind, c.deferUser);
  return b;
}
export const OFFCPU_KEY_SIZE = 32;
export const WAKEUP_KEY_SIZE = 56;
export const OFFWAKE_KEY_SIZE = 64;

/* struct bio_cfg (8) / bio_key (8) / bio_hist (112) */
export const BIO_MAX_SLOTS = 27;
export const BIO_KEY_SIZE = 8;
export const BIO_HIST_SIZE = 112;
export function bioCfg(c: { queued: boolean; perDisk: boolean; perFlag: boolean; milliseconds: boolean }): Buffer {
  const b = Buffer.alloc(8);
  writeFlags(b, 0, c.queued, c.perDisk, c.perFlag, c.milliseconds);
  return b;
}

/* anyfunc.h: struct anyfunc_cfg (24) / anyfunc_stack_key (32) / anyfunc_hist (400) */
export const AnyfuncMode = { COUNT: 0, STACKS: 1, LATENCY: 2 } as const;
export const ANYFUNC_MAX_SLOTS = 48;
export const ANYFUNC_STACK_KEY_SIZE = 32;
export const ANYFUNC_HIST_SIZE = ANYFUNC_MAX_SLOTS * 8 + 16;
export function anyfuncCfg(c: {
  mode: number;
  filterPid: boolean;
  userOnly: boolean;
  kernelOnly: boolean;
  perPid: boolean;
  perFunc: boolean;
  /** CPU to keep, or undefined for all */
  cpu?: number;
  divisor: bigint;
  /** fentry objects: the probe index */
  probe?: number;
  /** stacks: user stacks by the CFI walker */
  unwind?: boolean;
}): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(c.probe ?? 0, 12);
  b[0] = c.mode;
  writeFlags(b, 1, c.filterPid, c.userOnly, c.kernelOnly, c.perPid, c.perFunc, c.unwind);
  b.writeUInt32LE(c.cpu === undefined ? 0 : c.cpu + 1, 8);
  b.writeBigUInt64LE(c.divisor, 16);
  return b;
}

/* runqlat.h: struct runqlat_cfg (8) / runqlat_hist (144) */
export const RUNQLAT_MAX_SLOTS = 32;
export const RUNQLAT_HIST_SIZE = RUNQLAT_MAX_SLOTS * 4 + TASK_COMM_LEN;
export function runqlatCfg(c: { filterPid: boolean; key: 'none' | 'pid' | 'tid'; milliseconds: boolean }): Buffer {
  const b = Buffer.alloc(8);
  b[0] = c.filterPid ? 1 : 0;
  b[1] = c.key === 'pid' ? 1 : c.key === 'tid' ? 2 : 0;
  b[2] = c.milliseconds ? 1 : 0;
  return b;
}
