/**
 * A per-unit index of the code scopes of a DWARF compilation unit, read in TypeScript: one pass over
 * the unit's DIEs (.debug_info + .debug_abbrev) on first touch records every subprogram,
 * inlined subroutine and lexical block with its address ranges, its parent scope, its
 * DW_AT_call_file / DW_AT_call_line and its DIE offset; type subtrees and other DIEs that cannot
 * hold code are skipped (DW_AT_sibling, else their children are skipped attribute by attribute).
 * An address is then answered by descending the scope tree — the same innermost scope as libdw's
 * `dwarf_getscopes`, which re-walks the unit from its root for every address.
 *
 * Names are read here too (DW_AT_linkage_name / DW_AT_name through DW_AT_abstract_origin and
 * DW_AT_specification, as libdw's dwarf_attr_integrate does). The line table stays libdw's.
 *
 * Scope: DWARF 2-5 compile units in one file (.debug_ranges / .debug_rnglists, .debug_addr,
 * .debug_str_offsets, zlib-compressed sections). Anything else — split units, DWZ alternate files
 * (DW_FORM_GNU_*_alt, imported units), zstd sections, an unknown form — throws `Unsupported`, and
 * the caller answers that unit (or name) through libdw as before. Corrupt data throws an Error
 * (every read is bounds-checked, every loop advances or is bounded); it never hangs.
 */
import { inflateSync } from 'node:zlib';
import type { ElfFile } from './elf.js';

/** This index cannot read the unit (the caller uses libdw for it): not a sign of corruption. */
export class Unsupported extends Error {}

const SHF_COMPRESSED = 0x800;
const SHT_NOBITS = 8;
const ELFCOMPRESS_ZLIB = 1;
/** decompressed section size we accept (a corrupt header cannot make us allocate without bound) */
const MAX_SECTION = 1 << 30;
/** scope nodes per unit, range entries per list, nesting depth, reference hops */
const MAX_NODES = 2_000_000;
const MAX_RANGE_ENTRIES = 100_000;
/** address ranges of all scopes of one unit (as many as DwarfInfo accepts for a whole object) */
const MAX_UNIT_RANGES = 4_000_000;
const MAX_DEPTH = 1024;
const MAX_HOPS = 16;

// tags
const TAG_entry_point = 0x03;
const TAG_lexical_block = 0x0b;
const TAG_compile_unit = 0x11;
const TAG_inlined_subroutine = 0x1d;
const TAG_module = 0x1e;
const TAG_with_stmt = 0x22;
const TAG_catch_block = 0x25;
const TAG_try_block = 0x32;
const TAG_subprogram = 0x2e;
const TAG_imported_unit = 0x3d;
export { TAG_inlined_subroutine, TAG_subprogram };

// attributes
const AT_sibling = 0x01;
const AT_name = 0x03;
const AT_low_pc = 0x11;
const AT_high_pc = 0x12;
const AT_abstract_origin = 0x31;
const AT_specification = 0x47;
const AT_ranges = 0x55;
const AT_call_file = 0x58;
const AT_call_line = 0x59;
const AT_linkage_name = 0x6e;
const AT_str_offsets_base = 0x72;
const AT_addr_base = 0x73;
const AT_rnglists_base = 0x74;
const AT_dwo_name = 0x76;
const AT_MIPS_linkage_name = 0x2007;
const AT_GNU_dwo_name = 0x2130;
const AT_GNU_ranges_base = 0x2132;
const AT_GNU_addr_base = 0x2133;

// forms
const F = {
  addr: 0x01,
  block2: 0x03,
  block4: 0x04,
  data2: 0x05,
  data4: 0x06,
  data8: 0x07,
  string: 0x08,
  block: 0x09,
  block1: 0x0a,
  data1: 0x0b,
  flag: 0x0c,
  sdata: 0x0d,
  strp: 0x0e,
  udata: 0x0f,
  ref_addr: 0x10,
  ref1: 0x11,
  ref2: 0x12,
  ref4: 0x13,
  ref8: 0x14,
  ref_udata: 0x15,
  indirect: 0x16,
  sec_offset: 0x17,
  exprloc: 0x18,
  flag_present: 0x19,
  strx: 0x1a,
  addrx: 0x1b,
  ref_sup4: 0x1c,
  strp_sup: 0x1d,
  data16: 0x1e,
  line_strp: 0x1f,
  ref_sig8: 0x20,
  implicit_const: 0x21,
  loclistx: 0x22,
  rnglistx: 0x23,
  ref_sup8: 0x24,
  strx1: 0x25,
  strx2: 0x26,
  strx3: 0x27,
  strx4: 0x28,
  addrx1: 0x29,
  addrx2: 0x2a,
  addrx3: 0x2b,
  addrx4: 0x2c,
  GNU_addr_index: 0x1f01,
  GNU_str_index: 0x1f02,
  GNU_ref_alt: 0x1f20,
  GNU_strp_alt: 0x1f21,
} as const;

/** tags whose DIEs can hold code addresses and nested scopes (libdw's getscopes descends into these) */
function isScope(tag: number): boolean {
  return (
    tag === TAG_subprogram ||
    tag === TAG_inlined_subroutine ||
    tag === TAG_lexical_block ||
    tag === TAG_entry_point ||
    tag === TAG_module ||
    tag === TAG_with_stmt ||
    tag === TAG_catch_block ||
    tag === TAG_try_block
  );
}

interface Abbrev {
  tag: number;
  children: boolean;
  /** attribute, form pairs */
  attrs: number[];
  /** DW_FORM_implicit_const values, by attribute position */
  consts?: Map<number, number>;
  /** size of all attributes when every form has a fixed size in this unit, else -1 */
  fixed: number;
  /** byte position of DW_AT_sibling inside the fixed attributes (-1: none) and its form */
  sibAt: number;
  sibForm: number;
}

/** size of a form's value in a unit with these sizes; -1 when it varies */
function formSize(form: number, offSize: number, addrSize: number, version: number): number {
  switch (form) {
    case F.flag_present:
    case F.implicit_const:
      return 0;
    case F.addr:
      return addrSize;
    case F.data1:
    case F.ref1:
    case F.flag:
    case F.strx1:
    case F.addrx1:
      return 1;
    case F.data2:
    case F.ref2:
    case F.strx2:
    case F.addrx2:
      return 2;
    case F.strx3:
    case F.addrx3:
      return 3;
    case F.data4:
    case F.ref4:
    case F.strx4:
    case F.addrx4:
    case F.ref_sup4:
      return 4;
    case F.data8:
    case F.ref8:
    case F.ref_sig8:
    case F.ref_sup8:
      return 8;
    case F.data16:
      return 16;
    case F.strp:
    case F.line_strp:
    case F.sec_offset:
    case F.strp_sup:
    case F.GNU_ref_alt:
    case F.GNU_strp_alt:
      return offSize;
    case F.ref_addr:
      return version <= 2 ? addrSize : offSize;
    default:
      return -1;
  }
}

/** forms whose value is an unsigned LEB128 (constants, indexes, references) */
function isLebForm(form: number): boolean {
  switch (form) {
    case F.udata:
    case F.ref_udata:
    case F.strx:
    case F.addrx:
    case F.loclistx:
    case F.rnglistx:
    case F.GNU_addr_index:
    case F.GNU_str_index:
      return true;
    default:
      return false;
  }
}

/**
 * A unit's abbreviations by code (an array for the usual small codes, a map for others), parsed
 * lazily: a code not seen yet parses on until it appears (units skip most of their type DIEs, so
 * the abbreviations only they use are never read).
 */
class AbbrevTable {
  private readonly dense: Array<Abbrev | undefined> = [];
  private sparse?: Map<number, Abbrev>;
  private size = 0;
  private readonly r: Reader;
  private done = false;
  constructor(
    buf: Buffer,
    off: number,
    private readonly offSize: number,
    private readonly addrSize: number,
    private readonly version: number,
  ) {
    this.r = new Reader(buf);
    if (off >= buf.length) corrupt(`abbreviation table offset 0x${off.toString(16)}`);
    this.r.pos = off;
  }
  get(code: number): Abbrev | undefined {
    const ab = code < 65536 ? this.dense[code] : this.sparse?.get(code);
    if (ab || this.done) return ab;
    while (!this.done) if (this.next() === code) return this.get(code);
    return undefined;
  }
  private add(code: number, ab: Abbrev): void {
    if (code < 65536 ? this.dense[code] : this.sparse?.get(code)) return; // the first definition wins
    if (code < 65536) {
      // fill holes so that the array stays packed
      while (this.dense.length < code) this.dense.push(undefined);
      this.dense[code] = ab;
    } else (this.sparse ??= new Map()).set(code, ab);
    if (++this.size > 1_000_000) corrupt('too many abbreviations');
  }
  /** parse the next abbreviation; its code (0: the table ended) */
  private next(): number {
    const r = this.r;
    const code = r.uleb();
    if (code === 0) {
      this.done = true;
      return 0;
    }
    const tag = r.uleb();
    const children = r.u8() !== 0;
    const attrs: number[] = [];
    let consts: Map<number, number> | undefined;
    let fixed = 0;
    let sibAt = -1;
    let sibForm = 0;
    for (;;) {
      const at = r.uleb();
      const form = r.uleb();
      if (at === 0 && form === 0) break;
      if (form === F.implicit_const) (consts ??= new Map()).set(attrs.length / 2, r.sleb());
      const size = formSize(form, this.offSize, this.addrSize, this.version);
      if (at === AT_sibling && fixed >= 0 && sibAt < 0) {
        sibAt = fixed;
        sibForm = form;
      }
      fixed = size < 0 || fixed < 0 ? -1 : fixed + size;
      attrs.push(at, form);
      if (attrs.length > 2048) corrupt('abbreviation with too many attributes');
    }
    if (fixed < 0) sibAt = -1;
    this.add(code, { tag, children, attrs, consts, fixed, sibAt, sibForm });
    return code;
  }
}

/** a form of the address class (DW_AT_high_pc in another class is an offset from DW_AT_low_pc) */
function isAddressForm(form: number): boolean {
  return form === F.addr || form === F.addrx || form === F.GNU_addr_index || (form >= F.addrx1 && form <= F.addrx4);
}

function corrupt(what: string): never {
  throw new Error(`corrupt DWARF: ${what}`);
}

/** Bounds-checked little-endian reader over one section. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    public end = buf.length,
  ) {}
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) corrupt(`read past the end at 0x${this.pos.toString(16)}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  /** 64-bit value as a number (exact below 2^53; addresses above are not user code) */
  u64(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  uN(n: number): number {
    if (n === 1) return this.u8();
    if (n === 2) return this.u16();
    if (n === 4) return this.u32();
    if (n === 8) return this.u64();
    return corrupt(`field size ${n}`);
  }
  uleb(): number {
    if (this.pos < this.end && this.buf[this.pos] < 0x80) return this.buf[this.pos++];
    let v = 0;
    let mul = 1;
    const buf = this.buf;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) corrupt('LEB128 past the end');
      const b = buf[this.pos++];
      if (i < 10) v += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return v;
      if (i > 20) corrupt('LEB128 too long');
    }
  }
  sleb(): number {
    let v = 0;
    let mul = 1;
    let b = 0;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) corrupt('LEB128 past the end');
      b = this.buf[this.pos++];
      if (i < 10) v += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) break;
      if (i > 20) corrupt('LEB128 too long');
    }
    if (b & 0x40 && mul <= 2 ** 64) v -= mul;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  cstr(): number {
    const z = this.buf.indexOf(0, this.pos);
    if (z < 0 || z >= this.end) corrupt('unterminated string');
    const at = this.pos;
    this.pos = z + 1;
    return at;
  }
}

export interface DebugSections {
  info: Buffer;
  abbrev: Buffer;
  str?: Buffer;
  lineStr?: Buffer;
  strOffsets?: Buffer;
  addr?: Buffer;
  ranges?: Buffer;
  rnglists?: Buffer;
}

/**
 * Where a decompressed section can be had without inflating it again: (section index, its
 * decompressed size) → its bytes, or undefined (libdw's copy, see DwarfInfo).
 */
export type DecompressedSource = (index: number, size: number) => Buffer | undefined;

/** A section's content, decompressed (zlib); Unsupported for zstd or a NOBITS section. */
function sectionContent(elf: ElfFile, name: string, decompressed?: DecompressedSource): Buffer | undefined {
  const i = elf.sections.findIndex((x) => x.name === name);
  const s = elf.sections[i];
  if (!s || s.size === 0) return undefined;
  if (s.type === SHT_NOBITS) throw new Unsupported(`${name} has no data in this file`);
  const raw = elf.sectionData(s);
  if (!raw) corrupt(`${name} lies outside the file`);
  if (!(s.flags & SHF_COMPRESSED)) return raw;
  if (raw.length < 24) corrupt(`${name}: truncated compression header`);
  const type = raw.readUInt32LE(0);
  const size = Number(raw.readBigUInt64LE(8));
  if (type !== ELFCOMPRESS_ZLIB) throw new Unsupported(`${name}: compression type ${type}`);
  if (size > MAX_SECTION) corrupt(`${name}: decompressed size ${size}`);
  const ready = decompressed?.(i, size);
  if (ready) return ready;
  const out = inflateSync(raw.subarray(24), { maxOutputLength: Math.max(1, size) });
  if (out.length !== size) corrupt(`${name}: decompressed to ${out.length} bytes, header says ${size}`);
  return out;
}

/** The sections the index reads; Unsupported when the file uses what it does not read. */
export function loadSections(elf: ElfFile, decompressed?: DecompressedSource): DebugSections {
  if (elf.section('.gnu_debugaltlink') || elf.section('.debug_sup')) throw new Unsupported('DWZ alternate debug file');
  const info = sectionContent(elf, '.debug_info', decompressed);
  const abbrev = sectionContent(elf, '.debug_abbrev', decompressed);
  if (!info || !abbrev) throw new Unsupported('no .debug_info / .debug_abbrev');
  return {
    info,
    abbrev,
    str: sectionContent(elf, '.debug_str', decompressed),
    lineStr: sectionContent(elf, '.debug_line_str', decompressed),
    strOffsets: sectionContent(elf, '.debug_str_offsets', decompressed),
    addr: sectionContent(elf, '.debug_addr', decompressed),
    ranges: sectionContent(elf, '.debug_ranges', decompressed),
    rnglists: sectionContent(elf, '.debug_rnglists', decompressed),
  };
}

/** A unit header and the bases its DIEs need. */
interface UnitHeader {
  off: number;
  /** first byte after the unit */
  end: number;
  /** offset of the first DIE */
  dieOff: number;
  version: number;
  offSize: number;
  addrSize: number;
  abbrevs: AbbrevTable;
  base: number;
  addrBase?: number;
  strOffBase?: number;
  rnglistsBase?: number;
  /** the unit DIE's address ranges (DW_AT_low_pc/high_pc, else DW_AT_ranges) */
  rs: number[];
  re: number[];
}

/** A compile unit's place in .debug_info and its address ranges. */
export interface UnitRanges {
  off: number;
  /** .debug_info offset of the unit DIE */
  dieOff: number;
  rs: number[];
  re: number[];
}

/** The code scopes of one unit: node i has tag, parent, ranges [rs[ri[i]], re[..]) … */
export class UnitIndex {
  tags: number[] = [];
  parents: number[] = [];
  dies: number[] = [];
  callFile: number[] = [];
  callLine: number[] = [];
  /** ranges of node i: rs/re[rangeAt[i] .. rangeAt[i+1]) */
  rangeAt: number[] = [0];
  rs: number[] = [];
  re: number[] = [];
  /** first child / next sibling (-1: none), in DIE order */
  firstChild: number[] = [];
  nextSibling: number[] = [];
  /** top-level scopes (children of the unit DIE) sorted by range start, for a binary search */
  private topStart?: Float64Array;
  private topEnd?: Float64Array;
  private topMaxEnd?: Float64Array;
  private topNode?: Int32Array;
  topFirst = -1;

  contains(n: number, va: number): boolean {
    for (let k = this.rangeAt[n]; k < this.rangeAt[n + 1]; k++) if (va >= this.rs[k] && va < this.re[k]) return true;
    return false;
  }

  finish(): void {
    const s: number[] = [];
    const e: number[] = [];
    const nd: number[] = [];
    for (let n = this.topFirst; n >= 0; n = this.nextSibling[n]) {
      for (let k = this.rangeAt[n]; k < this.rangeAt[n + 1]; k++) {
        if (this.re[k] <= this.rs[k]) continue;
        s.push(this.rs[k]);
        e.push(this.re[k]);
        nd.push(n);
      }
    }
    const order = s.map((_, i) => i).sort((a, b) => s[a] - s[b] || nd[a] - nd[b]);
    this.topStart = Float64Array.from(order, (i) => s[i]);
    this.topEnd = Float64Array.from(order, (i) => e[i]);
    this.topNode = Int32Array.from(order, (i) => nd[i]);
    this.topMaxEnd = new Float64Array(order.length);
    let m = -Infinity;
    for (let i = 0; i < order.length; i++) this.topMaxEnd[i] = m = Math.max(m, this.topEnd[i]);
  }

  /**
   * The innermost scope at va, as libdw's dwarf_getscopes finds it: the first scope in DIE order
   * containing va at each level, descended into; -1 when no top-level scope contains va.
   */
  innermost(va: number): number {
    const s = this.topStart!;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || va < s[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= va) lo = mid;
      else hi = mid - 1;
    }
    let cur = -1;
    for (let j = lo; j >= 0 && this.topMaxEnd![j] > va; j--) {
      if (va < this.topEnd![j] && (cur < 0 || this.topNode![j] < cur)) cur = this.topNode![j];
    }
    if (cur < 0) return -1;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      let next = -1;
      for (let c = this.firstChild[cur]; c >= 0; c = this.nextSibling[c]) {
        if (this.contains(c, va)) {
          next = c;
          break;
        }
      }
      if (next < 0) break;
      cur = next;
    }
    return cur;
  }
}

/** Reads units of one object's .debug_info on demand. */
export class DwarfIndexReader {
  private readonly sec: DebugSections;
  private readonly abbrevCache = new Map<number, AbbrevTable>();
  private readonly headers = new Map<number, UnitHeader>();
  /** sorted unit start offsets (for references across units) */
  private unitStarts?: number[];
  private readonly names = new Map<number, string | null>();

  constructor(sec: DebugSections) {
    this.sec = sec;
  }

  private abbrevTable(off: number, offSize: number, addrSize: number, version: number): AbbrevTable {
    const key = off * 64 + offSize * 4 + (addrSize === 8 ? 2 : 0) + (version <= 2 ? 1 : 0);
    let t = this.abbrevCache.get(key);
    if (t) return t;
    t = new AbbrevTable(this.sec.abbrev, off, offSize, addrSize, version);
    this.abbrevCache.set(key, t);
    return t;
  }

  /** The header of the unit at .debug_info offset off, with the bases from its unit DIE. */
  header(off: number): UnitHeader {
    const hit = this.headers.get(off);
    if (hit) return hit;
    const r = new Reader(this.sec.info);
    r.pos = off;
    let len = r.u32();
    let offSize = 4;
    if (len === 0xffffffff) {
      len = r.u64();
      offSize = 8;
    } else if (len >= 0xfffffff0) corrupt(`unit length 0x${len.toString(16)}`);
    const end = r.pos + len;
    if (end > r.end) corrupt(`unit at 0x${off.toString(16)} runs past .debug_info`);
    r.end = end;
    const version = r.u16();
    let addrSize: number;
    let abbrevOff: number;
    if (version >= 2 && version <= 4) {
      abbrevOff = r.uN(offSize);
      addrSize = r.u8();
    } else if (version === 5) {
      const type = r.u8();
      addrSize = r.u8();
      abbrevOff = r.uN(offSize);
      if (type !== 1 && type !== 3) throw new Unsupported(`unit type ${type}`);
    } else throw new Unsupported(`DWARF version ${version}`);
    if (addrSize !== 4 && addrSize !== 8) corrupt(`address size ${addrSize}`);
    const h: UnitHeader = {
      off,
      end,
      dieOff: r.pos,
      version,
      offSize,
      addrSize,
      abbrevs: this.abbrevTable(abbrevOff, offSize, addrSize, version),
      base: 0,
      rs: [],
      re: [],
    };
    // the unit DIE: its tag and the bases
    const code = r.uleb();
    const ab = h.abbrevs.get(code);
    if (!ab) corrupt(`unknown abbreviation ${code} at 0x${(r.pos - 1).toString(16)}`);
    if (ab.tag !== TAG_compile_unit) throw new Unsupported(`unit DIE tag 0x${ab.tag.toString(16)}`);
    let lowForm = 0;
    let lowVal = 0;
    let highForm = 0;
    let highVal = 0;
    let rangesForm = 0;
    let rangesVal = 0;
    for (let i = 0; i < ab.attrs.length; i += 2) {
      const at = ab.attrs[i];
      const form = ab.attrs[i + 1];
      if (at === AT_low_pc) {
        lowForm = form;
        lowVal = this.value(r, h, form, ab, i / 2);
      } else if (at === AT_high_pc) {
        highForm = form;
        highVal = this.value(r, h, form, ab, i / 2);
      } else if (at === AT_ranges) {
        rangesForm = form;
        rangesVal = this.value(r, h, form, ab, i / 2);
      } else if (at === AT_addr_base || at === AT_GNU_addr_base) h.addrBase = this.value(r, h, form, ab, i / 2);
      else if (at === AT_str_offsets_base) h.strOffBase = this.value(r, h, form, ab, i / 2);
      else if (at === AT_rnglists_base) h.rnglistsBase = this.value(r, h, form, ab, i / 2);
      else if (at === AT_dwo_name || at === AT_GNU_dwo_name || at === AT_GNU_ranges_base) throw new Unsupported('split DWARF unit');
      else this.skipForm(r, h, form);
    }
    if (lowForm) h.base = this.address(h, lowForm, lowVal);
    // the unit's ranges as libdw's dwarf_ranges gives them: low/high first, else DW_AT_ranges
    if (lowForm && highForm) {
      h.rs.push(h.base);
      h.re.push(isAddressForm(highForm) ? this.address(h, highForm, highVal) : h.base + highVal);
    } else if (rangesForm) this.ranges(h, rangesForm, rangesVal, h.rs, h.re);
    this.headers.set(off, h);
    return h;
  }

  /** the raw value of a constant / address / offset / index form (strings: their position) */
  private value(r: Reader, h: UnitHeader, form: number, ab: Abbrev, idx: number): number {
    switch (form) {
      case F.implicit_const:
        return ab.consts?.get(idx) ?? 0;
      case F.flag_present:
        return 1;
      case F.sdata:
        return r.sleb();
      case F.string:
        return r.cstr();
      case F.indirect:
        return this.value(r, h, r.uleb(), ab, idx);
    }
    if (isLebForm(form)) return r.uleb();
    const size = formSize(form, h.offSize, h.addrSize, h.version);
    if (size === 3) return r.u24();
    if (size === 1 || size === 2 || size === 4 || size === 8) return r.uN(size);
    this.skipForm(r, h, form); // blocks, data16: no number to give
    return 0;
  }

  private skipForm(r: Reader, h: UnitHeader, form: number): void {
    const size = formSize(form, h.offSize, h.addrSize, h.version);
    if (size >= 0) return r.skip(size);
    if (form === F.sdata || isLebForm(form)) {
      r.uleb();
      return;
    }
    switch (form) {
      case F.string:
        r.cstr();
        return;
      case F.block1:
        return r.skip(r.u8());
      case F.block2:
        return r.skip(r.u16());
      case F.block4:
        return r.skip(r.u32());
      case F.block:
      case F.exprloc:
        return r.skip(r.uleb());
      case F.indirect: {
        const f = r.uleb();
        if (f === F.indirect) corrupt('DW_FORM_indirect to itself');
        return this.skipForm(r, h, f);
      }
      default:
        throw new Unsupported(`DW_FORM 0x${form.toString(16)}`);
    }
  }

  private addrIndex(h: UnitHeader, idx: number): number {
    const a = this.sec.addr;
    if (!a || h.addrBase === undefined) throw new Unsupported('address index without .debug_addr / DW_AT_addr_base');
    const r = new Reader(a);
    r.pos = h.addrBase + idx * h.addrSize;
    return r.uN(h.addrSize);
  }

  private address(h: UnitHeader, form: number, v: number): number {
    if (form === F.addr) return v;
    if (form === F.addrx || form === F.GNU_addr_index || (form >= F.addrx1 && form <= F.addrx4)) return this.addrIndex(h, v);
    return corrupt(`address in form 0x${form.toString(16)}`);
  }

  /** [start, end) pairs of a DW_AT_ranges value, appended to rs/re */
  private ranges(h: UnitHeader, form: number, v: number, rs: number[], re: number[]): void {
    if (h.version < 5) {
      const sec = this.sec.ranges;
      if (!sec) corrupt('DW_AT_ranges without .debug_ranges');
      const r = new Reader(sec);
      if (v >= r.end) corrupt('DW_AT_ranges past .debug_ranges');
      r.pos = v;
      // the base address selection entry: an all-ones start (u64() rounds 2^64 - 1 up to 2^64)
      const max = h.addrSize === 8 ? 2 ** 64 : 0xffff_ffff;
      let base = h.base;
      for (let n = 0; n < MAX_RANGE_ENTRIES; n++) {
        const a = r.uN(h.addrSize);
        const b = r.uN(h.addrSize);
        if (a === 0 && b === 0) return;
        if (a === max) base = b;
        else {
          rs.push(base + a);
          re.push(base + b);
        }
      }
      return corrupt('range list too long');
    }
    const sec = this.sec.rnglists;
    if (!sec) corrupt('DW_AT_ranges without .debug_rnglists');
    const r = new Reader(sec);
    let off = v;
    if (form === F.rnglistx) {
      if (h.rnglistsBase === undefined) throw new Unsupported('DW_FORM_rnglistx without DW_AT_rnglists_base');
      r.pos = h.rnglistsBase + v * h.offSize;
      off = h.rnglistsBase + r.uN(h.offSize);
    } else if (form !== F.sec_offset && form !== F.data4 && form !== F.data8) corrupt(`DW_AT_ranges in form 0x${form.toString(16)}`);
    if (off >= r.end) corrupt('DW_AT_ranges past .debug_rnglists');
    r.pos = off;
    let base = h.base;
    for (let n = 0; n < MAX_RANGE_ENTRIES; n++) {
      const kind = r.u8();
      switch (kind) {
        case 0: // end_of_list
          return;
        case 1: // base_addressx
          base = this.addrIndex(h, r.uleb());
          break;
        case 2: {
          // startx_endx
          const a = this.addrIndex(h, r.uleb());
          rs.push(a);
          re.push(this.addrIndex(h, r.uleb()));
          break;
        }
        case 3: {
          // startx_length
          const a = this.addrIndex(h, r.uleb());
          rs.push(a);
          re.push(a + r.uleb());
          break;
        }
        case 4: // offset_pair
          rs.push(base + r.uleb());
          re.push(base + r.uleb());
          break;
        case 5: // base_address
          base = r.uN(h.addrSize);
          break;
        case 6: // start_end
          rs.push(r.uN(h.addrSize));
          re.push(r.uN(h.addrSize));
          break;
        case 7: {
          // start_length
          const a = r.uN(h.addrSize);
          rs.push(a);
          re.push(a + r.uleb());
          break;
        }
        default:
          corrupt(`range list entry kind ${kind}`);
      }
    }
    corrupt('range list too long');
  }

  /**
   * One pass over the unit at .debug_info offset `off`: its code scopes. Throws Unsupported (use
   * libdw for this unit) or an Error (corrupt).
   */
  unit(off: number): UnitIndex {
    const h = this.header(off);
    const ix = new UnitIndex();
    const r = new Reader(this.sec.info, h.end);
    r.pos = h.dieOff;
    // the unit DIE (its attributes were read by header())
    const rootAb = h.abbrevs.get(r.uleb())!;
    for (let i = 0; i < rootAb.attrs.length; i += 2) this.skipForm(r, h, rootAb.attrs[i + 1]);
    if (!rootAb.children) {
      ix.finish();
      return ix;
    }
    // stack of open parents: the scope node (-1: the unit, or a DIE skipped wholesale -2) and the last child node
    const parent: number[] = [-1];
    const lastChild: number[] = [-1];
    const rs: number[] = [];
    const re: number[] = [];
    while (parent.length > 0) {
      if (r.pos >= h.end) break; // a unit may end without its last null entries
      const dieOff = r.pos;
      const code = r.uleb();
      if (code === 0) {
        parent.pop();
        lastChild.pop();
        continue;
      }
      const ab = h.abbrevs.get(code);
      if (!ab) corrupt(`unknown abbreviation ${code} at .debug_info+0x${dieOff.toString(16)}`);
      const p = parent[parent.length - 1];
      const inScope = p !== -2;
      const scope = inScope && isScope(ab.tag);
      if (inScope && ab.tag === TAG_imported_unit) throw new Unsupported('imported unit');
      if (!scope) {
        // not code: skip its attributes, then its subtree (by DW_AT_sibling when it has one)
        let sib = -1;
        if (ab.fixed >= 0) {
          const at = r.pos;
          r.skip(ab.fixed);
          if (ab.children && ab.sibAt >= 0) {
            const sr = ab.sibForm;
            if (sr === F.ref1 || sr === F.ref2 || sr === F.ref4 || sr === F.ref8 || sr === F.ref_addr) {
              const q = r.pos;
              r.pos = at + ab.sibAt;
              const v = r.uN(formSize(sr, h.offSize, h.addrSize, h.version));
              r.pos = q;
              sib = sr === F.ref_addr ? v : h.off + v;
            }
          }
        } else
          for (let i = 0; i < ab.attrs.length; i += 2) {
            if (ab.attrs[i] === AT_sibling && ab.children) {
              const f = ab.attrs[i + 1];
              const v = this.value(r, h, f, ab, i / 2);
              sib = f === F.ref_addr ? v : h.off + v;
            } else this.skipForm(r, h, ab.attrs[i + 1]);
          }
        if (ab.children) {
          if (sib > r.pos && sib <= h.end) r.pos = sib;
          else {
            if (parent.length >= MAX_DEPTH) corrupt('DIE nesting too deep');
            parent.push(-2);
            lastChild.push(-1);
          }
        }
        continue;
      }
      let lowForm = 0;
      let low = 0;
      let highForm = 0;
      let high = 0;
      let rangesForm = 0;
      let rangesVal = 0;
      let cf = -1;
      let cl = -1;
      for (let i = 0; i < ab.attrs.length; i += 2) {
        const at = ab.attrs[i];
        const form = ab.attrs[i + 1];
        switch (at) {
          case AT_low_pc:
            lowForm = form;
            low = this.value(r, h, form, ab, i / 2);
            break;
          case AT_high_pc:
            highForm = form;
            high = this.value(r, h, form, ab, i / 2);
            break;
          case AT_ranges:
            rangesForm = form;
            rangesVal = this.value(r, h, form, ab, i / 2);
            break;
          case AT_call_file:
            cf = this.constant(r, h, form, ab, i / 2);
            break;
          case AT_call_line:
            cl = this.constant(r, h, form, ab, i / 2);
            break;
          default:
            this.skipForm(r, h, form);
        }
      }
      const n = ix.tags.length;
      if (n >= MAX_NODES) corrupt('too many scopes in one unit');
      ix.tags.push(ab.tag);
      ix.parents.push(p);
      ix.dies.push(dieOff);
      ix.callFile.push(cf);
      ix.callLine.push(cl);
      ix.firstChild.push(-1);
      ix.nextSibling.push(-1);
      const prev = lastChild[lastChild.length - 1];
      if (prev >= 0) ix.nextSibling[prev] = n;
      else if (p >= 0) ix.firstChild[p] = n;
      else ix.topFirst = n;
      lastChild[lastChild.length - 1] = n;
      // ranges as libdw's dwarf_ranges gives them: low/high first, else DW_AT_ranges
      if (lowForm && highForm) {
        const a = this.address(h, lowForm, low);
        const b = isAddressForm(highForm) ? this.address(h, highForm, high) : a + high;
        rs.push(a);
        re.push(b);
      } else if (rangesForm) this.ranges(h, rangesForm, rangesVal, rs, re);
      if (rs.length > MAX_UNIT_RANGES) corrupt('too many address ranges in one unit');
      ix.rangeAt.push(rs.length);
      if (ab.children) {
        if (parent.length >= MAX_DEPTH) corrupt('DIE nesting too deep');
        parent.push(n);
        lastChild.push(-1);
      }
    }
    ix.rs = rs;
    ix.re = re;
    ix.finish();
    return ix;
  }

  /** a constant attribute (call file / line), -1 when its form is not a constant */
  private constant(r: Reader, h: UnitHeader, form: number, ab: Abbrev, idx: number): number {
    switch (form) {
      case F.data1:
      case F.data2:
      case F.data4:
      case F.data8:
      case F.udata:
      case F.sdata:
      case F.implicit_const:
        return this.value(r, h, form, ab, idx);
      default:
        this.skipForm(r, h, form);
        return -1;
    }
  }

  /**
   * Every unit's address ranges, from its unit DIE; throws (Unsupported or corrupt) when a unit
   * cannot be read or the unit chain does not cover .debug_info exactly.
   */
  unitRanges(): UnitRanges[] {
    const offs = this.unitOffsets();
    const out: UnitRanges[] = [];
    let end = 0;
    let total = 0;
    for (const off of offs) {
      const h = this.header(off);
      out.push({ off, dieOff: h.dieOff, rs: h.rs, re: h.re });
      end = h.end;
      // units may share one range list: bound the sum, not only each list
      total += h.rs.length;
      if (total > MAX_UNIT_RANGES) corrupt('too many unit address ranges');
    }
    if (end !== this.sec.info.length) throw new Unsupported('the unit chain does not cover .debug_info');
    return out;
  }

  /** .debug_info offsets of the units (as far as the unit chain is readable) */
  unitOffsets(): number[] {
    this.unitOf(-1, false);
    return this.unitStarts!.slice();
  }

  private unitOf(dieOff: number, check = true): number {
    if (!this.unitStarts) {
      const starts: number[] = [];
      const r = new Reader(this.sec.info);
      while (r.pos + 4 <= r.end && starts.length < 10_000_000) {
        const at = r.pos;
        let len = r.u32();
        if (len === 0xffffffff) len = r.u64();
        else if (len >= 0xfffffff0) break;
        const next = r.pos + len;
        if (next > r.end || next <= at) break;
        starts.push(at);
        r.pos = next;
      }
      this.unitStarts = starts;
    }
    const s = this.unitStarts;
    if (!check) return -1;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || dieOff < s[0]) corrupt(`reference to .debug_info+0x${dieOff.toString(16)}`);
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= dieOff) lo = mid;
      else hi = mid - 1;
    }
    return s[lo];
  }

  /**
   * The name of the DIE at .debug_info offset dieOff as the symbolizer shows functions:
   * DW_AT_linkage_name, else DW_AT_MIPS_linkage_name, else DW_AT_name, each looked up through
   * DW_AT_abstract_origin / DW_AT_specification (libdw's dwarf_attr_integrate); '' when none.
   */
  name(unitOff: number, dieOff: number): string {
    const hit = this.names.get(dieOff);
    if (hit !== undefined) return hit ?? '';
    let out = '';
    for (const want of [AT_linkage_name, AT_MIPS_linkage_name, AT_name]) {
      let u = unitOff;
      let d = dieOff;
      let found: string | null | undefined;
      for (let hop = 0; hop <= MAX_HOPS && d >= 0; hop++) {
        const a = this.attrsOf(u, d, want);
        // the attribute found ends the chain (libdw's dwarf_attr_integrate), a string or not
        if (a.str !== undefined) {
          found = a.str;
          break;
        }
        if (a.ref < 0) break;
        d = a.ref;
        u = d >= u && d < this.header(u).end ? u : this.unitOf(d);
      }
      if (found) {
        out = found;
        break;
      }
    }
    this.names.set(dieOff, out);
    return out;
  }

  /** the string of attribute `want` of a DIE, and where DW_AT_abstract_origin / DW_AT_specification lead */
  private attrsOf(unitOff: number, dieOff: number, want: number): { str?: string | null; ref: number } {
    const h = this.header(unitOff);
    const r = new Reader(this.sec.info, h.end);
    if (dieOff < h.dieOff || dieOff >= h.end) corrupt(`DIE offset 0x${dieOff.toString(16)} outside its unit`);
    r.pos = dieOff;
    const ab = h.abbrevs.get(r.uleb());
    if (!ab) corrupt(`unknown abbreviation at .debug_info+0x${dieOff.toString(16)}`);
    let origin = -1;
    let spec = -1;
    let str: string | null | undefined;
    for (let i = 0; i < ab.attrs.length; i += 2) {
      const at = ab.attrs[i];
      let form = ab.attrs[i + 1];
      if (form === F.indirect) form = r.uleb();
      if (at === want) {
        str = this.string(r, h, form, ab, i / 2);
      } else if (at === AT_abstract_origin || at === AT_specification) {
        if (form === F.GNU_ref_alt || form === F.ref_sup4 || form === F.ref_sup8 || form === F.ref_sig8) throw new Unsupported('reference to another file');
        const v = this.value(r, h, form, ab, i / 2);
        const target = form === F.ref_addr ? v : h.off + v;
        if (at === AT_abstract_origin) origin = target;
        else spec = target;
      } else this.skipForm(r, h, form);
    }
    return { str, ref: origin >= 0 ? origin : spec };
  }

  /** a string attribute's value; null for a form that is not a string (libdw's dwarf_formstring fails) */
  private string(r: Reader, h: UnitHeader, form: number, ab: Abbrev, idx: number): string | null {
    const sec = this.sec;
    const at = (buf: Buffer | undefined, off: number, what: string): string => {
      if (!buf || off >= buf.length) corrupt(`${what} offset 0x${off.toString(16)}`);
      const z = buf.indexOf(0, off);
      if (z < 0) corrupt(`unterminated string in ${what}`);
      return buf.toString('utf8', off, z);
    };
    switch (form) {
      case F.string: {
        const p = r.cstr();
        return r.buf.toString('utf8', p, r.pos - 1);
      }
      case F.strp:
        return at(sec.str, r.uN(h.offSize), '.debug_str');
      case F.line_strp:
        return at(sec.lineStr, r.uN(h.offSize), '.debug_line_str');
      case F.strx:
      case F.strx1:
      case F.strx2:
      case F.strx3:
      case F.strx4:
      case F.GNU_str_index: {
        const i = this.value(r, h, form, ab, idx);
        if (!sec.strOffsets || h.strOffBase === undefined) throw new Unsupported('string index without DW_AT_str_offsets_base');
        const o = new Reader(sec.strOffsets);
        o.pos = h.strOffBase + i * h.offSize;
        return at(sec.str, o.uN(h.offSize), '.debug_str');
      }
      case F.GNU_strp_alt:
      case F.strp_sup:
        throw new Unsupported('string in another file');
      default:
        this.skipForm(r, h, form);
        return null;
    }
  }
}
