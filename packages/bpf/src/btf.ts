/**
 * A minimal reader of the kernel's BTF (/sys/kernel/btf/vmlinux): the names of the raw tracepoints
 * (typedefs `btf_trace_<name>`, one per tracepoint BPF can attach to) and of the functions (FUNC).
 * It walks the type section only to step over each type's trailing data (BTF spec, kinds 1–19).
 */
import { readFileSync } from 'node:fs';
import { BTF_PATH } from './privileges.js';

const BTF_MAGIC = 0xeb9f;
const KIND_INT = 1;
const KIND_ARRAY = 3;
const KIND_STRUCT = 4;
const KIND_UNION = 5;
const KIND_ENUM = 6;
const KIND_TYPEDEF = 8;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;
const KIND_VAR = 14;
const KIND_DATASEC = 15;
const KIND_DECL_TAG = 17;
const KIND_ENUM64 = 19;

export interface KernelBtfNames {
  /** raw tracepoint names (without the btf_trace_ prefix) */
  tracepoints: string[];
  /** function names with BTF (what fentry/fexit can attach to) */
  functions: Set<string>;
}

let cached: KernelBtfNames | undefined;

/** Names from the kernel BTF (parsed once per process). */
export function kernelBtfNames(path = BTF_PATH): KernelBtfNames {
  if (cached && path === BTF_PATH) return cached;
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read the kernel BTF at ${path}: ${(e as Error).message} (a kernel with CONFIG_DEBUG_INFO_BTF is needed)`);
  }
  const r = parseBtfNames(buf, path);
  if (path === BTF_PATH) cached = r;
  return r;
}

export function parseBtfNames(buf: Buffer, label = 'BTF'): KernelBtfNames {
  if (buf.length < 24 || buf.readUInt16LE(0) !== BTF_MAGIC) throw new Error(`${label}: not BTF (bad magic)`);
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  const typeLen = buf.readUInt32LE(12);
  const strOff = hdrLen + buf.readUInt32LE(16);
  const strLen = buf.readUInt32LE(20);
  const name = (off: number): string => {
    const s = strOff + off;
    let e = buf.indexOf(0, s);
    if (e < 0 || e > strOff + strLen) e = strOff + strLen;
    return buf.toString('latin1', s, e);
  };
  const tracepoints: string[] = [];
  const functions = new Set<string>();
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p + 12 <= end) {
    const nameOff = buf.readUInt32LE(p);
    const info = buf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    p += 12;
    if (kind === KIND_TYPEDEF && nameOff) {
      const n = name(nameOff);
      if (n.startsWith('btf_trace_')) tracepoints.push(n.slice(10));
    } else if (kind === KIND_FUNC && nameOff) {
      functions.add(name(nameOff));
    }
    switch (kind) {
      case KIND_INT:
      case KIND_VAR:
      case KIND_DECL_TAG:
        p += 4;
        break;
      case KIND_ARRAY:
        p += 12;
        break;
      case KIND_STRUCT:
      case KIND_UNION:
      case KIND_DATASEC:
      case KIND_ENUM64:
        p += 12 * vlen;
        break;
      case KIND_ENUM:
      case KIND_FUNC_PROTO:
        p += 8 * vlen;
        break;
      default:
        if (kind === 0 || kind > 19) throw new Error(`${label}: unknown BTF kind ${kind} at offset ${p - 12}`);
    }
  }
  tracepoints.sort();
  return { tracepoints, functions };
}
