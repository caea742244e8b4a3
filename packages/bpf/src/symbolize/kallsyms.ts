/**
 * /proc/kallsyms parsed once into sorted typed arrays. Kernel addresses are 64-bit and above 2^53,
 * so they are kept as (hi, lo) 32-bit halves and compared as pairs; lookups are a binary search.
 */
import { readFileSync } from 'node:fs';

export interface KernelSymbol {
  name: string;
  /** module name for `[mod]` symbols (e.g. "ext4", "bpf"); undefined for the core kernel. */
  module?: string;
  /** symbol start */
  addr: bigint;
  /** address - start */
  offset: number;
}

/** Largest distance we accept between a symbol and the address it names when the next symbol is far. */
const MAX_GAP_SAME_REGION = 2 * 1024 * 1024;
const MAX_GAP_REGION_END = 64 * 1024;

function isText(t: number): boolean {
  // t T (text), w W (weak, almost always functions in kallsyms)
  return t === 0x74 || t === 0x54 || t === 0x77 || t === 0x57;
}

export class Kallsyms {
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  /** bytes from start to the end of the symbol's range */
  private readonly span: Uint32Array;
  private readonly modIdx: Uint16Array;
  private readonly text: Uint8Array;
  private readonly names: string[];
  private readonly modules: string[];

  private constructor(hi: Uint32Array, lo: Uint32Array, span: Uint32Array, modIdx: Uint16Array, text: Uint8Array, names: string[], modules: string[]) {
    this.hi = hi;
    this.lo = lo;
    this.span = span;
    this.modIdx = modIdx;
    this.text = text;
    this.names = names;
    this.modules = modules;
  }

  /** Read and parse a kallsyms file (default /proc/kallsyms). */
  static load(path = '/proc/kallsyms'): Kallsyms {
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch (e) {
      throw new Error(`cannot read ${path}: ${(e as Error).message} (kernel symbols need /proc/kallsyms; run as root)`);
    }
    const k = Kallsyms.parse(text);
    if (k.size === 0) {
      throw new Error(
        `${path} has no usable symbols: addresses are hidden (all zero) — run as root or set kernel.kptr_restrict=0 (sysctl -w kernel.kptr_restrict=0)`,
      );
    }
    return k;
  }

  /** Parse kallsyms text ("ffffffff816b8230 T vfs_read" / "... t name\t[mod]"). Zero addresses are skipped. */
  static parse(text: string): Kallsyms {
    const his: number[] = [];
    const los: number[] = [];
    const types: number[] = [];
    const names: string[] = [];
    const mods: number[] = [];
    const modules: string[] = [''];
    const modMap = new Map<string, number>();
    let pos = 0;
    const len = text.length;
    while (pos < len) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = len;
      const line = text.slice(pos, eol);
      pos = eol + 1;
      const sp1 = line.indexOf(' ');
      if (sp1 <= 0 || sp1 > 16) continue;
      const hexLen = sp1;
      const hi = hexLen > 8 ? parseInt(line.slice(0, hexLen - 8), 16) : 0;
      const lo = parseInt(line.slice(Math.max(0, hexLen - 8), hexLen), 16);
      if (Number.isNaN(hi) || Number.isNaN(lo) || (hi === 0 && lo === 0)) continue;
      const type = line.charCodeAt(sp1 + 1);
      const nameStart = sp1 + 3;
      if (nameStart >= line.length) continue;
      let nameEnd = line.indexOf('\t', nameStart);
      let mod = 0;
      if (nameEnd < 0) nameEnd = line.length;
      else {
        const ms = line.indexOf('[', nameEnd);
        const me = line.indexOf(']', nameEnd);
        if (ms >= 0 && me > ms) {
          const m = line.slice(ms + 1, me);
          let idx = modMap.get(m);
          if (idx === undefined) {
            idx = modules.length;
            if (idx > 0xffff) idx = 0xffff;
            else {
              modules.push(m);
              modMap.set(m, idx);
            }
          }
          mod = idx;
        }
      }
      let nameE = nameEnd;
      if (line.charCodeAt(nameE - 1) === 13) nameE--; // \r
      const name = line.slice(nameStart, nameE);
      his.push(hi);
      los.push(lo);
      types.push(type);
      names.push(name);
      mods.push(mod);
    }
    const n0 = his.length;
    const order = new Uint32Array(n0);
    for (let i = 0; i < n0; i++) order[i] = i;
    const rank = (i: number): number => {
      const t = types[i];
      let r = isText(t) ? 0 : 100;
      if (t >= 0x61) r += 10; // lowercase = local
      const nm = names[i];
      let u = 0;
      while (u < nm.length && nm.charCodeAt(u) === 95) u++;
      return r + Math.min(u, 9);
    };
    const ranks = new Uint8Array(n0);
    for (let i = 0; i < n0; i++) ranks[i] = rank(i);
    order.sort((a, b) => his[a] - his[b] || los[a] - los[b] || ranks[a] - ranks[b] || a - b);
    // keep one symbol per address
    const keep: number[] = [];
    for (let k = 0; k < n0; k++) {
      const i = order[k];
      const last = keep.length ? keep[keep.length - 1] : -1;
      if (last >= 0 && his[last] === his[i] && los[last] === los[i]) continue;
      keep.push(i);
    }
    const n = keep.length;
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const span = new Uint32Array(n);
    const modIdx = new Uint16Array(n);
    const text8 = new Uint8Array(n);
    const outNames = new Array<string>(n);
    for (let j = 0; j < n; j++) {
      const i = keep[j];
      hi[j] = his[i];
      lo[j] = los[i];
      modIdx[j] = mods[i];
      text8[j] = isText(types[i]) ? 1 : 0;
      outNames[j] = names[i];
    }
    for (let j = 0; j < n; j++) {
      if (j + 1 < n) {
        const dist = (hi[j + 1] - hi[j]) * 0x100000000 + (lo[j + 1] - lo[j]);
        const sameRegion = modIdx[j + 1] === modIdx[j];
        span[j] = Math.min(dist, sameRegion ? MAX_GAP_SAME_REGION : MAX_GAP_REGION_END);
      } else span[j] = MAX_GAP_REGION_END;
    }
    return new Kallsyms(hi, lo, span, modIdx, text8, outNames, modules);
  }

  get size(): number {
    return this.hi.length;
  }

  /** Index of the symbol whose range contains (ahi, alo), or -1. */
  findHiLo(ahi: number, alo: number): number {
    const H = this.hi;
    const L = this.lo;
    let lo = 0;
    let hi = H.length - 1;
    if (hi < 0) return -1;
    if (ahi < H[0] || (ahi === H[0] && alo < L[0])) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (H[mid] < ahi || (H[mid] === ahi && L[mid] <= alo)) lo = mid;
      else hi = mid - 1;
    }
    const off = (ahi - H[lo]) * 0x100000000 + (alo - L[lo]);
    if (off >= this.span[lo] || !this.text[lo]) return -1;
    return lo;
  }

  /** Name a kernel address; undefined when no text symbol contains it. */
  lookup(addr: bigint): KernelSymbol | undefined {
    const ahi = Number((addr >> 32n) & 0xffffffffn);
    const alo = Number(addr & 0xffffffffn);
    const i = this.findHiLo(ahi, alo);
    if (i < 0) return undefined;
    const m = this.modIdx[i];
    return {
      name: this.names[i],
      module: m ? this.modules[m] : undefined,
      addr: (BigInt(this.hi[i]) << 32n) | BigInt(this.lo[i]),
      offset: (ahi - this.hi[i]) * 0x100000000 + (alo - this.lo[i]),
    };
  }

  /** Start address of a symbol by exact name (first match in address order), for tests and tools. */
  addressOf(name: string): bigint | undefined {
    const i = this.names.indexOf(name);
    if (i < 0) return undefined;
    return (BigInt(this.hi[i]) << 32n) | BigInt(this.lo[i]);
  }
}
