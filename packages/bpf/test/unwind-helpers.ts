/** Helpers of the unwind-table tests: readelf frames-interp parsing, expected rows, a seeded PRNG. */
import { execFileSync } from 'node:child_process';
import { CFA_DEREF_RBP, CFA_INVALID, CFA_PLT, CFA_RBP, CFA_RSP, CFA_SIGNAL, CFA_STOP, RBP_OFFSET, RBP_SAME, RBP_UNDEFINED } from '../src/unwind/format.js';

export function hasTool(t: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface RRow {
  loc: number;
  cfa: string;
  rbp?: string;
  ra?: string;
}
export interface RFde {
  cie: string;
  init?: RRow;
  start: number;
  end: number;
  signal: boolean;
  rows: RRow[];
}

/** Parse `readelf --debug-dump=frames-interp` (.eh_frame and .debug_frame; CIE offsets are per section). */
export function parseFramesInterp(text: string): RFde[] {
  const fdes: RFde[] = [];
  const cieAug = new Map<string, string>();
  const cieLast = new Map<string, RRow>();
  let cols: string[] = [];
  let cur: RFde | undefined;
  let curCieKey: string | undefined;
  let inEh = false;
  const tok = /\S+(?: \([a-z0-9]+\))?/g;
  for (const line of text.split('\n')) {
    if (line.startsWith('Contents of the ')) {
      inEh = line.includes('.eh_frame section') || line.includes('.debug_frame section');
      cieAug.clear();
      cieLast.clear();
      continue;
    }
    if (!inEh || line.trim() === '') continue;
    let m = /^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE "([^"]*)"/.exec(line);
    if (m) {
      curCieKey = m[1];
      cieAug.set(m[1], m[2]);
      cur = undefined;
      continue;
    }
    m = /^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
    if (m) {
      curCieKey = undefined;
      cur = {
        cie: m[1],
        init: cieLast.get(m[1]),
        start: parseInt(m[2], 16),
        end: parseInt(m[3], 16),
        signal: (cieAug.get(m[1]) ?? '').includes('S'),
        rows: [],
      };
      fdes.push(cur);
      continue;
    }
    if (/^\s+LOC\s+CFA/.test(line)) {
      cols = line.trim().split(/\s+/);
      continue;
    }
    m = /^([0-9a-f]{16}) (.*)$/.exec(line);
    if (m && cols.length) {
      const vals = m[2].match(tok) ?? [];
      const row: RRow = { loc: parseInt(m[1], 16), cfa: vals[0] ?? '' };
      for (let i = 2; i < cols.length; i++) {
        if (cols[i] === 'rbp') row.rbp = vals[i - 1];
        if (cols[i] === 'ra') row.ra = vals[i - 1];
      }
      if (cur) cur.rows.push(row);
      else if (curCieKey) cieLast.set(curCieKey, row);
    }
  }
  // FDEs without instructions are printed without rows: the CIE's initial rule applies
  for (const f of fdes) {
    if (f.rows.length === 0 && f.init) f.rows.push({ ...f.init, loc: f.start });
  }
  return fdes;
}

/** Our expected row for a readelf row. */
export function expected(r: RRow, signal: boolean): { kinds: number[]; off?: number; rbp?: number[]; rbpOff?: number } {
  if (signal) return { kinds: [CFA_SIGNAL] };
  if (r.ra === 'u') return { kinds: [CFA_STOP] };
  if (r.ra !== 'c-8') return { kinds: [CFA_INVALID] };
  let kinds: number[];
  let off: number | undefined;
  let m = /^rsp\+(-?\d+)$/.exec(r.cfa);
  if (m) {
    kinds = [CFA_RSP];
    off = Number(m[1]);
  } else if ((m = /^rbp\+(-?\d+)$/.exec(r.cfa))) {
    kinds = [CFA_RBP];
    off = Number(m[1]);
  } else if (r.cfa === 'exp') {
    kinds = [CFA_PLT, CFA_DEREF_RBP, CFA_INVALID, CFA_RSP];
  } else {
    return { kinds: [CFA_INVALID] };
  }
  let rbp: number[];
  let rbpOff: number | undefined;
  const v = r.rbp;
  if (v === undefined || v === 's') rbp = [RBP_SAME];
  else if (v === 'u') rbp = [RBP_SAME, RBP_UNDEFINED];
  else if ((m = /^c([+-]\d+)$/.exec(v))) {
    rbp = [RBP_OFFSET];
    rbpOff = Number(m[1]);
  } else rbp = [RBP_UNDEFINED];
  return { kinds, off, rbp, rbpOff };
}

/**
 * From `readelf --debug-dump=frames` (raw instructions): the DW_CFA_def_cfa_expression texts of
 * each FDE, by the FDE's start address (.eh_frame only).
 */
export function parseCfaExpressions(text: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  let cur: string[] | undefined;
  let inEh = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('Contents of the ')) {
      inEh = line.includes('.eh_frame section');
      cur = undefined;
      continue;
    }
    if (!inEh) continue;
    const m = /^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\./.exec(line);
    if (m) {
      cur = [];
      out.set(parseInt(m[1], 16), cur);
      continue;
    }
    if (/^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ CIE/.test(line)) {
      cur = undefined;
      continue;
    }
    const e = /^\s+DW_CFA_def_cfa_expression \((.*)\)\s*$/.exec(line);
    if (e && cur) cur.push(e[1]);
  }
  return out;
}

/** The row an x86-64 CFA expression must become: kind and offset, or undefined when not decided here. */
export function expectedForExpression(expr: string): { kind: number; off?: number } {
  const plt = /^DW_OP_breg7 \(rsp\): (\d+); DW_OP_breg16 \(rip\): 0; DW_OP_lit15; DW_OP_and; DW_OP_lit(\d+); DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus$/.exec(
    expr,
  );
  if (plt) return plt[1] === '8' && plt[2] === '11' ? { kind: CFA_PLT } : { kind: CFA_RSP };
  const drap = /^DW_OP_breg6 \(rbp\): (-?\d+); DW_OP_deref$/.exec(expr);
  if (drap) return { kind: CFA_DEREF_RBP, off: Number(drap[1]) };
  return { kind: CFA_INVALID };
}
