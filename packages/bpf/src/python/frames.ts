/**
 * Names of the Python frames the walker stored (python.h: bit 63, instruction offset, code object
 * address): `qualname (file)` from the code object in the process's memory, and the line of the
 * sampled instruction from its line table.
 *
 * Why user space reads the names (not the BPF program): a code object's strings are read once per
 * code object and interval (not per sample), names and files of any length are kept, and the
 * line is computed from the instruction offset with the version's line-table format, which a BPF
 * program could only do with a bounded, costly loop per frame. The cost is that a code object freed
 * before the interval ends (a short-lived process, a function defined and dropped) cannot be named:
 * such frames are named `[python code 0x…]`, never with a wrong name. Everything read is untrusted
 * (lengths bounded, decoding checked); the strings are escaped where they are displayed.
 */
import fs from 'node:fs';
import type { SymbolizedFrame } from '../symbolize/types.js';
import type { PyCodeLayout } from './layouts.js';

export const PY_FRAME_MARK = 1n << 63n;
const ADDR_MASK = (1n << 48n) - 1n;
const INSTR_MAX = 0x7fff;
const MAX_STR = 4096;
const MAX_LINETABLE = 1 << 20;

export function isPyFrame(pc: bigint): boolean {
  return pc >= PY_FRAME_MARK;
}

export function decodePyFrame(pc: bigint): { code: number; instr: number } {
  return { code: Number(pc & ADDR_MASK), instr: Number((pc >> 48n) & 0x7fffn) };
}

interface CodeInfo {
  /** co_filename, co_name, co_qualname, co_linetable pointers when read (reuse check) */
  sig: string;
  /** the interval it was last checked in */
  seen: number;
  name: string;
  file: string;
  firstLine: number;
  linetable?: Buffer;
}

/** Reads a process's memory through /proc/PID/mem. */
class Mem {
  private fd: number;
  constructor(path: string) {
    this.fd = fs.openSync(path, 'r');
  }
  read(addr: number, len: number): Buffer | undefined {
    if (addr <= 0 || len <= 0) return undefined;
    const b = Buffer.alloc(len);
    try {
      const n = fs.readSync(this.fd, b, 0, len, addr);
      return n === len ? b : undefined;
    } catch {
      return undefined;
    }
  }
  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already gone */
    }
  }
}

function u64(b: Buffer, o: number): number {
  return Number(b.readBigUInt64LE(o));
}

/** A Python str object (compact forms of 3.3+) → its text; undefined when not readable. */
function readStr(mem: Mem, L: PyCodeLayout, addr: number): string | undefined {
  const h = mem.read(addr, L.strState + 4);
  if (!h) return undefined;
  const len = u64(h, L.strLength);
  const state = h.readUInt32LE(L.strState);
  const kind = (state >> 2) & 7;
  const compact = (state >> 5) & 1;
  const ascii = (state >> 6) & 1;
  if (!compact || len < 0 || (kind !== 1 && kind !== 2 && kind !== 4)) return undefined;
  const n = Math.min(len, MAX_STR);
  const data = mem.read(addr + (ascii ? L.strAsciiData : L.strCompactData), n * kind);
  if (!data) return undefined;
  let s: string;
  if (kind === 1) s = data.toString('latin1');
  else if (kind === 2) s = data.toString('utf16le');
  else {
    const cps: number[] = [];
    for (let i = 0; i < n; i++) {
      const cp = data.readUInt32LE(4 * i);
      cps.push(cp > 0x10ffff ? 0xfffd : cp);
    }
    s = String.fromCodePoint(...cps);
  }
  return len > n ? `${s}…` : s;
}

function readBytes(mem: Mem, L: PyCodeLayout, addr: number): Buffer | undefined {
  const h = mem.read(addr, L.bytesData);
  if (!h) return undefined;
  const len = u64(h, L.bytesSize);
  if (len <= 0 || len > MAX_LINETABLE) return undefined;
  return mem.read(addr + L.bytesData, len);
}

/** The line of code unit `index` in a 3.11+ location table (PEP 657 format), or undefined. */
export function lineOfPep657(table: Buffer, firstLine: number, index: number): number | undefined {
  let i = 0;
  let addr = 0;
  let line = firstLine;
  const varint = (): number => {
    let b = table[i++] ?? 0;
    let v = b & 63;
    let shift = 6;
    while (b & 64 && i < table.length && shift < 32) {
      b = table[i++];
      v |= (b & 63) << shift;
      shift += 6;
    }
    return v >>> 0;
  };
  const svarint = (): number => {
    const v = varint();
    return v & 1 ? -(v >>> 1) : v >>> 1;
  };
  while (i < table.length) {
    const b = table[i++];
    if (!(b & 0x80)) return undefined; // not at an entry start: a corrupt table
    const code = (b >> 3) & 15;
    const len = (b & 7) + 1;
    let none = false;
    if (code === 15) none = true;
    else if (code === 14) {
      line += svarint();
      varint();
      varint();
      varint();
    } else if (code === 13) line += svarint();
    else if (code >= 10) {
      line += code - 10;
      i += 2;
    } else i += 1;
    if (index >= addr && index < addr + len) return none ? undefined : line;
    addr += len;
  }
  return undefined;
}

/** The line of byte offset `lasti` in a 3.8/3.9 co_lnotab (pairs of address and line increments). */
export function lineOfLnotab(table: Buffer, firstLine: number, lasti: number): number {
  let addr = 0;
  let line = firstLine;
  for (let i = 0; i + 1 < table.length; i += 2) {
    addr += table[i];
    if (addr > lasti) break;
    line += (table[i + 1] << 24) >> 24; // signed increment
  }
  return line;
}

/** The line of byte offset `off` in a 3.10 co_linetable (pairs of byte length and signed line
 * increment, -128: no line for that range), or undefined. */
export function lineOf310(table: Buffer, firstLine: number, off: number): number | undefined {
  let start = 0;
  let line = firstLine;
  for (let i = 0; i + 1 < table.length; i += 2) {
    const end = start + table[i];
    const d = (table[i + 1] << 24) >> 24;
    if (d !== -128) line += d;
    if (off >= start && off < end) return d === -128 ? undefined : line;
    start = end;
  }
  return undefined;
}

/** Names Python frames of the processes of one capture. A code object is read once per interval
 * (its pointers compared with what was read before: a freed and reused address is read again), and
 * what was read is kept until the process exits. */
export class PyFrameNamer {
  private mems = new Map<number, Mem | null>();
  /** pid → code address → what it was; kept while the process lives, so frames of a process that
   * exits before the next drain are still named when its code was seen in an earlier interval */
  private codes = new Map<number, Map<number, CodeInfo | null>>();
  private strs = new Map<string, string | undefined>();
  private interval = 0;

  constructor(
    private layoutOf: (pid: number) => PyCodeLayout | undefined,
    private procRoot = '/proc',
  ) {}

  private mem(pid: number): Mem | null {
    let m = this.mems.get(pid);
    if (m === undefined) {
      try {
        m = new Mem(`${this.procRoot}/${pid}/mem`);
      } catch {
        m = null;
      }
      this.mems.set(pid, m);
    }
    return m;
  }

  private str(mem: Mem, L: PyCodeLayout, pid: number, addr: number): string | undefined {
    const k = `${pid}:${addr}`;
    if (this.strs.has(k)) return this.strs.get(k);
    const s = readStr(mem, L, addr);
    this.strs.set(k, s);
    return s;
  }

  private code(pid: number, addr: number): CodeInfo | null {
    let per = this.codes.get(pid);
    if (!per) this.codes.set(pid, (per = new Map()));
    const old = per.get(addr);
    if (old === null || (old && old.seen === this.interval)) return old;
    const L = this.layoutOf(pid);
    const mem = L && this.mem(pid);
    const h = L && mem ? mem.read(addr, L.size) : undefined;
    if (!L || !mem || !h) return old ?? null; // the process is gone: what was read before
    const sig = h.toString('hex', L.filename, L.linetable + 8);
    if (old && old.sig === sig) {
      old.seen = this.interval; // the same code object (its memory was not reused)
      return old;
    }
    let c: CodeInfo | null = null;
    const name = this.str(mem, L, pid, u64(h, L.qualname)) ?? this.str(mem, L, pid, u64(h, L.name));
    const file = this.str(mem, L, pid, u64(h, L.filename));
    if (name !== undefined && file !== undefined) {
      c = { sig, seen: this.interval, name, file, firstLine: h.readInt32LE(L.firstLineNo), linetable: readBytes(mem, L, u64(h, L.linetable)) };
    }
    if (per.size > 100000) per.clear();
    per.set(addr, c);
    return c;
  }

  /** The frame of a marker pc of process `pid` */
  frame(pid: number, pc: bigint): SymbolizedFrame {
    const { code, instr } = decodePyFrame(pc);
    const c = this.code(pid, code);
    if (!c) return { name: `[python code 0x${code.toString(16)}]`, kind: 'python' };
    const f: SymbolizedFrame = { name: `${c.name} (${c.file})`, kind: 'python', file: c.file };
    const L = this.layoutOf(pid);
    if (L && c.linetable && instr < INSTR_MAX && instr >= L.code) {
      let line: number | undefined;
      if (L.lineTable === 'pep657') line = lineOfPep657(c.linetable, c.firstLine, (instr - L.code) >> 1);
      else if (L.lineTable === 'lnotab') line = lineOfLnotab(c.linetable, c.firstLine, instr);
      else line = lineOf310(c.linetable, c.firstLine, instr * 2);
      if (line !== undefined && line > 0) f.line = line;
    }
    return f;
  }

  /** Forget what was read this interval (code objects may be freed and their memory reused). */
  endInterval(): void {
    this.interval++;
    this.strs.clear();
    for (const m of this.mems.values()) m?.close();
    this.mems.clear();
  }

  /** the process exited: forget its code objects */
  drop(pid: number): void {
    this.codes.delete(pid);
  }

  close(): void {
    this.endInterval();
    this.codes.clear();
  }
}
