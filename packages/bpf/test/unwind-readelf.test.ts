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
import { CFA_INVALID, CFA_KIND_NAMES, CFA_PLT, CFA_SIGNAL, CFA_STOP, findRow, formatRule, readRow } from '../src/unwind/format.js';
import { MIN_GAP } from '../src/unwind/cfi.js';
import { mulberry32 } from '../../../tests/support/random.js';
import { expected, expectedForExpression, hasTool, parseCfaExpressions, parseFramesInterp, type RFde } from './unwind-helpers.js';

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
    const skip = !readelf ? 'readelf (binutils) is not installed: apt-get install binutils' : !existsSync(obj) ? `${obj} is not on this machine` : false;
    const real = existsSync(obj) ? realpathSync(obj) : obj;
    if (seen.has(real)) continue;
    seen.add(real);
    it(`${obj}: CFA and rbp rules at ${SAMPLES} random addresses`, { skip }, (t2) => {
      // readelf exits 1 on harmless complaints (e.g. ld.so's missing interpreter): use its output
      const out = spawnSync('readelf', ['--debug-dump=frames-interp', real], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
      assert.ok(out.stdout && out.stdout.length > 0, `readelf printed nothing for ${real}`);
      const text = out.stdout.toString('latin1');
      const fdes = parseFramesInterp(text).filter((f) => f.end > f.start);
      const raw = spawnSync('readelf', ['--debug-dump=frames', real], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
      const exprs = parseCfaExpressions(raw.stdout.toString('latin1'));
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
          if (r.cfa === 'exp' && !f.signal) {
            // the FDE's expression(s) from the raw dump: decided when the FDE uses one form only
            const forms = [...new Set(exprs.get(f.start) ?? [])];
            if (forms.length === 1 && r.ra === 'c-8') {
              expr++;
              const e = expectedForExpression(forms[0]);
              if (got.cfaKind !== e.kind || (e.off !== undefined && got.cfaOff !== e.off))
                mismatches.push(`${where}: expression "${forms[0]}" became ${formatRule(got)}`);
            }
            continue;
          }
          if (exp.off !== undefined && got.cfaOff !== exp.off) mismatches.push(`${where}: got ${formatRule(got)}`);
          if (exp.rbp && !exp.rbp.includes(got.rbpKind)) mismatches.push(`${where}: rbp got ${formatRule(got)}`);
          if (exp.rbpOff !== undefined && got.rbpOff !== exp.rbpOff) mismatches.push(`${where}: rbp offset got ${formatRule(got)}`);
        }
      }
      // every expression row of every FDE that uses a single expression form (not only sampled ones)
      for (const f of usable) {
        if (f.signal) continue;
        const forms = [...new Set(exprs.get(f.start) ?? [])];
        if (forms.length !== 1) continue;
        const e = expectedForExpression(forms[0]);
        for (const r of f.rows) {
          if (r.cfa !== 'exp' || r.ra !== 'c-8') continue;
          const got = readRow(t.rows, findRow(t.rows, r.loc));
          expr++;
          if (got.cfaKind !== e.kind || (e.off !== undefined && got.cfaOff !== e.off)) {
            mismatches.push(`pc 0x${r.loc.toString(16)}: expression "${forms[0]}" became ${formatRule(got)}`);
          }
        }
      }
      // addresses between FDEs have no rule
      let gaps = 0;
      for (let k = 1; k < sorted.length && gaps < 500; k++) {
        const prevEnd = sorted[k - 1].end;
        // (padding shorter than MIN_GAP between functions is covered by the preceding row)
        if (sorted[k].start - prevEnd >= MIN_GAP && !overlapped.has(sorted[k - 1]) && !overlapped.has(sorted[k])) {
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
      assert.deepEqual(
        mismatches.slice(0, 20),
        [],
        `${mismatches.length} of ${compared} addresses differ from readelf (${JSON.stringify(Object.fromEntries(kindsSeen))}, ${expr} expression rows)`,
      );
    });
  }

  it('libc: its .plt expression is a PLT row and __restore_rt a SIGNAL row', {
    skip: !readelf || !existsSync('/lib/x86_64-linux-gnu/libc.so.6') ? 'needs readelf and Debian libc' : false,
  }, () => {
    const libc = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
    const t = generateTable(libc);
    const plt = execFileSync('readelf', ['-SW', libc])
      .toString()
      .split('\n')
      .find((l) => /\s\.plt\s/.test(l));
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
    // the SIGNAL rows end with the FDE (or the alignment padding after it): the next FDE is not SIGNAL
    const all = parseFramesInterp(out.stdout.toString('latin1'));
    const next = all.filter((f) => f.start >= sig[0].end).sort((a, b) => a.start - b.start)[0];
    const endPc = next && next.start - sig[0].end < MIN_GAP ? next.start : sig[0].end;
    assert.notEqual(readRow(t.rows, findRow(t.rows, endPc)).cfaKind, CFA_SIGNAL, 'the SIGNAL rows end with the FDE');
    // _start is not in libc; clone3's outermost frame has an undefined return address
    const stops = Array.from({ length: t.count }, (_, i) => readRow(t.rows, i)).filter((r) => r.cfaKind === CFA_STOP);
    assert.ok(stops.length >= 1, 'libc has outermost-frame (STOP) rows (clone, clone3, start_thread)');
  });
});
