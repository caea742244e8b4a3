/**
 * DWARF call-frame information (.eh_frame and .debug_frame) → compact unwind rows (format.ts).
 *
 * Two passes over the sections:
 *  1. scan every entry: CIEs are parsed once (into a few objects), FDEs are recorded as columns of
 *     typed arrays (start, end, where their instructions are); FDEs are then ordered by start.
 *  2. execute each FDE's instructions (after its CIE's initial instructions) with a small state held
 *     in a Float64Array (CFA rule, rbp rule, return-address rule, remember/restore stack), and
 *     emit a row per location change, converted to the x86-64 row kinds. Identical neighbours are
 *     merged, ranges between FDEs get an INVALID row (except alignment padding, see MIN_GAP), and
 *     the table ends with an INVALID row.
 * No per-row objects; every loop is bounded by the bytes it consumes.
 *
 * Only what the BPF walker can use is kept: the CFA rule (rsp/rbp + offset, the .plt expression,
 * the DRAP `DW_OP_breg6 N; DW_OP_deref` expression), where rbp is saved (CFA + offset) and where the
 * return address is (must be CFA - 8; undefined means outermost frame). Anything else becomes an
 * INVALID row (or an UNDEFINED rbp) and is counted in `reasons`.
 */
import { CFA_DEREF_RBP, CFA_INVALID, CFA_PLT, CFA_RBP, CFA_RSP, CFA_SIGNAL, CFA_STOP, RBP_OFFSET, RBP_SAME, RBP_UNDEFINED, ROW_SIZE } from './format.js';

/**
 * Revision of the rows this builder produces for a given input. Bump it whenever a change alters
 * the rows (a fix, a newly supported form): cached tables of older revisions are then not used.
 */
export const GENERATOR_REVISION = 2;

export interface CfiSection {
  kind: 'eh_frame' | 'debug_frame';
  data: Uint8Array;
  /** ELF virtual address of the section (for pcrel pointers); 0 for .debug_frame in an unloaded file. */
  vaddr: number;
}

export interface CfiOptions {
  /** address of .got (datarel pointers), if known */
  gotAddr?: number;
  /** address of .text (textrel pointers), if known */
  textAddr?: number;
}

export interface CfiResult {
  /** count rows of ROW_SIZE bytes */
  rows: Uint8Array;
  count: number;
  fdes: number;
  reasons: Record<string, number>;
  /** the first structural error met (the rows parsed before it are kept) */
  error?: string;
}

// x86-64 DWARF register numbers
const REG_RBP = 6;
const REG_RSP = 7;
const REG_RIP = 16;

// CFA rule types (state)
const C_REG = 0;
const C_PLT = 1; // expression rsp + K + ((rip & 15) >= T ? 8 : 0)
const C_DEREF = 2; // expression *(rbp + K)
const C_BADEXPR = 3;
const C_UNSET = 4;
// register rule types (state)
const R_UNSET = 0; // same value (never set, or DW_CFA_same_value)
const R_OFFSET = 1; // saved at CFA + off
const R_UNDEF = 2; // DW_CFA_undefined
const R_OTHER = 3; // in a register, expression, val_offset...: not expressible

// state layout
const S_CFA_TYPE = 0;
const S_CFA_REG = 1;
const S_CFA_OFF = 2;
const S_CFA_T = 3; // PLT threshold
const S_RBP_TYPE = 4;
const S_RBP_OFF = 5;
const S_RA_TYPE = 6;
const S_RA_OFF = 7;
const S_LEN = 8;
const MAX_REMEMBER = 64;

const PC_LIMIT = 0x100000000; // rows hold u32 pcs
/**
 * Gaps between FDEs shorter than this are alignment padding between functions (never executed:
 * return addresses point into calls, samples at executed instructions): no INVALID row for them,
 * the preceding row extends over the padding. 7-19 % fewer rows on libc, libpython, node.
 */
export const MIN_GAP = 16;
const MAX_PLT_EXPAND = 1 << 20;

class CfiError extends Error {}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEnc: number;
  hasZ: boolean;
  signal: boolean;
  addrSize: number;
  initStart: number;
  initEnd: number;
  /** state after the initial instructions (computed on first use) */
  init?: Float64Array;
  error?: string;
}

// ---- byte readers (module-level cursor: no allocation per value) ----
let D: Uint8Array = new Uint8Array(0);
let P = 0;
let END = 0;

function need(n: number): void {
  if (P + n > END) throw new CfiError(`truncated entry (needs ${n} bytes at offset ${P}, entry ends at ${END})`);
}
function u8(): number {
  need(1);
  return D[P++];
}
function u16(): number {
  need(2);
  const v = D[P] | (D[P + 1] << 8);
  P += 2;
  return v;
}
function u32(): number {
  need(4);
  const v = (D[P] | (D[P + 1] << 8) | (D[P + 2] << 16) | (D[P + 3] << 24)) >>> 0;
  P += 4;
  return v;
}
function s32(): number {
  need(4);
  const v = D[P] | (D[P + 1] << 8) | (D[P + 2] << 16) | (D[P + 3] << 24);
  P += 4;
  return v;
}
function u64(): number {
  const lo = u32();
  const hi = u32();
  return hi * 0x100000000 + lo;
}
function s64(): number {
  const lo = u32();
  const hi = s32();
  return hi * 0x100000000 + lo;
}
function uleb(): number {
  return leb128(false);
}
function sleb(): number {
  return leb128(true);
}
/** A LEB128 number at P (at most 10 bytes); `signed`: sign-extended from the last byte's bit 6. */
function leb128(signed: boolean): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (P >= END) throw new CfiError(`truncated LEB128 at offset ${P}`);
    const b = D[P++];
    result += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) {
      if (signed && b & 0x40) result -= mul;
      return result;
    }
  }
  throw new CfiError(`LEB128 longer than 10 bytes at offset ${P}`);
}

const DW_EH_PE_omit = 0xff;

/** Read a pointer with a DW_EH_PE_* encoding; secVaddr: the section's address (pcrel). */
function readEncoded(enc: number, secVaddr: number, opts: CfiOptions, applyRel: boolean): number {
  if (enc === DW_EH_PE_omit) return 0;
  const fieldAddr = secVaddr + P;
  if ((enc & 0x70) === 0x50) P = (P + 7) & ~7; // aligned
  let v: number;
  switch (enc & 0x0f) {
    case 0x00:
      v = u64();
      break; // absptr (64-bit)
    case 0x01:
      v = uleb();
      break;
    case 0x02:
      v = u16();
      break;
    case 0x03:
      v = u32();
      break;
    case 0x04:
      v = u64();
      break;
    case 0x09:
      v = sleb();
      break;
    case 0x0a: {
      const x = u16();
      v = x >= 0x8000 ? x - 0x10000 : x;
      break;
    }
    case 0x0b:
      v = s32();
      break;
    case 0x0c:
      v = s64();
      break;
    default:
      throw new CfiError(`unknown pointer encoding 0x${enc.toString(16)}`);
  }
  if (!applyRel) return v;
  switch (enc & 0x70) {
    case 0x00:
      break;
    case 0x10:
      v += fieldAddr;
      break;
    case 0x20:
      v += opts.textAddr ?? 0;
      break;
    case 0x30:
      v += opts.gotAddr ?? 0;
      break;
    case 0x40:
      break; // funcrel: not used for FDE addresses
    case 0x50:
      break;
    default:
      throw new CfiError(`unknown pointer application 0x${(enc & 0x70).toString(16)}`);
  }
  if (enc & 0x80) throw new CfiError('indirect pointer for an FDE address');
  // wrap to 64 bits for pcrel arithmetic on negative offsets (values stay far below 2^53 in practice)
  if (v < 0) v += 2 ** 64;
  return v;
}

function encodedSize(enc: number): number {
  switch (enc & 0x0f) {
    case 0x02:
    case 0x0a:
      return 2;
    case 0x03:
    case 0x0b:
      return 4;
    default:
      return 8;
  }
}

// ---- the builder ----

/** `into` (a larger array of the same kind) with `from` copied to its start. */
function widened<A extends Uint32Array | Int32Array | Int16Array | Uint8Array>(from: A, into: A): A {
  into.set(from);
  return into;
}

class Out {
  n = 0;
  pc = new Uint32Array(1024);
  cfaOff = new Int32Array(1024);
  rbpOff = new Int16Array(1024);
  cfaKind = new Uint8Array(1024);
  rbpKind = new Uint8Array(1024);

  private grow(): void {
    const cap = this.pc.length * 2;
    this.pc = widened(this.pc, new Uint32Array(cap));
    this.cfaOff = widened(this.cfaOff, new Int32Array(cap));
    this.rbpOff = widened(this.rbpOff, new Int16Array(cap));
    this.cfaKind = widened(this.cfaKind, new Uint8Array(cap));
    this.rbpKind = widened(this.rbpKind, new Uint8Array(cap));
  }

  /** Add a row at pc (pcs never decrease); same pc overwrites; identical neighbours merge. */
  push(pc: number, ck: number, co: number, rk: number, ro: number): void {
    let n = this.n;
    if (n > 0 && this.pc[n - 1] === pc) {
      n--; // overwrite the row at the same pc
      this.n = n;
    }
    if (n > 0) {
      const j = n - 1;
      if (this.cfaKind[j] === ck && this.cfaOff[j] === co && this.rbpKind[j] === rk && this.rbpOff[j] === ro) return;
    }
    if (n === this.pc.length) this.grow();
    this.pc[n] = pc;
    this.cfaKind[n] = ck;
    this.cfaOff[n] = co;
    this.rbpKind[n] = rk;
    this.rbpOff[n] = ro;
    this.n = n + 1;
  }

  encode(): Uint8Array {
    const n = this.n;
    const buf = new Uint8Array(n * ROW_SIZE);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < n; i++) {
      const o = i * ROW_SIZE;
      dv.setUint32(o, this.pc[i], true);
      dv.setInt32(o + 4, this.cfaOff[i], true);
      dv.setInt16(o + 8, this.rbpOff[i], true);
      buf[o + 10] = this.cfaKind[i];
      buf[o + 11] = this.rbpKind[i];
    }
    return buf;
  }
}

/**
 * Build the rows of one object from its CFI sections (.eh_frame first: where an .eh_frame FDE and a
 * .debug_frame FDE cover the same code, the .eh_frame one is used). Never throws for bad data:
 * damage is reported in `error` and `reasons`.
 */
export function buildUnwindRows(sections: readonly CfiSection[], opts: CfiOptions = {}): CfiResult {
  const reasons: Record<string, number> = {};
  const count = (r: string, n = 1): void => {
    reasons[r] = (reasons[r] ?? 0) + n;
  };
  let firstError: string | undefined;
  const fail = (where: string, e: unknown): void => {
    const msg = e instanceof CfiError ? e.message : e instanceof Error ? e.message : String(e);
    if (!firstError) firstError = `${where}: ${msg}`;
  };

  // ---- pass 1: entries ----
  let cap = 1024;
  let nf = 0;
  let fStart = new Float64Array(cap);
  let fEnd = new Float64Array(cap);
  let fInsn = new Uint32Array(cap); // instruction start
  let fInsnEnd = new Uint32Array(cap);
  let fCie = new Uint32Array(cap); // index into cies[]
  let fSec = new Uint8Array(cap);
  const cies: Cie[] = [];
  const cieIndex: Array<Map<number, number>> = [];

  for (let si = 0; si < sections.length && si < 255; si++) {
    const sec = sections[si];
    const isEh = sec.kind === 'eh_frame';
    const byOff = new Map<number, number>();
    cieIndex.push(byOff);
    D = sec.data;
    const size = D.length;
    let off = 0;
    while (off + 4 <= size) {
      P = off;
      END = size;
      let length: number;
      let is64 = false;
      try {
        length = u32();
        if (length === 0) {
          if (isEh) break; // terminator
          off += 4;
          continue;
        }
        if (length === 0xffffffff) {
          length = u64();
          is64 = true;
        }
      } catch (e) {
        fail(`${sec.kind} at offset ${off}`, e);
        count('corrupt-cfi');
        break;
      }
      const bodyStart = P;
      const entryEnd = bodyStart + length;
      if (entryEnd > size || length < 4) {
        fail(`${sec.kind} at offset ${off}`, new CfiError(`entry length ${length} runs past the end of the ${size}-byte section (truncated or corrupt)`));
        count('corrupt-cfi');
        break;
      }
      END = entryEnd;
      try {
        const idPos = P;
        const id = is64 ? u64() : u32();
        const isCie = isEh ? id === 0 : is64 ? id === 2 ** 64 - 1 : id === 0xffffffff;
        if (isCie) {
          // parsed lazily when an FDE refers to it
        } else {
          const cieOff = isEh ? idPos - id : id;
          let ci = byOff.get(cieOff);
          if (ci === undefined) {
            ci = cies.length;
            cies.push(parseCie(sec, cieOff, isEh, size));
            byOff.set(cieOff, ci);
          }
          const cie = cies[ci];
          if (cie.error) {
            count('bad-cie');
            off = entryEnd;
            continue;
          }
          D = sec.data;
          END = entryEnd;
          let start: number;
          let range: number;
          if (isEh) {
            start = readEncoded(cie.fdeEnc, sec.vaddr, opts, true);
            range = readEncoded(cie.fdeEnc & 0x0f, 0, opts, false);
          } else {
            start = cie.addrSize === 4 ? u32() : u64();
            range = cie.addrSize === 4 ? u32() : u64();
          }
          if (cie.hasZ) {
            const augLen = uleb();
            P += augLen;
            need(0);
          }
          if (range <= 0) {
            count('empty-fde');
          } else if (start + range > PC_LIMIT) {
            count('fde-above-4g');
          } else {
            if (nf === cap) {
              cap *= 2;
              const g64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
                const b = new Float64Array(cap);
                b.set(a);
                return b;
              };
              const g32 = (a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
                const b = new Uint32Array(cap);
                b.set(a);
                return b;
              };
              fStart = g64(fStart);
              fEnd = g64(fEnd);
              fInsn = g32(fInsn);
              fInsnEnd = g32(fInsnEnd);
              fCie = g32(fCie);
              const b = new Uint8Array(cap);
              b.set(fSec);
              fSec = b;
            }
            fStart[nf] = start;
            fEnd[nf] = start + range;
            fInsn[nf] = P;
            fInsnEnd[nf] = entryEnd;
            fCie[nf] = ci;
            fSec[nf] = si;
            nf++;
          }
        }
      } catch (e) {
        fail(`${sec.kind} entry at offset ${off}`, e);
        count('corrupt-fde');
      }
      off = entryEnd;
    }
  }

  // ---- order FDEs by (start, section) ----
  const order = new Uint32Array(nf);
  if (nf < 1 << 20) {
    const keys = new Float64Array(nf);
    for (let i = 0; i < nf; i++) keys[i] = fStart[i] * (1 << 20) + i; // < 2^52: exact
    keys.sort();
    for (let i = 0; i < nf; i++) order[i] = keys[i] % (1 << 20);
  } else {
    for (let i = 0; i < nf; i++) order[i] = i;
    order.sort((a, b) => fStart[a] - fStart[b] || a - b);
  }
  // (FDEs of .eh_frame come first in the arrays, so equal starts keep .eh_frame first)

  // ---- pass 2: execute ----
  const out = new Out();
  const st = new Float64Array(S_LEN);
  const stack = new Float64Array(S_LEN * MAX_REMEMBER);
  let lastEnd = -1;
  let fdes = 0;

  // convert the state to a row kind and push rows for [from, to)
  const emit = (from: number, to: number, signal: boolean): void => {
    if (from >= to) return;
    if (signal) {
      out.push(from, CFA_SIGNAL, 0, RBP_SAME, 0);
      return;
    }
    const raType = st[S_RA_TYPE];
    if (raType === R_UNDEF) {
      out.push(from, CFA_STOP, 0, RBP_SAME, 0);
      return;
    }
    if (raType !== R_OFFSET || st[S_RA_OFF] !== -8) {
      count(raType === R_UNSET ? 'ra-rule-missing' : 'ra-not-at-cfa-8');
      out.push(from, CFA_INVALID, 0, RBP_SAME, 0);
      return;
    }
    let rk = RBP_SAME;
    let ro = 0;
    const rt = st[S_RBP_TYPE];
    if (rt === R_OFFSET) {
      const o = st[S_RBP_OFF];
      if (o >= -32768 && o <= 32767) {
        rk = RBP_OFFSET;
        ro = o;
      } else {
        rk = RBP_UNDEFINED;
        count('rbp-offset-too-large');
      }
    } else if (rt === R_UNDEF) {
      rk = RBP_UNDEFINED;
    } else if (rt === R_OTHER) {
      rk = RBP_UNDEFINED;
      count('rbp-rule-unsupported');
    }
    const ct = st[S_CFA_TYPE];
    const co = st[S_CFA_OFF];
    if (co < -0x80000000 || co > 0x7fffffff) {
      count('cfa-offset-too-large');
      out.push(from, CFA_INVALID, 0, RBP_SAME, 0);
      return;
    }
    if (ct === C_REG) {
      const reg = st[S_CFA_REG];
      if (reg === REG_RSP) out.push(from, CFA_RSP, co, rk, ro);
      else if (reg === REG_RBP) out.push(from, CFA_RBP, co, rk, ro);
      else {
        count('cfa-register-unsupported');
        out.push(from, CFA_INVALID, 0, RBP_SAME, 0);
      }
    } else if (ct === C_DEREF) {
      out.push(from, CFA_DEREF_RBP, co, rk, ro);
    } else if (ct === C_PLT) {
      const t = st[S_CFA_T];
      if (co === 8 && t === 11) out.push(from, CFA_PLT, 0, rk, ro);
      else if (to - from > MAX_PLT_EXPAND) {
        count('plt-range-too-large');
        out.push(from, CFA_INVALID, 0, RBP_SAME, 0);
      } else {
        // another stub layout: the rule depends only on pc & 15 (load biases are page aligned)
        for (let block = from - (from & 15); block < to; block += 16) {
          out.push(Math.max(block, from), CFA_RSP, co, rk, ro);
          if (block + t < to && block + t >= from) out.push(block + t, CFA_RSP, co + 8, rk, ro);
        }
      }
    } else {
      count(ct === C_BADEXPR ? 'cfa-expression-unsupported' : 'cfa-rule-missing');
      out.push(from, CFA_INVALID, 0, RBP_SAME, 0);
    }
  };

  for (let k = 0; k < nf; k++) {
    const i = order[k];
    const start = fStart[i];
    const end = fEnd[i];
    if (start < lastEnd) {
      // overlapping or duplicated FDE (e.g. .debug_frame repeating .eh_frame): the first one wins
      count(sections[fSec[i]].kind === 'debug_frame' ? 'debug-frame-covered' : 'overlapping-fde');
      continue;
    }
    const cie = cies[fCie[i]];
    const sec = sections[fSec[i]];
    try {
      if (!cie.init) cie.init = runCie(cie, sec, opts, count);
      st.set(cie.init);
      D = sec.data;
      P = fInsn[i];
      END = fInsnEnd[i];
      const rowsBefore = out.n;
      const lastEndBefore = lastEnd;
      // gap since the previous FDE
      if (lastEnd >= 0 && start - lastEnd >= MIN_GAP) out.push(lastEnd, CFA_INVALID, 0, RBP_SAME, 0);
      try {
        runInstructions(cie, sec, opts, st, stack, start, end, emit, count);
      } catch (e) {
        // the rows of a damaged FDE are not trusted: drop them, leave its range without rule
        fail(`${sec.kind} FDE for 0x${start.toString(16)}`, e);
        count('corrupt-fde');
        out.n = rowsBefore;
        if (lastEndBefore >= 0 && start - lastEndBefore >= MIN_GAP) out.push(lastEndBefore, CFA_INVALID, 0, RBP_SAME, 0);
        out.push(start, CFA_INVALID, 0, RBP_SAME, 0);
      }
      lastEnd = end;
      fdes++;
    } catch (e) {
      fail(`${sec.kind} CIE`, e);
      count('bad-cie');
    }
  }
  if (lastEnd >= 0) out.push(lastEnd, CFA_INVALID, 0, RBP_SAME, 0);
  D = new Uint8Array(0);
  return { rows: out.encode(), count: out.n, fdes, reasons, error: firstError };
}

/**
 * Where .eh_frame is and where its last FDE starts, from .eh_frame_hdr (found through the
 * PT_GNU_EH_FRAME program header: objects without section headers). Throws for a bad header.
 */
export function ehFrameFromHdr(hdr: Uint8Array, hdrVaddr: number): { ehFrameVaddr: number; fdeCount: number; lastFdeVaddr?: number } {
  D = hdr;
  P = 0;
  END = hdr.length;
  try {
    const version = u8();
    if (version !== 1) throw new CfiError(`.eh_frame_hdr version ${version} (expected 1)`);
    const ptrEnc = u8();
    const countEnc = u8();
    const tableEnc = u8();
    const rel: CfiOptions = { gotAddr: hdrVaddr }; // datarel in .eh_frame_hdr: relative to its start
    const ehFrameVaddr = readEncoded(ptrEnc, hdrVaddr, rel, true);
    if (countEnc === DW_EH_PE_omit || tableEnc === DW_EH_PE_omit) return { ehFrameVaddr, fdeCount: 0 };
    const fdeCount = readEncoded(countEnc, hdrVaddr, rel, true);
    if (!(fdeCount >= 0 && fdeCount <= (END - P) / 2)) throw new CfiError(`.eh_frame_hdr claims ${fdeCount} FDEs`);
    let last = -1;
    for (let i = 0; i < fdeCount; i++) {
      readEncoded(tableEnc, hdrVaddr, rel, true); // initial location
      const fde = readEncoded(tableEnc, hdrVaddr, rel, true);
      if (fde > last) last = fde;
    }
    return { ehFrameVaddr, fdeCount, lastFdeVaddr: last >= 0 ? last : undefined };
  } finally {
    D = new Uint8Array(0);
  }
}

function parseCie(sec: CfiSection, cieOff: number, isEh: boolean, size: number): Cie {
  const cie: Cie = { codeAlign: 1, dataAlign: -8, raReg: REG_RIP, fdeEnc: 0, hasZ: false, signal: false, addrSize: 8, initStart: 0, initEnd: 0 };
  const savedD = D;
  const savedP = P;
  const savedEnd = END;
  D = sec.data;
  try {
    if (cieOff < 0 || cieOff + 4 > size || !Number.isInteger(cieOff)) throw new CfiError(`CIE pointer to offset ${cieOff} is outside the section`);
    P = cieOff;
    END = size;
    let length = u32();
    let is64 = false;
    if (length === 0xffffffff) {
      length = u64();
      is64 = true;
    }
    const end = P + length;
    if (length === 0 || end > size) throw new CfiError(`CIE at ${cieOff} has a bad length ${length}`);
    END = end;
    const id = is64 ? u64() : u32();
    const okId = isEh ? id === 0 : is64 ? id >= 0xffffffffffff0000 : id === 0xffffffff;
    if (!okId) throw new CfiError(`FDE's CIE pointer (offset ${cieOff}) does not point at a CIE`);
    const version = u8();
    if (version !== 1 && version !== 3 && version !== 4) throw new CfiError(`CIE version ${version} unsupported`);
    const augStart = P;
    while (u8() !== 0) {
      /* augmentation string */
    }
    let aug = '';
    for (let j = augStart; j < P - 1 && aug.length < 16; j++) aug += String.fromCharCode(D[j]);
    if (aug.includes('eh')) P += 8;
    if (version === 4) {
      cie.addrSize = u8();
      u8(); // segment selector size
      if (cie.addrSize !== 4 && cie.addrSize !== 8) throw new CfiError(`address size ${cie.addrSize} unsupported`);
    }
    cie.codeAlign = uleb();
    cie.dataAlign = sleb();
    cie.raReg = version === 1 ? u8() : uleb();
    if (aug.startsWith('z')) {
      cie.hasZ = true;
      const augLen = uleb();
      const augEnd = P + augLen;
      if (augEnd > END) throw new CfiError('augmentation data runs past the CIE');
      for (let j = 1; j < aug.length; j++) {
        const c = aug[j];
        if (c === 'R') cie.fdeEnc = u8();
        else if (c === 'L') u8();
        else if (c === 'P') {
          const enc = u8();
          if ((enc & 0x0f) === 0x01 || (enc & 0x0f) === 0x09) uleb();
          else P += encodedSize(enc);
        } else if (c === 'S') cie.signal = true;
        else break; // unknown: the augmentation length lets us skip the rest
      }
      P = augEnd;
    } else if (aug !== '' && !aug.startsWith('eh')) {
      throw new CfiError(`CIE augmentation "${aug}" not understood`);
    }
    if (!isEh && !cie.hasZ) cie.fdeEnc = 0;
    cie.initStart = P;
    cie.initEnd = end;
  } catch (e) {
    cie.error = e instanceof Error ? e.message : String(e);
  } finally {
    D = savedD;
    P = savedP;
    END = savedEnd;
  }
  return cie;
}

function initialState(st: Float64Array): void {
  st[S_CFA_TYPE] = C_UNSET;
  st[S_CFA_REG] = 0;
  st[S_CFA_OFF] = 0;
  st[S_CFA_T] = 0;
  st[S_RBP_TYPE] = R_UNSET;
  st[S_RBP_OFF] = 0;
  st[S_RA_TYPE] = R_UNSET;
  st[S_RA_OFF] = 0;
}

function runCie(cie: Cie, sec: CfiSection, opts: CfiOptions, count: (r: string) => void): Float64Array {
  const st = new Float64Array(S_LEN);
  initialState(st);
  const stack = new Float64Array(S_LEN * MAX_REMEMBER);
  D = sec.data;
  P = cie.initStart;
  END = cie.initEnd;
  runInstructions(cie, sec, opts, st, stack, 0, 0, null, count);
  return st;
}

/** Decode a DW_CFA_def_cfa_expression block [P, P+len) into the state. */
function cfaExpression(st: Float64Array, len: number): void {
  const end = P + len;
  if (end > END) throw new CfiError('expression runs past the FDE');
  const d = D;
  const savedEnd = END;
  END = end;
  let kind = C_BADEXPR;
  try {
    const op = d[P];
    if (op === 0x77 /* breg7 rsp */) {
      P++;
      const k = sleb();
      // DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litT | DW_OP_const1u T; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus
      if (P + 4 <= end && d[P] === 0x80 && d[P + 1] === 0x00 && d[P + 2] === 0x3f && d[P + 3] === 0x1a) {
        P += 4;
        let t = -1;
        if (P < end && d[P] >= 0x30 && d[P] <= 0x4f) t = d[P++] - 0x30;
        else if (P + 1 < end && d[P] === 0x08) {
          t = d[P + 1];
          P += 2;
        }
        if (t >= 0 && t < 16 && P + 4 === end && d[P] === 0x2a && d[P + 1] === 0x33 && d[P + 2] === 0x24 && d[P + 3] === 0x22) {
          kind = C_PLT;
          st[S_CFA_OFF] = k;
          st[S_CFA_T] = t;
        }
      }
    } else if (op === 0x76 /* breg6 rbp */) {
      P++;
      const k = sleb();
      if (P + 1 === end && d[P] === 0x06 /* deref */) {
        kind = C_DEREF;
        st[S_CFA_OFF] = k;
      }
    }
  } catch {
    kind = C_BADEXPR;
  }
  END = savedEnd;
  P = end;
  st[S_CFA_TYPE] = kind;
}

function setReg(st: Float64Array, cie: Cie, reg: number, type: number, off: number): void {
  if (reg === REG_RBP) {
    st[S_RBP_TYPE] = type;
    st[S_RBP_OFF] = off;
  } else if (reg === cie.raReg) {
    st[S_RA_TYPE] = type;
    st[S_RA_OFF] = off;
  }
}

function restoreReg(st: Float64Array, cie: Cie, reg: number): void {
  const init = cie.init;
  if (reg === REG_RBP) {
    st[S_RBP_TYPE] = init ? init[S_RBP_TYPE] : R_UNSET;
    st[S_RBP_OFF] = init ? init[S_RBP_OFF] : 0;
  } else if (reg === cie.raReg) {
    st[S_RA_TYPE] = init ? init[S_RA_TYPE] : R_UNSET;
    st[S_RA_OFF] = init ? init[S_RA_OFF] : 0;
  }
}

/**
 * Run the instructions in [P, END). With emit (an FDE): rows for [start, end) are emitted at every
 * location advance and at the end. Without (a CIE's initial instructions): only the state changes.
 */
function runInstructions(
  cie: Cie,
  sec: CfiSection,
  opts: CfiOptions,
  st: Float64Array,
  stack: Float64Array,
  start: number,
  end: number,
  emit: ((from: number, to: number, signal: boolean) => void) | null,
  count: (r: string) => void,
): void {
  let loc = start;
  let depth = 0;
  const ca = cie.codeAlign;
  const da = cie.dataAlign;
  const signal = cie.signal;
  const advance = (to: number): void => {
    if (emit && loc < end) emit(loc, Math.min(to, end), signal);
    loc = to;
  };
  while (P < END) {
    const op = D[P++];
    const hi = op & 0xc0;
    if (hi === 0x40) {
      advance(loc + (op & 0x3f) * ca);
      continue;
    }
    if (hi === 0x80) {
      setReg(st, cie, op & 0x3f, R_OFFSET, uleb() * da);
      continue;
    }
    if (hi === 0xc0) {
      restoreReg(st, cie, op & 0x3f);
      continue;
    }
    switch (op) {
      case 0x00:
        break; // nop
      case 0x01: {
        // set_loc
        const to = cie.addrSize === 4 && sec.kind === 'debug_frame' ? u32() : readEncoded(cie.fdeEnc, sec.vaddr, opts, true);
        if (to < loc) throw new CfiError('DW_CFA_set_loc moves backwards');
        advance(to);
        break;
      }
      case 0x02:
        advance(loc + u8() * ca);
        break;
      case 0x03:
        advance(loc + u16() * ca);
        break;
      case 0x04:
        advance(loc + u32() * ca);
        break;
      case 0x05: {
        const r = uleb();
        setReg(st, cie, r, R_OFFSET, uleb() * da);
        break;
      }
      case 0x06:
        restoreReg(st, cie, uleb());
        break;
      case 0x07:
        setReg(st, cie, uleb(), R_UNDEF, 0);
        break;
      case 0x08:
        setReg(st, cie, uleb(), R_UNSET, 0);
        break;
      case 0x09: {
        const r = uleb();
        uleb();
        setReg(st, cie, r, R_OTHER, 0);
        break;
      }
      case 0x0a: // remember_state
        if (depth >= MAX_REMEMBER) throw new CfiError('DW_CFA_remember_state nested too deep');
        stack.set(st, depth * S_LEN);
        depth++;
        break;
      case 0x0b: // restore_state (the location is not part of the state)
        if (depth === 0) {
          count('restore-state-without-remember');
          break;
        }
        depth--;
        st.set(stack.subarray(depth * S_LEN, depth * S_LEN + S_LEN));
        break;
      case 0x0c: // def_cfa
        st[S_CFA_TYPE] = C_REG;
        st[S_CFA_REG] = uleb();
        st[S_CFA_OFF] = uleb();
        break;
      case 0x0d: // def_cfa_register
        if (st[S_CFA_TYPE] !== C_REG) st[S_CFA_OFF] = st[S_CFA_TYPE] === C_UNSET ? 0 : st[S_CFA_OFF];
        st[S_CFA_TYPE] = C_REG;
        st[S_CFA_REG] = uleb();
        break;
      case 0x0e:
        st[S_CFA_OFF] = uleb();
        break; // def_cfa_offset
      case 0x0f:
        cfaExpression(st, uleb());
        break; // def_cfa_expression
      case 0x10: // expression
      case 0x16: {
        // val_expression: either way a rule this walker does not follow; skip the block
        const r = uleb();
        const len = uleb();
        P += len;
        need(0);
        setReg(st, cie, r, R_OTHER, 0);
        break;
      }
      case 0x11: {
        const r = uleb();
        setReg(st, cie, r, R_OFFSET, sleb() * da);
        break;
      } // offset_extended_sf
      case 0x12: // def_cfa_sf
        st[S_CFA_TYPE] = C_REG;
        st[S_CFA_REG] = uleb();
        st[S_CFA_OFF] = sleb() * da;
        break;
      case 0x13:
        st[S_CFA_OFF] = sleb() * da;
        break; // def_cfa_offset_sf
      case 0x14: {
        const r = uleb();
        uleb();
        setReg(st, cie, r, R_OTHER, 0);
        break;
      } // val_offset
      case 0x15: {
        const r = uleb();
        sleb();
        setReg(st, cie, r, R_OTHER, 0);
        break;
      } // val_offset_sf
      case 0x2e:
        uleb();
        break; // GNU_args_size
      case 0x2f: {
        const r = uleb();
        setReg(st, cie, r, R_OFFSET, -uleb() * da);
        break;
      } // GNU_negative_offset_extended
      default:
        throw new CfiError(`unknown DW_CFA opcode 0x${op.toString(16)}`);
    }
  }
  if (emit && loc < end) emit(loc, end, signal);
}
