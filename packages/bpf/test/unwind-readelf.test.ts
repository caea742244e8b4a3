/**
 * The unwind-table generator against binutils: `readelf --debug-dump=frames-interp` prints, for
 * every FDE, the CFA rule and the saved-register rules row by row. At thousands of seeded random
 * addresses of real objects of this machine (Debian's libc, ld.so, libpython3.11 / python3, the
 * pyenv libpython), our row must give the same CFA rule and the same rbp rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { generateTable } from '../src/unwind/generate.js';
import {
  CFA_DEREF_RBP,
  CFA_INVALID,
  CFA_KIND_NAMES,
  CFA_PLT,
  CFA_RBP,
  CFA_RSP,
  CFA_SIGNAL,
  CFA_STOP,
  RBP_OFFSET,
  RBP_SAME,
  RBP_UNDEFINED,
  findRow,
  formatRule,
  readRow,
} from '../src/unwind/format.js';

function hasTool(t: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface RRow {
  loc: number;
  cfa: string;
  rbp?: string;
  ra?: string;
}
interface RFde {
  cie: string;
  start: number;
  end: number;
  signal: boolean;
  rows: RRow[];
}

/** Parse the .eh_frame part of `readelf --debug-dump=frames-interp`. */
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
      inEh = line.includes('.eh_frame section');
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
      cur = { cie: m[1], start: parseInt(m[2], 16), end: parseInt(m[3], 16), signal: (cieAug.get(m[1]) ?? '').includes('S'), rows: [] };
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
      const row: RRow = { loc: parseInt(m[1], 16), cfa: vals[0] };
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
    const init = cieLast.get(f.cie);
    if (f.rows.length === 0 && init) f.rows.push({ ...init, loc: f.start });
  }
  return fdes;
}

/** Our expected row for a readelf row. */
function expected(r: RRow, signal: boolean): { kinds: number[]; off?: number; rbp?: number[]; rbpOff?: number } {
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

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OBJECTS = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib64/ld-linux-x86-64.so.2',
  existsSync('/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0') ? '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0' : '/usr/bin/python3.11',
  '/usr/bin/python3.11',
  '/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0',
  ...(process.env.UNWIND_EXTRA ?? '').split(',').filter(Boolean),
];
const SAMPLES = 4000;

describe('unwind tables match readelf --debug-dump=frames-interp', () => {
  const readelf = hasTool('readelf');
  const seen = new Set<string>();
  for (const obj of OBJECTS) {
    const skip = !readelf
      ? 'readelf (binutils) is not installed: apt-get install binutils'
      : !existsSync(obj)
        ? `${obj} is not on this machine`
        : false;
    const real = existsSync(obj) ? realpathSync(obj) : obj;
    if (seen.has(real)) continue;
    seen.add(real);
    it(`${obj}: CFA and rbp rules at ${SAMPLES} random addresses`, { skip }, (t2) => {
      // readelf exits 1 on harmless complaints (e.g. ld.so's missing interpreter): use its output
      const out = spawnSync('readelf', ['--debug-dump=frames-interp', real], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
      assert.ok(out.stdout && out.stdout.length > 0, `readelf printed nothing for ${real}`);
      const text = out.stdout.toString('latin1');
      const fdes = parseFramesInterp(text).filter((f) => f.end > f.start);
      assert.ok(fdes.length > 100, `readelf listed only ${fdes.length} FDEs in ${real}`);
      const t = generateTable(real);
      assert.equal(t.error, undefined, `generator error: ${t.error}`);
      assert.ok(t.count > fdes.length / 2, `only ${t.count} rows for ${fdes.length} FDEs`);
      // rows strictly increasing
      for (let i = 1; i < t.count; i++) assert.ok(readRow(t.rows, i).pc > readRow(t.rows, i - 1).pc, `rows not sorted at ${i}`);

      // overlapping FDEs (rare): excluded from sampling
      const sorted = fdes.slice().sort((a, b) => a.start - b.start);
      const overlapped = new Set<RFde>();
      let maxEnd = 0;
      for (const f of sorted) {
        if (f.start < maxEnd) overlapped.add(f);
        maxEnd = Math.max(maxEnd, f.end);
      }
      const usable = fdes.filter((f) => !overlapped.has(f) && f.rows.length > 0);
      const rnd = mulberry32(0x5eed + real.length);
      const mismatches: string[] = [];
      const kindsSeen = new Map<string, number>();
      let compared = 0;
      let expr = 0;
      for (let s = 0; s < SAMPLES; s++) {
        const f = usable[Math.floor(rnd() * usable.length)];
        const ri = Math.floor(rnd() * f.rows.length);
        const r = f.rows[ri];
        const rowEnd = ri + 1 < f.rows.length ? f.rows[ri + 1].loc : f.end;
        if (rowEnd <= r.loc) continue;
        // the first and last byte of the row's range, and one inside
        const pcs = [r.loc, rowEnd - 1, r.loc + Math.floor(rnd() * (rowEnd - r.loc))];
        const exp = expected(r, f.signal);
        for (const pc of pcs) {
          const i = findRow(t.rows, pc);
          const got = i >= 0 ? readRow(t.rows, i) : undefined;
          compared++;
          const name = got ? CFA_KIND_NAMES[got.cfaKind] : 'none';
          kindsSeen.set(name, (kindsSeen.get(name) ?? 0) + 1);
          const where = `pc 0x${pc.toString(16)} (FDE 0x${f.start.toString(16)}..0x${f.end.toString(16)}, readelf "${r.cfa} rbp=${r.rbp ?? '-'} ra=${r.ra ?? '-'}")`;
          if (!got) {
            mismatches.push(`${where}: no row`);
            continue;
          }
          if (!exp.kinds.includes(got.cfaKind)) {
            mismatches.push(`${where}: got ${formatRule(got)}`);
            continue;
          }
          if (r.cfa === 'exp') {
            expr++;
            if (got.cfaKind === CFA_RSP && !(got.cfaOff >= 8)) mismatches.push(`${where}: expression rule became ${formatRule(got)}`);
            continue;
          }
          if (exp.off !== undefined && got.cfaOff !== exp.off) mismatches.push(`${where}: got ${formatRule(got)}`);
          if (exp.rbp && !exp.rbp.includes(got.rbpKind)) mismatches.push(`${where}: rbp got ${formatRule(got)}`);
          if (exp.rbpOff !== undefined && got.rbpOff !== exp.rbpOff) mismatches.push(`${where}: rbp offset got ${formatRule(got)}`);
        }
      }
      // addresses between FDEs have no rule
      let gaps = 0;
      for (let k = 1; k < sorted.length && gaps < 500; k++) {
        const prevEnd = sorted[k - 1].end;
        if (sorted[k].start > prevEnd && !overlapped.has(sorted[k - 1]) && !overlapped.has(sorted[k])) {
          const i = findRow(t.rows, prevEnd);
          if (i >= 0 && readRow(t.rows, i).cfaKind !== CFA_INVALID) mismatches.push(`gap at 0x${prevEnd.toString(16)}: got ${formatRule(readRow(t.rows, i))}`);
          gaps++;
        }
      }
      const last = sorted.reduce((m, f) => Math.max(m, f.end), 0);
      assert.equal(readRow(t.rows, t.count - 1).cfaKind, CFA_INVALID, 'table must end with an INVALID row');
      assert.equal(readRow(t.rows, t.count - 1).pc, last, 'the terminator row is at the end of the last FDE');
      assert.ok(compared >= SAMPLES * 2, `compared only ${compared} addresses`);
      t2.diagnostic(`${compared} addresses: ${JSON.stringify(Object.fromEntries(kindsSeen))}; ${gaps} gaps; ${expr} expression rows`);
      assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} of ${compared} addresses differ from readelf (${JSON.stringify(Object.fromEntries(kindsSeen))}, ${expr} expression rows)`);
    });
  }

  it('libc: its .plt expression is a PLT row and __restore_rt a SIGNAL row', { skip: !readelf || !existsSync('/lib/x86_64-linux-gnu/libc.so.6') ? 'needs readelf and Debian libc' : false }, () => {
    const libc = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
    const t = generateTable(libc);
    const plt = execFileSync('readelf', ['-SW', libc]).toString().split('\n').find((l) => /\s\.plt\s/.test(l));
    assert.ok(plt, 'libc has a .plt section');
    const pltAddr = parseInt(plt.trim().split(/\s+/)[3], 16);
    // PLT0 (push; jmp) has its own rows; the entries from .plt+16 use the expression
    const row = readRow(t.rows, findRow(t.rows, pltAddr + 16 + 5));
    assert.equal(row.cfaKind, CFA_PLT, `.plt entry: ${formatRule(row)}`);
    // the signal trampoline's FDE has a CIE with augmentation "S" (glibc starts it one byte before
    // __restore_rt, because unwinders look up return address - 1)
    const out = spawnSync('readelf', ['--debug-dump=frames-interp', libc], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    const sig = parseFramesInterp(out.stdout.toString('latin1')).filter((f) => f.signal);
    assert.equal(sig.length, 1, 'libc has one signal-frame FDE');
    for (const pc of [sig[0].start, sig[0].start + 1, sig[0].end - 1]) {
      const r = readRow(t.rows, findRow(t.rows, pc));
      assert.equal(r.cfaKind, CFA_SIGNAL, `__restore_rt at 0x${pc.toString(16)}: ${formatRule(r)}`);
    }
    assert.notEqual(readRow(t.rows, findRow(t.rows, sig[0].end)).cfaKind, CFA_SIGNAL, 'the SIGNAL rows end with the FDE');
    // _start is not in libc; clone3's outermost frame has an undefined return address
    const stops = Array.from({ length: t.count }, (_, i) => readRow(t.rows, i)).filter((r) => r.cfaKind === CFA_STOP);
    assert.ok(stops.length >= 1, 'libc has outermost-frame (STOP) rows (clone, clone3, start_thread)');
  });
});
