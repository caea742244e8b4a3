/**
 * Attaching the generic probe programs (kprobe.multi, kprobe, uprobe, raw tracepoints) of a loaded
 * BpfObject, each attachment with a BPF cookie the program reads back (bpf_get_attach_cookie).
 * libbpf's option structs are written by hand (x86_64 layouts of /usr/include/bpf/libbpf.h, 1.1);
 * raw tracepoints with a cookie go through the bpf syscall (libbpf 1.1 has no option for it).
 * No tracefs is needed: kprobes and uprobes are perf PMU events, kprobe.multi and raw_tp are links.
 */
import koffi from 'koffi';
import * as L from './ffi/libbpf.js';
import { errno, syscall, SYS_bpf } from './ffi/libc.js';
import { BpfError } from './errors.js';
import type { BpfObject } from './object.js';

const BPF_RAW_TRACEPOINT_OPEN = 17;

/** One kprobe.multi link on `names`, cookie i for names[i]; own=false: the caller gets the link. */
export function attachKprobeMulti(obj: BpfObject, prog: string, names: readonly string[], cookies: readonly number[], retprobe: boolean, own = true): unknown {
  const strs = names.map((n) => Buffer.from(n + '\0', 'latin1'));
  const syms = Buffer.alloc(8 * names.length);
  strs.forEach((b, i) => syms.writeBigUInt64LE(BigInt(koffi.address(b) as bigint), i * 8));
  const ck = Buffer.alloc(8 * names.length);
  cookies.forEach((c, i) => ck.writeBigUInt64LE(BigInt(c), i * 8));
  const opts = Buffer.alloc(48);
  opts.writeBigUInt64LE(48n, 0);
  opts.writeBigUInt64LE(BigInt(koffi.address(syms) as bigint), 8);
  opts.writeBigUInt64LE(BigInt(koffi.address(ck) as bigint), 24);
  opts.writeBigUInt64LE(BigInt(names.length), 32);
  opts[40] = retprobe ? 1 : 0;
  const link = L.bpf_program__attach_kprobe_multi_opts(obj.program(prog), null, opts);
  // keep the buffers alive until the call returned
  void strs.length;
  if (!link)
    throw BpfError.fromErrno(
      errno(),
      `attach ${retprobe ? 'kretprobe' : 'kprobe'}.multi to ${names.length === 1 ? names[0] : `${names.length} kernel functions`}`,
    );
  if (own) obj.ownLink(link);
  return link;
}

export function destroyLink(link: unknown): void {
  L.bpf_link__destroy(link);
}

/** One (perf PMU) kprobe on `fn`. */
export function attachKprobe(obj: BpfObject, prog: string, fn: string, cookie: number, retprobe: boolean): void {
  const opts = Buffer.alloc(32);
  opts.writeBigUInt64LE(32n, 0);
  opts.writeBigUInt64LE(BigInt(cookie), 8);
  opts[24] = retprobe ? 1 : 0;
  const link = L.bpf_program__attach_kprobe_opts(obj.program(prog), fn, opts);
  if (!link) throw BpfError.fromErrno(errno(), `attach ${retprobe ? 'kretprobe' : 'kprobe'} to ${fn}`);
  obj.ownLink(link);
}

/** One uprobe at file offset `offset` of `path` (pid -1: every process). */
export function attachUprobe(obj: BpfObject, prog: string, pid: number, path: string, offset: number, cookie: number, retprobe: boolean, what: string): void {
  const opts = Buffer.alloc(40);
  opts.writeBigUInt64LE(40n, 0);
  opts.writeBigUInt64LE(BigInt(cookie), 16);
  opts[24] = retprobe ? 1 : 0;
  const link = L.bpf_program__attach_uprobe_opts(obj.program(prog), pid, path, offset, opts);
  if (!link) throw BpfError.fromErrno(errno(), `attach ${retprobe ? 'uretprobe' : 'uprobe'} to ${what}`);
  obj.ownLink(link);
}

/** A raw tracepoint link with a cookie (kernel 6.10 or later for the cookie). */
export function attachRawTracepoint(obj: BpfObject, prog: string, tp: string, cookie: number): void {
  const fdProg = L.bpf_program__fd(obj.program(prog)) as number;
  const name = Buffer.from(tp + '\0', 'latin1');
  const attr = Buffer.alloc(24);
  attr.writeBigUInt64LE(BigInt(koffi.address(name) as bigint), 0);
  attr.writeUInt32LE(fdProg, 8);
  attr.writeBigUInt64LE(BigInt(cookie), 16);
  const fd = Number(syscall(SYS_bpf, 'int', BPF_RAW_TRACEPOINT_OPEN, 'void *', attr, 'unsigned int', attr.length));
  void name.length;
  if (fd < 0) {
    const e = errno();
    const hint = e === 7 || e === 22 ? ' (raw tracepoint cookies need Linux 6.10 or later)' : '';
    throw BpfError.fromErrno(e, `attach raw tracepoint ${tp}${hint}`);
  }
  obj.ownFd(fd);
}
