/**
 * DWARF for an ELF virtual address: the chain of functions inlined at it (innermost first) down to
 * the function they were inlined into, with the file:line of each frame (the leaf's from the line
 * table, each caller's from the inlined call's DW_AT_call_file / DW_AT_call_line) — what
 * `llvm-symbolizer` and `addr2line -i` print.
 *
 * Two readers: the scopes (which function, which inlined calls, their call file:line, names) come
 * from our per-unit index (dwarfindex.ts: one pass over a unit's DIEs on first touch, then a tree
 * descent per address), the unit address ranges from its unit headers; the line table, file names
 * and everything the index does not read (split units, DWZ alternate files, zstd sections, an
 * unknown form, a unit it finds corrupt) from elfutils libdw through koffi — the maintained DWARF
 * 2-5 reader of the distribution, fuzzed upstream — whose dwarf_getscopes walks a unit from its
 * root for every address. `DwarfInfo.open(path, reason, { index: false })` answers everything
 * through libdw: the tests check the index against it.
 *
 * Robustness: any libdw error for an object (unreadable or corrupt DWARF) turns DWARF off for that
 * object (`failed` says why; the symbolizer counts it) and names come from ELF symbols only.
 */
import { closeSync, openSync } from 'node:fs';
import { ElfFile } from './elf.js';
import { DwarfIndexReader, loadSections, TAG_inlined_subroutine, TAG_subprogram, type UnitIndex, type UnitRanges } from './dwarfindex.js';
import {
  ATTR_SIZE,
  DIE_SIZE,
  DWARF_C_READ,
  DW_AT_call_file,
  DW_AT_call_line,
  DW_AT_linkage_name,
  DW_AT_MIPS_linkage_name,
  DW_AT_name,
  DW_TAG_inlined_subroutine,
  DW_TAG_subprogram,
  libdw,
  type LibDw,
  type Ptr,
} from '../ffi/libdw.js';

/** One frame at an address, innermost first. */
export interface DwarfFrame {
  /** raw (mangled when the DWARF has a linkage name) function name; '' when DWARF has none */
  name: string;
  /** true for a function inlined into the next frame of the chain */
  inline: boolean;
  file?: string;
  line?: number;
  /** the name as the symbolizer shows it (demangled), cached by the symbolizer */
  display?: string;
}

const SHF_COMPRESSED = 0x800;
/** cached results per object before the cache is reset (bounded memory) */
const MAX_CACHED = 200_000;
/** CU ranges per object (a corrupt file cannot make us allocate without bound) */
const MAX_RANGES = 4_000_000;

interface CuInfo {
  /** libdw's unit DIE (for the line table), looked up on first use */
  die?: Buffer;
  /** .debug_info offset of the unit DIE */
  dieOff: number;
  /** .debug_info offset of the unit */
  off: number;
  files?: Ptr | null;
  nfiles: number;
  fileNames?: Map<number, string | undefined>;
  /** the unit's scope index (dwarfindex.ts); null: the index cannot read this unit, libdw answers */
  ix?: UnitIndex | null;
}

export class DwarfInfo {
  readonly path: string;
  /** why DWARF is off for this object (set on the first error) */
  failed?: string;
  private dw: LibDw;
  private fd = -1;
  private handle: Ptr = null;
  /** size of .debug_info: the unit chain must reach it */
  private infoSize?: number;
  private starts?: Float64Array;
  private ends?: Float64Array;
  private cuOf?: Uint32Array;
  private cus: CuInfo[] = [];
  private cache = new Map<number, DwarfFrame[] | null>();
  private readonly attr = Buffer.alloc(ATTR_SIZE);
  private readonly u64 = new BigUint64Array(3);
  private readonly i32 = new Int32Array(1);
  /** our reader of the unit DIEs (one pass per unit); undefined: every unit goes through libdw */
  private reader?: DwarfIndexReader;
  /** units the reader could not index (answered by libdw's dwarf_getscopes) */
  libdwUnits = 0;
  /** units indexed by the reader */
  indexedUnits = 0;

  private constructor(path: string, dw: LibDw) {
    this.path = path;
    this.dw = dw;
  }

  /**
   * Open the DWARF of an ELF file; undefined when libdw is missing or the file has no DWARF
   * (`reason` gets why). `index: false` answers every address through libdw's dwarf_getscopes
   * (the path the index is checked against).
   */
  static open(path: string, reason?: (why: string) => void, opts: { index?: boolean } = {}): DwarfInfo | undefined {
    const dw = libdw();
    if (!dw) {
      reason?.('libdw-unavailable');
      return undefined;
    }
    const d = new DwarfInfo(path, dw);
    let elf: ElfFile;
    try {
      elf = ElfFile.open(path);
      const info = elf.section('.debug_info');
      // a compressed section's size is not that of its content: the unit chain is not checked then
      d.infoSize = info && !(info.flags & SHF_COMPRESSED) && info.type !== 8 ? info.size : undefined;
      d.fd = openSync(path, 'r');
    } catch (e) {
      reason?.(`${path}: ${(e as Error).message}`);
      return undefined;
    }
    try {
      d.handle = dw.dwarf_begin(d.fd, DWARF_C_READ);
      if (!d.handle) {
        const msg = dw.dwarf_errmsg(-1) ?? 'no DWARF';
        d.close();
        reason?.(`${path}: ${msg}`);
        return undefined;
      }
      try {
        // compressed sections: libdw has inflated them already, the reader reads its memory (a view
        // that close() drops before dwarf_end)
        if (opts.index !== false) d.reader = new DwarfIndexReader(loadSections(elf, (i, size) => dw.sectionData(d.handle, i, size)));
      } catch {
        // sections this reader does not handle (or corrupt ones): libdw answers every unit
        d.reader = undefined;
      }
    } finally {
      elf.close();
    }
    return d;
  }

  close(): void {
    // the reader may hold views of libdw's decompressed sections: dropped before dwarf_end frees them
    this.reader = undefined;
    if (this.handle) this.dw.dwarf_end(this.handle);
    this.handle = null;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.cus = [];
  }

  private fail(why: string): undefined {
    if (!this.failed) this.failed = `${this.path}: ${why}`;
    this.close();
    return undefined;
  }

  /** CU address ranges, built once: every CU's DW_AT_low_pc/high_pc/ranges (no .debug_aranges needed). */
  private index(): boolean {
    if (this.starts) return true;
    if (!this.handle) return false;
    if (this.reader && this.indexFromReader()) return true;
    const dw = this.dw;
    const next = new BigUint64Array(1);
    const hdr = new BigUint64Array(1);
    const base = new BigUint64Array(1);
    const s = new BigUint64Array(1);
    const e = new BigUint64Array(1);
    const rs: number[] = [];
    const re: number[] = [];
    const rc: number[] = [];
    let off = 0;
    for (;;) {
      const r = dw.dwarf_nextcu(this.handle, off, next, hdr, null, null, null);
      if (r !== 0) {
        if (r < 0) return !this.fail(`reading compilation units: ${dw.dwarf_errmsg(-1)}`);
        break;
      }
      const die = Buffer.alloc(DIE_SIZE);
      const nextOff = Number(next[0]);
      if (!dw.dwarf_offdie(this.handle, off + Number(hdr[0]), die)) {
        return !this.fail(`unreadable compilation unit at .debug_info+0x${off.toString(16)}: ${dw.dwarf_errmsg(-1) ?? 'corrupt'}`);
      }
      {
        const ci = this.cus.length;
        let any = false;
        let ro = 0;
        for (;;) {
          ro = Number(dw.dwarf_ranges(die, ro, base, s, e));
          if (ro <= 0) break;
          const a = Number(s[0]);
          const b = Number(e[0]);
          if (b > a) {
            rs.push(a);
            re.push(b);
            rc.push(ci);
            any = true;
          }
          if (rs.length > MAX_RANGES) return !this.fail('too many address ranges (corrupt DWARF?)');
        }
        if (any) this.cus.push({ die, dieOff: off + Number(hdr[0]), off, nfiles: 0 });
      }
      if (nextOff <= off) return !this.fail('compilation unit chain does not advance (corrupt DWARF)');
      off = nextOff;
    }
    if (this.infoSize !== undefined && off < this.infoSize) {
      return !this.fail(
        `unreadable compilation unit at .debug_info+0x${off.toString(16)} of 0x${this.infoSize.toString(16)}: ${dw.dwarf_errmsg(-1) ?? 'corrupt'}`,
      );
    }
    this.sortRanges(rs, re, rc);
    return true;
  }

  /**
   * The unit ranges from our reader (no libdw call per unit); false when it cannot read them all
   * (libdw's loop then builds them, and reports what is corrupt).
   */
  private indexFromReader(): boolean {
    let units: UnitRanges[];
    try {
      units = this.reader!.unitRanges();
    } catch {
      return false;
    }
    const rs: number[] = [];
    const re: number[] = [];
    const rc: number[] = [];
    for (const u of units) {
      const ci = this.cus.length;
      let any = false;
      for (let k = 0; k < u.rs.length; k++) {
        if (u.re[k] > u.rs[k]) {
          rs.push(u.rs[k]);
          re.push(u.re[k]);
          rc.push(ci);
          any = true;
        }
      }
      if (rs.length > MAX_RANGES) return !this.fail('too many address ranges (corrupt DWARF?)');
      if (any) this.cus.push({ dieOff: u.dieOff, off: u.off, nfiles: 0 });
    }
    this.sortRanges(rs, re, rc);
    return true;
  }

  private sortRanges(rs: number[], re: number[], rc: number[]): void {
    const order = rs.map((_, i) => i).sort((a, b) => rs[a] - rs[b]);
    this.starts = Float64Array.from(order, (i) => rs[i]);
    this.ends = Float64Array.from(order, (i) => re[i]);
    this.cuOf = Uint32Array.from(order, (i) => rc[i]);
  }

  /** libdw's unit DIE of a unit (for its line table); undefined (and DWARF off) when libdw cannot read it */
  private cuDie(cu: CuInfo): Buffer | undefined {
    if (cu.die) return cu.die;
    const die = Buffer.alloc(DIE_SIZE);
    if (!this.handle || !this.dw.dwarf_offdie(this.handle, cu.dieOff, die)) {
      return this.fail(`unreadable compilation unit at .debug_info+0x${cu.off.toString(16)}: ${this.dw.dwarf_errmsg(-1) ?? 'corrupt'}`);
    }
    cu.die = die;
    return die;
  }

  private findCu(va: number): CuInfo | undefined {
    const s = this.starts!;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || va < s[0]) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= va) lo = mid;
      else hi = mid - 1;
    }
    // ranges of different CUs do not nest; a few steps back cover overlapping ones
    for (let j = lo; j >= Math.max(0, lo - 4); j--) if (va < this.ends![j]) return this.cus[this.cuOf![j]];
    return undefined;
  }

  private fileName(cu: CuInfo, idx: number): string | undefined {
    const names = (cu.fileNames ??= new Map());
    if (names.has(idx)) return names.get(idx);
    const name = this.fileNameOf(cu, idx);
    names.set(idx, name);
    return name;
  }

  private fileNameOf(cu: CuInfo, idx: number): string | undefined {
    if (cu.files === undefined) {
      const out: [Ptr] = [null];
      const n = new BigUint64Array(1);
      const die = this.cuDie(cu);
      cu.files = die && this.dw.dwarf_getsrcfiles(die, out as never, n) === 0 ? out[0] : null;
      cu.nfiles = Number(n[0]);
    }
    if (!cu.files || idx < 0 || idx >= cu.nfiles) return undefined;
    return this.dw.dwarf_filesrc(cu.files, idx, null, null) ?? undefined;
  }

  private udata(die: Buffer, at: number): number | undefined {
    if (!this.dw.dwarf_attr(die, at, this.attr)) return undefined;
    if (this.dw.dwarf_formudata(this.attr, this.u64) !== 0) return undefined;
    return Number(this.u64[0]);
  }

  private nameOf(die: Buffer): string {
    const dw = this.dw;
    for (const at of [DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name]) {
      if (dw.dwarf_attr_integrate(die, at, this.attr)) {
        const s = dw.dwarf_formstring(this.attr);
        if (s) return s;
      }
    }
    return '';
  }

  /**
   * Frames at ELF virtual address `va`, innermost first (inlined functions, then the function they
   * are in); undefined when the address is in no CU with DWARF or DWARF is off for this object.
   */
  frames(va: number): DwarfFrame[] | undefined {
    const hit = this.cache.get(va);
    if (hit !== undefined) return hit ?? undefined;
    if (this.failed || !this.index() || this.failed) return undefined;
    let r: DwarfFrame[] | null = null;
    try {
      // in no unit with DWARF (most of a binary built without -g): a binary search, nothing to cache
      const cu = this.findCu(va);
      if (!cu) return undefined;
      r = this.resolve(cu, va) ?? null;
    } catch (e) {
      return this.fail((e as Error).message);
    }
    if (this.failed) return undefined;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(va, r);
    return r ?? undefined;
  }

  private resolve(cu: CuInfo, va: number): DwarfFrame[] | undefined {
    const dw = this.dw;
    let file: string | undefined;
    let line: number | undefined;
    const cuDie = this.cuDie(cu);
    if (!cuDie) return undefined;
    const ln = dw.dwarf_getsrc_die(cuDie, va);
    if (ln) {
      file = dw.dwarf_linesrc(ln, null, null) ?? undefined;
      if (dw.dwarf_lineno(ln, this.i32) === 0 && this.i32[0] > 0) line = this.i32[0];
    }
    if (this.reader && cu.ix !== null) {
      if (cu.ix === undefined) {
        try {
          cu.ix = this.reader.unit(cu.off);
          this.indexedUnits++;
        } catch {
          // a unit this reader does not handle, or corrupt: libdw decides (and reports corruption)
          cu.ix = null;
          this.libdwUnits++;
        }
      }
      if (cu.ix) return this.fromIndex(cu, cu.ix, va, file, line);
    }
    // the innermost scope that is a function (inlined or not) at va; dwarf_getscopes continues into
    // an inlined function's abstract origin, so the concrete chain comes from dwarf_getscopes_die
    const inner = this.scopes(cu, va, false);
    if (!inner) return file ? [{ name: '', inline: false, file, line }] : undefined;
    let fn = -1;
    for (let i = 0; i < inner.n; i++) {
      const tag = dw.dwarf_tag(inner.buf.subarray(i * DIE_SIZE, (i + 1) * DIE_SIZE));
      if (tag === DW_TAG_inlined_subroutine || tag === DW_TAG_subprogram) {
        fn = i;
        break;
      }
    }
    if (fn < 0) return file ? [{ name: '', inline: false, file, line }] : undefined;
    const fnDie = inner.buf.subarray(fn * DIE_SIZE, (fn + 1) * DIE_SIZE);
    // not in inlined code: the function is the whole chain (no second walk of the unit)
    if (dw.dwarf_tag(fnDie) === DW_TAG_subprogram) return [{ name: this.nameOf(fnDie), inline: false, file, line }];
    const chain = this.scopes(cu, 0, true, fnDie);
    if (!chain) return undefined;
    const n = chain.n;
    const scopes = chain.buf;
    const frames: DwarfFrame[] = [];
    for (let i = 0; i < n; i++) {
      const die = scopes.subarray(i * DIE_SIZE, (i + 1) * DIE_SIZE);
      const tag = dw.dwarf_tag(die);
      if (tag === DW_TAG_inlined_subroutine) {
        frames.push({ name: this.nameOf(die), inline: true, file, line });
        const cf = this.udata(die, DW_AT_call_file);
        file = cf !== undefined ? this.fileName(cu, cf) : undefined;
        line = this.udata(die, DW_AT_call_line);
        if (frames.length > 256) break;
      } else if (tag === DW_TAG_subprogram) {
        frames.push({ name: this.nameOf(die), inline: false, file, line });
        break;
      }
    }
    if (frames.length === 0) return file ? [{ name: '', inline: false, file, line }] : undefined;
    return frames;
  }

  /**
   * The frames at va from the unit's scope index: the innermost function scope (inlined or not),
   * then the inlined calls up to the function they are in — what the libdw path below finds with
   * dwarf_getscopes + dwarf_getscopes_die, without walking the unit again per address.
   */
  private fromIndex(cu: CuInfo, ix: UnitIndex, va: number, file: string | undefined, line: number | undefined): DwarfFrame[] | undefined {
    let n = ix.innermost(va);
    while (n >= 0 && ix.tags[n] !== TAG_inlined_subroutine && ix.tags[n] !== TAG_subprogram) n = ix.parents[n];
    if (n < 0) return file ? [{ name: '', inline: false, file, line }] : undefined;
    const frames: DwarfFrame[] = [];
    for (; n >= 0; n = ix.parents[n]) {
      const tag = ix.tags[n];
      if (tag === TAG_inlined_subroutine) {
        frames.push({ name: this.indexName(cu, ix.dies[n]), inline: true, file, line });
        const cf = ix.callFile[n];
        file = cf >= 0 ? this.fileName(cu, cf) : undefined;
        line = ix.callLine[n] >= 0 ? ix.callLine[n] : undefined;
        if (frames.length > 256) break;
      } else if (tag === TAG_subprogram) {
        frames.push({ name: this.indexName(cu, ix.dies[n]), inline: false, file, line });
        break;
      }
    }
    return frames;
  }

  /** a DIE's function name from our reader, else (a form it does not read) from libdw */
  private indexName(cu: CuInfo, dieOff: number): string {
    try {
      return this.reader!.name(cu.off, dieOff);
    } catch {
      const die = Buffer.alloc(DIE_SIZE);
      if (!this.handle || !this.dw.dwarf_offdie(this.handle, dieOff, die)) return '';
      return this.nameOf(die);
    }
  }

  /** dwarf_getscopes(cu, va) or dwarf_getscopes_die(die), copied out of libdw's malloc'd array. */
  private scopes(cu: CuInfo, va: number, ofDie: boolean, die?: Buffer): { n: number; buf: Buffer } | undefined {
    const dw = this.dw;
    const out: [Ptr] = [null];
    dw.dwarf_errno(); // clear an error a benign earlier call may have left
    const n = ofDie ? dw.dwarf_getscopes_die(die!, out as never) : dw.dwarf_getscopes(this.cuDie(cu)!, va, out as never);
    if (n < 0) {
      // no scope at an address is not an error; a failure to read the DIE tree is
      const err = dw.dwarf_errno();
      if (err !== 0) this.fail(`reading scopes at 0x${va.toString(16)}: ${dw.dwarf_errmsg(err)}`);
      return undefined;
    }
    if (n === 0 || !out[0]) return undefined;
    try {
      return { n, buf: dw.read(out[0], n * DIE_SIZE) };
    } finally {
      dw.free(out[0]);
    }
  }

  /** Forget cached results (e.g. after the object's debug info changed). */
  clearCache(): void {
    this.cache.clear();
  }
}
