/**
 * The unwind-table row format shared with the BPF walker: mirrors packages/bpf/src/c/unwind.h
 * (the C header is the contract; every constant here has the same value there).
 *
 * A table is a sequence of 12-byte little-endian rows sorted by pc (strictly increasing):
 *   struct unwind_row { u32 pc; s32 cfa_off; s16 rbp_off; u8 cfa_kind; u8 rbp_kind; }
 * A row covers [row.pc, next row's pc). pc is an ELF virtual address of the object (runtime address
 * = load bias + pc). Ranges without an FDE carry a CFA_INVALID row (except gaps under 16 bytes:
 * alignment padding, covered by the preceding row), and the table always ends with a CFA_INVALID
 * row just past the last FDE, so a lookup is "last row with row.pc <= pc".
 */

export const ROW_SIZE = 12;

/** How the CFA (= caller's rsp) is computed. */
export const CFA_INVALID = 0; // no rule / unsupported CFI: the walk ends
export const CFA_RSP = 1; // CFA = rsp + cfa_off
export const CFA_RBP = 2; // CFA = rbp + cfa_off
export const CFA_PLT = 3; // CFA = rsp + 8 + (((rip & 15) >= 11) ? 8 : 0)
export const CFA_DEREF_RBP = 4; // CFA = *(u64 *)(rbp + cfa_off)
export const CFA_SIGNAL = 5; // signal trampoline: registers from the ucontext at rsp; next pc looked up as is
export const CFA_STOP = 6; // outermost frame: the stack is complete

/** How the caller's rbp is found. */
export const RBP_SAME = 0; // caller's rbp = current rbp
export const RBP_OFFSET = 1; // saved at *(u64 *)(CFA + rbp_off)
export const RBP_UNDEFINED = 2; // unknown

/** x86-64 rt_sigframe offsets from rsp at the trampoline (see unwind.h). */
export const SIGFRAME_UC_MCONTEXT = 40;
export const SIGFRAME_RBP = SIGFRAME_UC_MCONTEXT + 80;
export const SIGFRAME_RSP = SIGFRAME_UC_MCONTEXT + 120;
export const SIGFRAME_RIP = SIGFRAME_UC_MCONTEXT + 128;

export const CFA_KIND_NAMES = ['invalid', 'rsp', 'rbp', 'plt', 'deref_rbp', 'signal', 'stop'] as const;
export const RBP_KIND_NAMES = ['same', 'offset', 'undefined'] as const;

/** One decoded row (for tests and tools; hot paths read the bytes directly). */
export interface UnwindRow {
  pc: number;
  cfaKind: number;
  cfaOff: number;
  rbpKind: number;
  rbpOff: number;
}

/** Write one row at row index i of buf (buf must hold at least (i + 1) * ROW_SIZE bytes). */
export function writeRow(buf: Uint8Array, i: number, pc: number, cfaKind: number, cfaOff: number, rbpKind: number, rbpOff: number): void {
  const o = i * ROW_SIZE;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(o, pc >>> 0, true);
  dv.setInt32(o + 4, cfaOff | 0, true);
  dv.setInt16(o + 8, rbpOff, true);
  buf[o + 10] = cfaKind;
  buf[o + 11] = rbpKind;
}

/** Read row i of a table. */
export function readRow(buf: Uint8Array, i: number): UnwindRow {
  const o = i * ROW_SIZE;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    pc: dv.getUint32(o, true),
    cfaOff: dv.getInt32(o + 4, true),
    rbpOff: dv.getInt16(o + 8, true),
    cfaKind: buf[o + 10],
    rbpKind: buf[o + 11],
  };
}

/** Encode rows into a table (rows must be sorted by pc). */
export function encodeRows(rows: readonly UnwindRow[]): Uint8Array {
  const buf = new Uint8Array(rows.length * ROW_SIZE);
  rows.forEach((r, i) => writeRow(buf, i, r.pc, r.cfaKind, r.cfaOff, r.rbpKind, r.rbpOff));
  return buf;
}

/** Decode every row of a table (tests/debugging; allocates one object per row). */
export function decodeRows(buf: Uint8Array): UnwindRow[] {
  const n = Math.floor(buf.byteLength / ROW_SIZE);
  const out: UnwindRow[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readRow(buf, i);
  return out;
}

/**
 * Index of the row that covers pc (the last row with row.pc <= pc), or -1 when pc is before the
 * first row. The caller still checks the row's cfa_kind (INVALID = no rule).
 */
export function findRow(buf: Uint8Array, pc: number): number {
  const n = Math.floor(buf.byteLength / ROW_SIZE);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let lo = 0;
  let hi = n - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (dv.getUint32(mid * ROW_SIZE, true) <= pc) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** Human-readable form of a row's rules, e.g. "rsp+16 rbp=c-16" (tests, debugging). */
export function formatRule(r: UnwindRow): string {
  let cfa: string;
  switch (r.cfaKind) {
    case CFA_RSP:
      cfa = `rsp+${r.cfaOff}`;
      break;
    case CFA_RBP:
      cfa = `rbp+${r.cfaOff}`;
      break;
    case CFA_DEREF_RBP:
      cfa = `*(rbp+${r.cfaOff})`;
      break;
    default:
      cfa = CFA_KIND_NAMES[r.cfaKind] ?? `kind${r.cfaKind}`;
  }
  const rbp = r.rbpKind === RBP_OFFSET ? `c${r.rbpOff >= 0 ? '+' : ''}${r.rbpOff}` : (RBP_KIND_NAMES[r.rbpKind] ?? `kind${r.rbpKind}`);
  return `${cfa} rbp=${rbp}`;
}
