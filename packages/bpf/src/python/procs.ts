/**
 * Python processes for the CFI walker: which mapped ELF object is a CPython interpreter (it defines
 * _PyRuntime and _PyEval_EvalFrameDefault: python3.X executables with libpython linked in, or
 * libpython3.X.so), its version (Py_Version, 3.11+, else the file name), and the py_procs entry
 * (src/c/python.h) with the runtime addresses and the version's layout. Called by the unwind
 * tracker on every (re)scan of a process, so processes started or exec'ed during a capture and
 * libpython loaded later are found the same way.
 */
import fs from 'node:fs';
import * as L from '../ffi/libbpf.js';
import { ElfFile } from '../symbolize/elf.js';
import { isFileMapping, type Mapping } from '../symbolize/procmaps.js';
import type { BpfObject, BpfMap } from '../object.js';
import { DEBUG_OFFSETS_SIZE, layoutFromDebugOffsets, pyLayout, type PyLayout } from './layouts.js';

/** bytes of struct py_proc */
export const PY_PROC_SIZE = 48;

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const WANTED = new Set(['_PyRuntime', '_PyEval_EvalFrameDefault', 'Py_Version']);

/** What one interpreter object defines (ELF virtual addresses). */
export interface PyObjectInfo {
  runtime: number;
  evalStart: number;
  evalEnd: number;
  /** "3.11" */
  version: string;
  layout?: PyLayout;
  /** where the layout came from: the binary's _Py_DebugOffsets (3.13) or the table */
  layoutFrom?: 'debug-offsets' | 'table';
}

/** A process's interpreter at runtime addresses, as written to py_procs. */
export interface PyProcess {
  pid: number;
  path: string;
  version: string;
  supported: boolean;
  runtime: number;
  evalStart: number;
  evalEnd: number;
  layout?: PyLayout;
}

function looksLikePython(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return /python/i.test(base);
}

/** Read the interpreter symbols of an ELF file; undefined when it is not a CPython interpreter. */
export function readPyObject(path: string, name = path): PyObjectInfo | undefined {
  const f = ElfFile.open(path, { name });
  try {
    const found = new Map<string, { addr: number; size: number }>();
    for (const s of f.sections) {
      if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
      if (s.entsize < 24 || s.size === 0) continue;
      const str = f.sections[s.link];
      if (!str) continue;
      const strtab = f.readBytes(str.offset, str.size);
      const data = f.readBytes(s.offset, s.size);
      const n = Math.floor(s.size / s.entsize);
      for (let i = 1; i < n; i++) {
        const o = i * s.entsize;
        const no = data.readUInt32LE(o);
        if (no === 0 || no >= strtab.length) continue;
        // cheap first-character filter before decoding the name
        const c = strtab[no];
        if (c !== 0x5f /* _ */ && c !== 0x50 /* P */) continue;
        let e = strtab.indexOf(0, no);
        if (e < 0) e = strtab.length;
        const nm = strtab.toString('latin1', no, e);
        if (!WANTED.has(nm) || found.has(nm)) continue;
        const shndx = data.readUInt16LE(o + 6);
        if (shndx === 0) continue;
        found.set(nm, { addr: Number(data.readBigUInt64LE(o + 8)), size: Number(data.readBigUInt64LE(o + 16)) });
      }
      if (found.size === WANTED.size) break;
    }
    const rt = found.get('_PyRuntime');
    const ev = found.get('_PyEval_EvalFrameDefault');
    if (!rt || !ev || ev.size === 0) return undefined;
    let version: string | undefined;
    const pv = found.get('Py_Version');
    if (pv) {
      const off = vaddrToOffset(f, pv.addr);
      if (off !== undefined) {
        const hex = f.readBytes(off, 4).readUInt32LE(0);
        version = `${hex >>> 24}.${(hex >>> 16) & 0xff}`;
      }
    }
    version ??= /python(\d+\.\d+)/.exec(name)?.[1] ?? 'unknown';
    let layout = pyLayout(version);
    let layoutFrom: PyObjectInfo['layoutFrom'] = layout ? 'table' : undefined;
    if (version === '3.13') {
      // _Py_DebugOffsets: the offsets as this binary was built (the table is the fallback)
      const off = vaddrToOffset(f, rt.addr, DEBUG_OFFSETS_SIZE);
      const fromBinary = off === undefined ? undefined : layoutFromDebugOffsets(f.readBytes(off, DEBUG_OFFSETS_SIZE));
      if (fromBinary) {
        layout = fromBinary;
        layoutFrom = 'debug-offsets';
      }
    }
    return { runtime: rt.addr, evalStart: ev.addr, evalEnd: ev.addr + ev.size, version, layout, layoutFrom };
  } finally {
    f.close();
  }
}

function vaddrToOffset(f: ElfFile, vaddr: number, len = 4): number | undefined {
  for (const s of f.segments) {
    if (vaddr >= s.vaddr && vaddr + len <= s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
  }
  return undefined;
}

/** struct py_proc bytes for a process (python.h) */
export function encodePyProc(p: PyProcess): Buffer {
  const b = Buffer.alloc(PY_PROC_SIZE);
  b.writeBigUInt64LE(BigInt(p.runtime), 0);
  b.writeBigUInt64LE(BigInt(p.evalStart), 8);
  b.writeBigUInt64LE(BigInt(p.evalEnd), 16);
  const w = p.layout?.walk;
  if (w && p.supported) {
    const offs = [
      w.runtimeInterpHead,
      w.interpTstateHead,
      w.tstateNext,
      w.tstateThreadId,
      w.tstateFrame,
      w.cframeFrame,
      w.frameCode,
      w.framePrevious,
      w.frameInstr,
      w.frameEntry,
    ];
    offs.forEach((v, i) => b.writeUInt16LE(v, 24 + 2 * i));
    b[44] = w.entryKind;
    b[45] = w.instrKind;
    b[46] = 1;
  }
  return b;
}

/** Keeps py_procs in step with the processes the unwind tracker scans. */
export class PyProcs {
  private map: BpfMap;
  private objects = new Map<string, PyObjectInfo | null>();
  private procs = new Map<number, PyProcess>();
  private key = Buffer.alloc(4);

  constructor(
    obj: BpfObject,
    private procRoot = '/proc',
  ) {
    this.map = obj.map('py_procs');
    if (this.map.valueSize !== PY_PROC_SIZE) {
      throw new Error(
        `map py_procs: value size ${this.map.valueSize} differs from the TypeScript layout ${PY_PROC_SIZE}; rebuild with packages/bpf/build-bpf.sh`,
      );
    }
  }

  /** BPFSCOPE_PYTHON_FRAMES=0: leave Python processes alone (native frames only; benchmarks compare) */
  private readonly off = process.env.BPFSCOPE_PYTHON_FRAMES === '0';

  /** A process's mappings were (re)read: find its interpreter (at most one: the first found). */
  scan(pid: number, mappings: readonly Mapping[]): void {
    if (this.off) return;
    let found: PyProcess | undefined;
    for (const m of mappings) {
      if (!m.exec || !isFileMapping(m) || m.deleted || !looksLikePython(m.path)) continue;
      const p = `${this.procRoot}/${pid}/root${m.path}`;
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch {
        continue;
      }
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      let info = this.objects.get(key);
      if (info === undefined) {
        try {
          info = readPyObject(p, m.path) ?? null;
        } catch {
          info = null;
        }
        this.objects.set(key, info);
      }
      if (!info) continue;
      const bias = loadBias(p, m);
      if (bias === undefined) continue;
      found = {
        pid,
        path: m.path,
        version: info.version,
        supported: !!info.layout,
        runtime: bias + info.runtime,
        evalStart: bias + info.evalStart,
        evalEnd: bias + info.evalEnd,
        layout: info.layout,
      };
      break;
    }
    const old = this.procs.get(pid);
    if (!found) {
      if (old) this.drop(pid);
      return;
    }
    if (old && old.runtime === found.runtime && old.evalStart === found.evalStart && old.supported === found.supported) return;
    this.procs.set(pid, found);
    this.key.writeUInt32LE(pid);
    L.bpf_map_update_elem(this.map.fd, this.key, encodePyProc(found), 0n);
  }

  drop(pid: number): void {
    if (!this.procs.delete(pid)) return;
    this.key.writeUInt32LE(pid);
    L.bpf_map_delete_elem(this.map.fd, this.key);
  }

  get(pid: number): PyProcess | undefined {
    return this.procs.get(pid);
  }

  /** Python processes being tracked (and which are unsupported), for info() */
  summary(): { processes: number; unsupported: Record<string, string> } {
    const unsupported: Record<string, string> = {};
    for (const p of this.procs.values()) if (!p.supported) unsupported[p.path] = `CPython ${p.version}: no known layout (native frames only)`;
    return { processes: this.procs.size, unsupported };
  }
}

const biasCache = new Map<string, number | undefined>();
function loadBias(path: string, m: Mapping): number | undefined {
  const k = `${path}:${m.inode}:${m.offset}`;
  if (biasCache.has(k)) return biasCache.get(k)! + m.start;
  let rel: number | undefined;
  try {
    const f = ElfFile.open(path);
    try {
      const v = f.fileOffsetToVaddr(m.offset);
      rel = v === undefined ? undefined : -v;
    } finally {
      f.close();
    }
  } catch {
    rel = undefined;
  }
  if (biasCache.size > 1024) biasCache.clear();
  biasCache.set(k, rel);
  return rel === undefined ? undefined : rel + m.start;
}
