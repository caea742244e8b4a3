/**
 * A small ELF64 (little-endian) reader: headers, program headers (PT_LOAD for address translation),
 * section headers, .symtab/.dynsym with their string tables, the GNU build-id note and
 * .gnu_debuglink. Only the parts needed for symbolization are read; a 100 MB binary is read with a
 * few positional reads, never loaded whole. Symbol names are decoded lazily on lookup.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" little-endian u32
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 0x4;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_GNU_EH_FRAME = 0x6474e550;
const STT_NOTYPE = 0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const NT_GNU_BUILD_ID = 3;

export interface ElfSegment {
  vaddr: number;
  offset: number;
  filesz: number;
  memsz: number;
  flags: number;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** One function symbol as readElfSymbols returns it (names raw, not demangled). */
export interface ElfSymbol {
  name: string;
  addr: number;
  size: number;
  type: 'func' | 'ifunc' | 'notype';
  bind: 'local' | 'global' | 'weak' | 'other';
  table: 'symtab' | 'dynsym';
}

/** Where bytes come from: a file descriptor or an in-memory image (the vDSO). */
interface ByteSource {
  size: number;
  read(offset: number, length: number): Buffer;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  let closed = false;
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return {
    size,
    read(offset, length) {
      if (closed) throw new Error(`ELF ${path}: file already closed`);
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new Error(`ELF ${path}: read of ${length} bytes at ${offset} is outside the ${size}-byte file (truncated or corrupt ELF)`);
      }
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, offset + done);
        if (n <= 0) throw new Error(`ELF ${path}: short read at ${offset + done}`);
        done += n;
      }
      return buf;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

function bufferSource(buf: Buffer, name: string): ByteSource {
  return {
    size: buf.length,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > buf.length) {
        throw new Error(`ELF ${name}: read of ${length} bytes at ${offset} is outside the ${buf.length}-byte image`);
      }
      return buf.subarray(offset, offset + length);
    },
    close() {},
  };
}

function u64(b: Buffer, off: number): number {
  // user-space addresses and file offsets fit in 2^53; kernel ELF files are not read here.
  return b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x100000000;
}

/** A lookup result inside one ELF file. */
export interface ElfLookup {
  /** raw (mangled) symbol name */
  name: string;
  /** symbol start (ELF virtual address) */
  addr: number;
  /** vaddr - addr */
  offset: number;
  /** index into the sorted symbol table (stable for caching) */
  index: number;
}

/**
 * Sorted, de-duplicated function symbols of one ELF image, built from .symtab and .dynsym.
 * Addresses are ELF virtual addresses. Each symbol has an end: start+size, or for size-0 symbols
 * the next symbol's start bounded by the end of its section.
 */
export class SymbolTable {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  private readonly nameOff: Uint32Array;
  private readonly strIdx: Uint8Array;
  private readonly strtabs: Buffer[];
  private readonly names: (string | undefined)[];
  private display?: (string | undefined)[];

  constructor(starts: Float64Array, ends: Float64Array, nameOff: Uint32Array, strIdx: Uint8Array, strtabs: Buffer[]) {
    this.starts = starts;
    this.ends = ends;
    this.nameOff = nameOff;
    this.strIdx = strIdx;
    this.strtabs = strtabs;
    this.names = new Array(starts.length);
  }

  get size(): number {
    return this.starts.length;
  }

  nameAt(i: number): string {
    let n = this.names[i];
    if (n === undefined) {
      const tab = this.strtabs[this.strIdx[i]];
      const off = this.nameOff[i];
      let end = tab.indexOf(0, off);
      if (end < 0) end = tab.length;
      n = tab.toString('utf8', off, end);
      this.names[i] = n;
    }
    return n;
  }

  /** The name to show: raw name passed through `transform` (e.g. a demangler), cached per symbol. */
  displayName(i: number, transform: (raw: string) => string): string {
    if (!this.display) this.display = new Array(this.starts.length);
    let d = this.display[i];
    if (d === undefined) {
      d = transform(this.nameAt(i));
      this.display[i] = d;
    }
    return d;
  }

  /** Index of the symbol that contains vaddr, or -1. */
  find(vaddr: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || vaddr < s[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= vaddr) lo = mid;
      else hi = mid - 1;
    }
    // nearest start first; a few steps back catch a large symbol enclosing small ones
    const stop = Math.max(0, lo - 8);
    for (let j = lo; j >= stop; j--) {
      if (vaddr < this.ends[j]) return j;
    }
    return -1;
  }

  lookup(vaddr: number): ElfLookup | undefined {
    const i = this.find(vaddr);
    if (i < 0) return undefined;
    return { name: this.nameAt(i), addr: this.starts[i], offset: vaddr - this.starts[i], index: i };
  }
}

export interface ElfOpenOptions {
  /** label used in error messages and as the module name (defaults to the path). */
  name?: string;
}

export class ElfFile {
  readonly path: string;
  readonly type: number; // ET_EXEC=2, ET_DYN=3
  readonly machine: number;
  readonly segments: ElfSegment[];
  readonly sections: ElfSection[];
  readonly buildId?: string;
  readonly debugLink?: { file: string; crc: number };
  /** PT_GNU_EH_FRAME: where .eh_frame_hdr is, found without section headers (unwind tables). */
  readonly ehFrameHdr?: { vaddr: number; offset: number; filesz: number };
  private readonly src: ByteSource;
  private table?: SymbolTable;
  /** symbols come from this file (e.g. a separate debug file) instead of our own tables. */
  private symbolSource?: ElfFile;

  private constructor(src: ByteSource, path: string) {
    this.src = src;
    this.path = path;
    const h = src.read(0, Math.min(64, src.size));
    if (h.length < 64 || h.readUInt32LE(0) !== ELF_MAGIC) {
      throw new Error(`${path}: not an ELF file (bad magic); pass an ELF executable, shared library or debug file`);
    }
    if (h[4] !== 2) throw new Error(`${path}: only 64-bit ELF is supported (EI_CLASS=${h[4]})`);
    if (h[5] !== 1) throw new Error(`${path}: only little-endian ELF is supported (EI_DATA=${h[5]})`);
    this.type = h.readUInt16LE(16);
    this.machine = h.readUInt16LE(18);
    const phoff = u64(h, 32);
    const shoff = u64(h, 40);
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const shentsize = h.readUInt16LE(58);
    let shnum = h.readUInt16LE(60);
    let shstrndx = h.readUInt16LE(62);

    this.segments = [];
    let buildId: string | undefined;
    const noteSegs: Array<[number, number]> = [];
    if (phoff && phnum && phentsize >= 56) {
      const ph = src.read(phoff, phnum * phentsize);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        const ptype = ph.readUInt32LE(o);
        if (ptype === PT_LOAD) {
          this.segments.push({
            flags: ph.readUInt32LE(o + 4),
            offset: u64(ph, o + 8),
            vaddr: u64(ph, o + 16),
            filesz: u64(ph, o + 32),
            memsz: u64(ph, o + 40),
          });
        } else if (ptype === PT_NOTE) {
          noteSegs.push([u64(ph, o + 8), u64(ph, o + 32)]);
        } else if (ptype === PT_GNU_EH_FRAME) {
          this.ehFrameHdr = { offset: u64(ph, o + 8), vaddr: u64(ph, o + 16), filesz: u64(ph, o + 32) };
        }
      }
    }

    this.sections = [];
    if (shoff && shentsize >= 64) {
      if (shnum === 0 || shstrndx === 0xffff) {
        const s0 = src.read(shoff, 64);
        if (shnum === 0) shnum = u64(s0, 32);
        if (shstrndx === 0xffff) shstrndx = s0.readUInt32LE(40);
      }
      if (shnum > 0 && shoff + shnum * shentsize <= src.size) {
        const sh = src.read(shoff, shnum * shentsize);
        const raw: Array<Omit<ElfSection, 'name'> & { nameOff: number }> = [];
        for (let i = 0; i < shnum; i++) {
          const o = i * shentsize;
          raw.push({
            nameOff: sh.readUInt32LE(o),
            type: sh.readUInt32LE(o + 4),
            flags: u64(sh, o + 8),
            addr: u64(sh, o + 16),
            offset: u64(sh, o + 24),
            size: u64(sh, o + 32),
            link: sh.readUInt32LE(o + 40),
            entsize: u64(sh, o + 56),
          });
        }
        let shstr: Buffer | undefined;
        const ss = raw[shstrndx];
        if (ss && ss.type !== SHT_NOBITS && ss.offset + ss.size <= src.size) shstr = src.read(ss.offset, ss.size);
        for (const r of raw) {
          let name = '';
          if (shstr && r.nameOff < shstr.length) {
            let e = shstr.indexOf(0, r.nameOff);
            if (e < 0) e = shstr.length;
            name = shstr.toString('latin1', r.nameOff, e);
          }
          const { nameOff: _n, ...rest } = r;
          this.sections.push({ name, ...rest });
        }
      }
    }

    // build-id: from SHT_NOTE sections, else PT_NOTE segments
    const notes: Array<[number, number]> = [];
    for (const s of this.sections) if (s.type === SHT_NOTE && s.offset + s.size <= src.size) notes.push([s.offset, s.size]);
    if (notes.length === 0) notes.push(...noteSegs);
    for (const [off, size] of notes) {
      if (size > 1 << 20 || off + size > src.size) continue;
      buildId = parseBuildIdNote(src.read(off, size));
      if (buildId) break;
    }
    this.buildId = buildId;

    const dl = this.sections.find((s) => s.name === '.gnu_debuglink' && s.type !== SHT_NOBITS);
    if (dl && dl.size >= 8 && dl.size < 4096) {
      const b = src.read(dl.offset, dl.size);
      const z = b.indexOf(0);
      if (z > 0) {
        const crcOff = (z + 4) & ~3;
        this.debugLink = { file: b.toString('utf8', 0, z), crc: crcOff + 4 <= b.length ? b.readUInt32LE(crcOff) : 0 };
      }
    }
  }

  /** Open an ELF file on disk. Throws a clear error for missing files or non-ELF content. */
  static open(path: string, opts: ElfOpenOptions = {}): ElfFile {
    const src = fileSource(path);
    try {
      return new ElfFile(src, opts.name ?? path);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Parse an ELF image held in memory (e.g. the vDSO read from /proc/PID/mem). */
  static fromBuffer(buf: Buffer, name: string): ElfFile {
    return new ElfFile(bufferSource(buf, name), name);
  }

  /**
   * The raw bytes of a section as stored in the file (undefined for SHT_NOBITS or a section that
   * does not fit in the file). Compressed sections (SHF_COMPRESSED) are returned as stored.
   */
  sectionData(s: ElfSection): Buffer | undefined {
    if (s.type === SHT_NOBITS || s.size === 0 || s.offset + s.size > this.src.size) return undefined;
    return this.src.read(s.offset, s.size);
  }

  /** length bytes at a file offset (throws a clear error outside the file). */
  readBytes(offset: number, length: number): Buffer {
    return this.src.read(offset, length);
  }

  /** The first section with this name, if any. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Release the file descriptor (symbol tables already read stay usable). */
  close(): void {
    this.src.close();
    this.symbolSource?.close();
  }

  /** Build the symbol table now, then release file descriptors: lookups keep working. */
  detach(): void {
    this.symbols();
    this.close();
  }

  /** True when this file has a .symtab with content (not a stripped binary). */
  get hasSymtab(): boolean {
    return this.sections.some((s) => s.type === SHT_SYMTAB && s.size > 0);
  }

  /** Use the symbols of another file (a separate debug file with the same layout). */
  useSymbolsFrom(debug: ElfFile): void {
    this.symbolSource = debug;
    this.table = undefined;
  }

  /**
   * Translate a file offset (mapping offset + (addr - mapping start)) into an ELF virtual address
   * through the PT_LOAD segments. undefined when no segment covers the offset.
   */
  fileOffsetToVaddr(off: number): number | undefined {
    for (const s of this.segments) {
      if (off >= s.offset && off < s.offset + s.filesz) return off - s.offset + s.vaddr;
    }
    // bss-like tail of a segment (memsz > filesz) has no file offset; an image without program
    // headers (relocatable object) maps offset → address 1:1.
    if (this.segments.length === 0) return off;
    return undefined;
  }

  /** The sorted function symbol table (built on first use, from .symtab and .dynsym). */
  symbols(): SymbolTable {
    if (!this.table) {
      try {
        this.table = (this.symbolSource ?? this).buildTable();
      } catch (e) {
        // unreadable or corrupt symbol tables: no names from this file (never a wrong one)
        this.symbolError = e as Error;
        this.table = new SymbolTable(new Float64Array(0), new Float64Array(0), new Uint32Array(0), new Uint8Array(0), []);
      }
    }
    return this.table;
  }

  /** Why symbols() came back empty, when reading the symbol tables failed. */
  symbolError?: Error;

  /** Name the ELF virtual address, or undefined when no function symbol contains it. */
  lookup(vaddr: number): ElfLookup | undefined {
    return this.symbols().lookup(vaddr);
  }

  private buildTable(): SymbolTable {
    const strtabs: Buffer[] = [];
    const secs = this.sections;
    let cap = 0;
    for (const s of secs) if ((s.type === SHT_SYMTAB || s.type === SHT_DYNSYM) && s.entsize >= 24) cap += Math.floor(s.size / s.entsize);
    // columns of the candidate symbols (typed arrays: no per-symbol objects)
    const cAddr = new Float64Array(cap);
    const cSize = new Float64Array(cap);
    const cSecEnd = new Float64Array(cap);
    const cName = new Uint32Array(cap);
    const cStr = new Uint8Array(cap);
    const cRank = new Uint8Array(cap);
    let n0 = 0;
    let maxAddr = 0;
    const nsec = secs.length;
    const secExec = new Uint8Array(nsec);
    const secEndA = new Float64Array(nsec);
    for (let i = 0; i < nsec; i++) {
      secExec[i] = (secs[i].flags & SHF_EXECINSTR) !== 0 ? 1 : 0;
      secEndA[i] = secs[i].addr + secs[i].size;
    }
    for (const s of secs) {
      if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
      if (s.size === 0 || s.entsize < 24 || s.offset + s.size > this.src.size) continue;
      const strSec = secs[s.link];
      if (!strSec || strSec.type === SHT_NOBITS || strSec.offset + strSec.size > this.src.size) continue;
      const tabIdx = strtabs.length;
      if (tabIdx >= 255) break;
      const strtab = this.src.read(strSec.offset, strSec.size);
      strtabs.push(strtab);
      const strLen = strSec.size;
      const raw = this.src.read(s.offset, s.size);
      // aligned 32-bit view of the entries (24-byte entries are 8-byte aligned in the file)
      const data = raw.byteOffset % 4 === 0 ? raw : Buffer.from(raw);
      const w = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
      const n = Math.floor(s.size / s.entsize);
      const ent = s.entsize;
      const entW = ent >>> 2;
      const tableRank = s.type === SHT_SYMTAB ? 0 : 1;
      for (let i = 1; i < n; i++) {
        const o = i * ent;
        const info = data[o + 4];
        const type = info & 0xf;
        const bind = info >> 4;
        const shndx = data[o + 6] | (data[o + 7] << 8);
        if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
        if (shndx >= nsec) continue;
        if (type === STT_NOTYPE) {
          if (secExec[shndx] === 0 || bind === STB_LOCAL) continue;
        } else if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
        const wi = i * entW;
        const nameOff = w[wi];
        if (nameOff === 0 || nameOff >= strLen) continue;
        const firstCh = strtab[nameOff];
        if (firstCh === 0x24 /* $ */ || firstCh === 0) continue; // mapping symbols ($x, $d)
        const addr = w[wi + 2] + w[wi + 3] * 0x100000000;
        const size = w[wi + 4] + w[wi + 5] * 0x100000000;
        if (addr === 0 && size === 0) continue;
        // preference among aliases: sized > unsized, FUNC > NOTYPE, GLOBAL > WEAK > LOCAL, .symtab > .dynsym
        const bindRank = bind === STB_GLOBAL ? 0 : bind === STB_WEAK ? 1 : 2;
        cAddr[n0] = addr;
        cSize[n0] = size;
        cSecEnd[n0] = secEndA[shndx];
        cName[n0] = nameOff;
        cStr[n0] = tabIdx;
        cRank[n0] = (size > 0 ? 0 : 64) + (type === STT_NOTYPE ? 16 : 0) + bindRank * 2 + tableRank;
        if (addr > maxAddr) maxAddr = addr;
        n0++;
      }
    }
    // order by (address, rank): pack into exact doubles and use the native numeric sort when the
    // product fits in 2^53, else a comparator sort
    const order = new Uint32Array(n0);
    if ((maxAddr + 1) * 128 * (n0 + 1) < 2 ** 53) {
      const keys = new Float64Array(n0);
      for (let i = 0; i < n0; i++) keys[i] = (cAddr[i] * 128 + cRank[i]) * n0 + i;
      keys.sort();
      for (let i = 0; i < n0; i++) order[i] = keys[i] % n0;
    } else {
      for (let i = 0; i < n0; i++) order[i] = i;
      order.sort((a, b) => cAddr[a] - cAddr[b] || cRank[a] - cRank[b] || a - b);
    }
    // de-duplicate aliases at one address: keep the best ranked name, the largest size bounds it
    const keep = new Uint32Array(n0);
    const keepSize = new Float64Array(n0);
    let n = 0;
    for (let k = 0; k < n0; k++) {
      const i = order[k];
      if (n > 0 && cAddr[keep[n - 1]] === cAddr[i]) {
        if (cSize[i] > keepSize[n - 1]) keepSize[n - 1] = cSize[i];
        continue;
      }
      keep[n] = i;
      keepSize[n] = cSize[i];
      n++;
    }
    const starts = new Float64Array(n);
    const ends = new Float64Array(n);
    const nameOff = new Uint32Array(n);
    const strIdx = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const i = keep[j];
      starts[j] = cAddr[i];
      nameOff[j] = cName[i];
      strIdx[j] = cStr[i];
    }
    for (let j = 0; j < n; j++) {
      const size = keepSize[j];
      if (size > 0) ends[j] = starts[j] + size;
      else ends[j] = Math.min(j + 1 < n ? starts[j + 1] : Infinity, cSecEnd[keep[j]]);
    }
    return new SymbolTable(starts, ends, nameOff, strIdx, strtabs);
  }
}

function parseBuildIdNote(b: Buffer): string | undefined {
  let o = 0;
  while (o + 12 <= b.length) {
    const namesz = b.readUInt32LE(o);
    const descsz = b.readUInt32LE(o + 4);
    const type = b.readUInt32LE(o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + ((namesz + 3) & ~3);
    const next = descStart + ((descsz + 3) & ~3);
    if (descStart + descsz > b.length) return undefined;
    if (type === NT_GNU_BUILD_ID && namesz === 4 && b.toString('latin1', nameStart, nameStart + 3) === 'GNU') {
      return b.toString('hex', descStart, descStart + descsz);
    }
    o = next;
  }
  return undefined;
}

/** Convenience: all function symbols of a file (raw names), sorted by address, aliases included. */
export function readElfSymbols(path: string): ElfSymbol[] {
  const f = ElfFile.open(path);
  try {
    const out: ElfSymbol[] = [];
    const secs = f.sections;
    for (const s of secs) {
      if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
      const strSec = secs[s.link];
      if (!strSec || s.entsize < 24) continue;
      const src = (f as unknown as { src: ByteSource }).src;
      const str = src.read(strSec.offset, strSec.size);
      const data = src.read(s.offset, s.size);
      for (let i = 1; i < Math.floor(s.size / s.entsize); i++) {
        const o = i * s.entsize;
        const info = data[o + 4];
        const type = info & 0xf;
        const bind = info >> 4;
        const shndx = data.readUInt16LE(o + 6);
        if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
        if (type !== STT_FUNC && type !== STT_GNU_IFUNC && type !== STT_NOTYPE) continue;
        if (type === STT_NOTYPE && !(secs[shndx] && secs[shndx].flags & SHF_EXECINSTR)) continue;
        const no = data.readUInt32LE(o);
        if (no === 0 || no >= str.length) continue;
        let e = str.indexOf(0, no);
        if (e < 0) e = str.length;
        out.push({
          name: str.toString('utf8', no, e),
          addr: u64(data, o + 8),
          size: u64(data, o + 16),
          type: type === STT_FUNC ? 'func' : type === STT_GNU_IFUNC ? 'ifunc' : 'notype',
          bind: bind === STB_LOCAL ? 'local' : bind === STB_GLOBAL ? 'global' : bind === STB_WEAK ? 'weak' : 'other',
          table: s.type === SHT_SYMTAB ? 'symtab' : 'dynsym',
        });
      }
    }
    out.sort((a, b) => a.addr - b.addr);
    return out;
  } finally {
    f.close();
  }
}
