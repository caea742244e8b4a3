/**
 * Known-answer tests of the CFI → rows builder on hand-assembled .eh_frame / .debug_frame bytes:
 * each DW_CFA_* form, pointer encoding and augmentation the parser supports, and the rows it must
 * produce; plus a gcc-built realigned (DRAP) function and its .plt from a real compile.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnwindRows, type CfiSection } from '../src/unwind/cfi.js';
import { decodeRows, findRow, formatRule, readRow } from '../src/unwind/format.js';
import { generateTable } from '../src/unwind/generate.js';
import { hasTool } from './unwind-helpers.js';

// ---- a tiny CFI assembler ----
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const le = (v: number, size: number): number[] => {
  const out: number[] = [];
  let x = BigInt.asUintN(size * 8, BigInt(v));
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
};
const pad8 = (b: number[]): number[] => {
  while ((b.length + 4) % 8) b.push(0); // DW_CFA_nop
  return b;
};

// DW_CFA helpers
const OP = {
  advance: (d: number) => [0x40 | d],
  advance1: (d: number) => [0x02, d],
  advance2: (d: number) => [0x03, ...le(d, 2)],
  advance4: (d: number) => [0x04, ...le(d, 4)],
  offset: (reg: number, factored: number) => [0x80 | reg, ...uleb(factored)],
  restore: (reg: number) => [0xc0 | reg],
  defCfa: (reg: number, off: number) => [0x0c, ...uleb(reg), ...uleb(off)],
  defCfaReg: (reg: number) => [0x0d, ...uleb(reg)],
  defCfaOff: (off: number) => [0x0e, ...uleb(off)],
  defCfaExpr: (expr: number[]) => [0x0f, ...uleb(expr.length), ...expr],
  expression: (reg: number, expr: number[]) => [0x10, ...uleb(reg), ...uleb(expr.length), ...expr],
  offsetSf: (reg: number, factored: number) => [0x11, ...uleb(reg), ...sleb(factored)],
  defCfaSf: (reg: number, factored: number) => [0x12, ...uleb(reg), ...sleb(factored)],
  defCfaOffSf: (factored: number) => [0x13, ...sleb(factored)],
  undefined: (reg: number) => [0x07, ...uleb(reg)],
  sameValue: (reg: number) => [0x08, ...uleb(reg)],
  register: (reg: number, r2: number) => [0x09, ...uleb(reg), ...uleb(r2)],
  remember: () => [0x0a],
  restoreState: () => [0x0b],
  argsSize: (n: number) => [0x2e, ...uleb(n)],
};
const RBP = 6;
const RSP = 7;
const RA = 16;
const PLT_EXPR = (t: number) => [0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x30 + t, 0x2a, 0x33, 0x24, 0x22];
const DRAP_EXPR = [0x76, ...sleb(-8), 0x06];
// the usual x86-64 CIE program: CFA = rsp + 8, return address at CFA - 8
const CIE_INIT = [...OP.defCfa(RSP, 8), ...OP.offset(RA, 1)];

interface CieSpec {
  aug?: string;
  augData?: number[];
  init?: number[];
  version?: number;
  codeAlign?: number;
  dataAlign?: number;
}
interface FdeSpec {
  cie: number; // index of the CIE
  start: number;
  len: number;
  insns: number[];
  /** bytes of pc_begin and pc_range, when not the default encoding */
  raw?: (fieldAddr: number) => number[];
  augData?: number[];
}

/** Assemble an .eh_frame (CIE ids 0, relative CIE pointers). fdeEnc per CIE: default pcrel|sdata4. */
function ehFrame(vaddr: number, cies: CieSpec[], fdes: FdeSpec[], fdeEncOf: (c: CieSpec) => number = () => 0x1b): Uint8Array {
  const out: number[] = [];
  const cieOff: number[] = [];
  for (const c of cies) {
    const aug = c.aug ?? 'zR';
    const body = [...le(0, 4), c.version ?? 1, ...Buffer.from(aug + '\0', 'latin1'), ...uleb(c.codeAlign ?? 1), ...sleb(c.dataAlign ?? -8), RA];
    if (aug.startsWith('z')) {
      const data = c.augData ?? (aug.includes('R') ? [fdeEncOf(c)] : []);
      body.push(...uleb(data.length), ...data);
    }
    body.push(...(c.init ?? CIE_INIT));
    pad8(body);
    cieOff.push(out.length);
    out.push(...le(body.length, 4), ...body);
  }
  for (const f of fdes) {
    const c = cies[f.cie];
    const start = out.length;
    const body: number[] = [];
    body.push(...le(start + 4 - cieOff[f.cie], 4));
    const fieldAddr = vaddr + start + 8;
    if (f.raw) body.push(...f.raw(fieldAddr));
    else body.push(...le(f.start - fieldAddr, 4), ...le(f.len, 4));
    if ((c.aug ?? 'zR').startsWith('z')) body.push(...uleb((f.augData ?? []).length), ...(f.augData ?? []));
    body.push(...f.insns);
    pad8(body);
    out.push(...le(body.length, 4), ...body);
  }
  out.push(0, 0, 0, 0);
  return Uint8Array.from(out);
}

const rules = (sections: CfiSection[], opts = {}) => {
  const r = buildUnwindRows(sections, opts);
  return { ...r, list: decodeRows(r.rows).map((x) => `${x.pc.toString(16)} ${formatRule(x)}`) };
};
const eh = (data: Uint8Array, vaddr = 0x1000): CfiSection[] => [{ kind: 'eh_frame', data, vaddr }];

describe('CFI → rows (hand-assembled .eh_frame)', () => {
  it('a function with a frame pointer: push rbp; mov rsp,rbp; ... leave', () => {
    const d = ehFrame(
      0x1000,
      [{}],
      [
        {
          cie: 0,
          start: 0x2000,
          len: 0x40,
          insns: [
            ...OP.advance(1),
            ...OP.defCfaOff(16),
            ...OP.offset(RBP, 2),
            ...OP.advance(3),
            ...OP.defCfaReg(RBP),
            ...OP.advance(0x30),
            ...OP.defCfa(RSP, 8),
          ],
        },
      ],
    );
    const r = rules(eh(d));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.list, ['2000 rsp+8 rbp=same', '2001 rsp+16 rbp=c-16', '2004 rbp+16 rbp=c-16', '2034 rsp+8 rbp=c-16', '2040 invalid rbp=same']);
  });

  it('remember/restore_state, restore, same_value, args_size, advance_loc1/2/4, the _sf forms', () => {
    const d = ehFrame(
      0x1000,
      [{}],
      [
        {
          cie: 0,
          start: 0x3000,
          len: 0x20000,
          insns: [
            ...OP.advance1(2),
            ...OP.defCfaOffSf(-3),
            ...OP.offsetSf(RBP, 3),
            ...OP.argsSize(16), // rsp+24, rbp at c-24
            ...OP.advance2(0x100),
            ...OP.remember(),
            ...OP.defCfaOff(8),
            ...OP.restore(RBP),
            ...OP.advance4(0x10000),
            ...OP.restoreState(),
            ...OP.advance(1),
            ...OP.sameValue(RBP),
            ...OP.defCfaSf(RBP, -2),
          ],
        },
      ],
    );
    const r = rules(eh(d));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.list, [
      '3000 rsp+8 rbp=same',
      '3002 rsp+24 rbp=c-24',
      '3102 rsp+8 rbp=same',
      '13102 rsp+24 rbp=c-24',
      '13103 rbp+16 rbp=same',
      '23000 invalid rbp=same',
    ]);
  });

  it('gaps between FDEs get INVALID rows; identical neighbours merge; overlaps keep the first', () => {
    const d = ehFrame(
      0x1000,
      [{}],
      [
        { cie: 0, start: 0x2010, len: 0x10, insns: [] }, // same rule as the next: merged
        { cie: 0, start: 0x2000, len: 0x10, insns: [] },
        { cie: 0, start: 0x2100, len: 0x10, insns: [...OP.advance(4), ...OP.defCfaOff(16)] },
        { cie: 0, start: 0x2104, len: 0x10, insns: [...OP.defCfaOff(32)] }, // overlaps the previous
      ],
    );
    const r = rules(eh(d));
    assert.deepEqual(r.list, ['2000 rsp+8 rbp=same', '2020 invalid rbp=same', '2100 rsp+8 rbp=same', '2104 rsp+16 rbp=same', '2110 invalid rbp=same']);
    assert.equal(r.reasons['overlapping-fde'], 1);
    assert.equal(findRow(r.rows, 0x1fff), -1, 'before the first FDE: no row');
  });

  it('outermost frame (undefined return address), signal frames (augmentation S), return address elsewhere', () => {
    const d = ehFrame(
      0x1000,
      [{}, { aug: 'zRS' }],
      [
        { cie: 0, start: 0x2000, len: 0x10, insns: [...OP.undefined(RA)] },
        { cie: 1, start: 0x2010, len: 0x10, insns: [...OP.defCfaExpr([0x77, ...sleb(160), 0x06])] },
        { cie: 0, start: 0x2020, len: 0x10, insns: [...OP.offset(RA, 2)] }, // ra at CFA-16
        { cie: 0, start: 0x2030, len: 0x10, insns: [...OP.register(RA, 3)] },
      ],
    );
    const r = rules(eh(d));
    // the end-of-table INVALID row merges into the INVALID rows before it
    assert.deepEqual(r.list, ['2000 stop rbp=same', '2010 signal rbp=same', '2020 invalid rbp=same']);
    assert.equal(r.reasons['ra-not-at-cfa-8'], 2);
  });

  it('CFA expressions: the .plt form (PLT row, or per-entry rows for another stub layout), DRAP deref, others INVALID', () => {
    const d = ehFrame(
      0x1000,
      [{}],
      [
        { cie: 0, start: 0x4000, len: 0x40, insns: [...OP.defCfaExpr(PLT_EXPR(11))] },
        { cie: 0, start: 0x5000, len: 0x20, insns: [...OP.defCfaExpr(PLT_EXPR(10))] },
        {
          cie: 0,
          start: 0x6000,
          len: 0x40,
          insns: [
            ...OP.advance(4),
            ...OP.defCfa(10, 0), // lea 8(%rsp),%r10: CFA = r10
            ...OP.advance(8),
            ...OP.expression(RBP, [0x76, 0]),
            ...OP.defCfaExpr(DRAP_EXPR),
            ...OP.advance(20),
            ...OP.defCfaExpr([0x77, 8, 0x06, 0x23, 8]), // rsp+8; deref; plus_uconst 8
          ],
        },
      ],
    );
    const r = rules(eh(d));
    assert.deepEqual(r.list, [
      '4000 plt rbp=same',
      '4040 invalid rbp=same',
      '5000 rsp+8 rbp=same',
      '500a rsp+16 rbp=same',
      '5010 rsp+8 rbp=same',
      '501a rsp+16 rbp=same',
      '5020 invalid rbp=same',
      '6000 rsp+8 rbp=same',
      '6004 invalid rbp=same',
      '600c *(rbp+-8) rbp=undefined',
      '6020 invalid rbp=same', // the unsupported expression; the end-of-table row merges into it
    ]);
    assert.ok(r.reasons['cfa-register-unsupported'] >= 1);
    assert.ok(r.reasons['cfa-expression-unsupported'] >= 1);
    assert.ok(r.reasons['rbp-rule-unsupported'] >= 1);
  });

  it('pointer encodings: udata4 absolute, sdata8 pcrel, datarel sdata4; zPLR augmentation with an indirect personality', () => {
    const insns = [...OP.advance(1), ...OP.defCfaOff(16)];
    for (const [enc, raw, opts] of [
      [0x03, () => [...le(0x7000, 4), ...le(0x10, 4)], {}],
      [0x1c, (at: number) => [...le(0x7000 - at, 8), ...le(0x10, 8)], {}],
      [0x3b, () => [...le(0x7000 - 0x9000, 4), ...le(0x10, 4)], { gotAddr: 0x9000 }],
    ] as Array<[number, (at: number) => number[], object]>) {
      const d = ehFrame(0x1000, [{}], [{ cie: 0, start: 0x7000, len: 0x10, insns, raw }], () => enc);
      const r = rules(eh(d), opts);
      assert.equal(r.error, undefined, `encoding 0x${enc.toString(16)}`);
      assert.deepEqual(r.list, ['7000 rsp+8 rbp=same', '7001 rsp+16 rbp=same', '7010 invalid rbp=same'], `encoding 0x${enc.toString(16)}`);
    }
    // zPLR: personality (indirect|pcrel|sdata4) + LSDA encoding + FDE encoding; the FDE carries an LSDA pointer
    const d = ehFrame(
      0x1000,
      [{ aug: 'zPLR', augData: [0x9b, ...le(0x1234, 4), 0x1b, 0x1b] }],
      [{ cie: 0, start: 0x7000, len: 0x10, insns, augData: le(0x40, 4) }],
    );
    const r = rules(eh(d));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.list, ['7000 rsp+8 rbp=same', '7001 rsp+16 rbp=same', '7010 invalid rbp=same']);
  });

  it('damage: unknown opcode drops that FDE only; FDEs beyond 4 GiB are dropped; a bad CIE pointer is counted', () => {
    const d = ehFrame(
      0x1000,
      [{}],
      [
        { cie: 0, start: 0x2000, len: 0x10, insns: [...OP.advance(1), 0x3f], raw: () => [...le(0x2000, 4), ...le(0x10, 4)] },
        { cie: 0, start: 0x2010, len: 0x10, insns: [...OP.advance(2), ...OP.defCfaOff(24)], raw: () => [...le(0x2010, 4), ...le(0x10, 4)] },
        { cie: 0, start: 0, len: 0x10, insns: [], raw: () => [...le(0, 4), ...le(0x10, 4)] },
      ],
      () => 0x03,
    );
    // the third FDE: absolute address 0 is fine; make a fourth above 4 GiB by hand
    const r = rules(eh(d));
    assert.match(r.error ?? '', /unknown DW_CFA opcode 0x3f/);
    // [0x2000, 0x2010) has no rule (its INVALID row merges with the gap row at 0x10)
    assert.deepEqual(r.list, ['0 rsp+8 rbp=same', '10 invalid rbp=same', '2010 rsp+8 rbp=same', '2012 rsp+24 rbp=same', '2020 invalid rbp=same']);
    const hi = ehFrame(0x1000, [{}], [{ cie: 0, start: 0, len: 0x10, insns: [], raw: () => [...le(2 ** 32 + 0x1000, 8), ...le(0x10, 8)] }], () => 0x04);
    assert.equal(rules(eh(hi)).reasons['fde-above-4g'], 1);
    const bad = Uint8Array.from(d);
    bad[4 + 4 + 24 + 4] = 0x77; // first FDE's CIE pointer → garbage
    const rb = rules(eh(bad));
    assert.ok(rb.reasons['bad-cie'] >= 1 || rb.reasons['corrupt-fde'] >= 1, JSON.stringify(rb.reasons));
  });
});

describe('CFI → rows (hand-assembled .debug_frame)', () => {
  /** .debug_frame: CIE id all ones, absolute CIE offsets, absolute 8-byte addresses. */
  function debugFrame(dwarf64: boolean, version: number): Uint8Array {
    const out: number[] = [];
    const len = (body: number[]) => (dwarf64 ? [...le(0xffffffff, 4), ...le(body.length, 8)] : le(body.length, 4));
    const cie = [
      ...(dwarf64 ? le(-1, 8) : le(0xffffffff, 4)),
      version,
      0, // augmentation ""
      ...(version >= 4 ? [8, 0] : []),
      ...uleb(1),
      ...sleb(-8),
      ...(version === 1 ? [RA] : uleb(RA)),
      ...CIE_INIT,
    ];
    out.push(...len(cie), ...cie);
    const fde = [...(dwarf64 ? le(0, 8) : le(0, 4)), ...le(0x8000, 8), ...le(0x30, 8), ...OP.advance(1), ...OP.defCfaOff(16), ...OP.offset(RBP, 2)];
    out.push(...len(fde), ...fde);
    return Uint8Array.from(out);
  }
  for (const [dwarf64, version] of [
    [false, 1],
    [false, 3],
    [false, 4],
    [true, 4],
  ] as Array<[boolean, number]>) {
    it(`${dwarf64 ? '64' : '32'}-bit DWARF, CIE version ${version}`, () => {
      const r = rules([{ kind: 'debug_frame', data: debugFrame(dwarf64, version), vaddr: 0 }]);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.list, ['8000 rsp+8 rbp=same', '8001 rsp+16 rbp=c-16', '8030 invalid rbp=same']);
    });
  }
  it('.eh_frame wins where both describe the same code; .debug_frame fills the rest', () => {
    const e = ehFrame(0x1000, [{}], [{ cie: 0, start: 0x8000, len: 0x10, insns: [...OP.defCfaOff(40)] }]);
    const r = rules([
      { kind: 'eh_frame', data: e, vaddr: 0x1000 },
      { kind: 'debug_frame', data: debugFrame(false, 3), vaddr: 0 },
    ]);
    assert.deepEqual(r.list, ['8000 rsp+40 rbp=same', '8010 invalid rbp=same']);
    assert.equal(r.reasons['debug-frame-covered'], 1);
  });
});

describe('gcc output', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  it('a realigned frame (DRAP) and the lazy .plt of a real compile', { skip: hasTool('gcc') && hasTool('objdump') ? false : 'needs gcc and binutils' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-unwind-cfi-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'd.c'),
      `#include <stdio.h>
extern void use(char *);
void use(char *p) { __asm__ volatile("" :: "r"(p) : "memory"); }
__attribute__((noinline)) int realigned(int n) { char *b = __builtin_alloca(n); char buf[128] __attribute__((aligned(64))); b[0] = 1; use(b); use(buf); return buf[n & 127] + b[0]; }
int main(int c, char **v) { puts(v[0]); return realigned(c); }
`,
    );
    const bin = join(dir, 'd');
    execFileSync('gcc', ['-O2', '-Wl,-z,lazy', '-o', bin, join(dir, 'd.c')]);
    const frames = execFileSync('readelf', ['--debug-dump=frames', bin]).toString();
    assert.match(frames, /DW_OP_breg6 \(rbp\): -8; DW_OP_deref/, 'gcc emitted the DRAP expression');
    const t = generateTable(bin);
    assert.equal(t.error, undefined);
    const sym = execFileSync('sh', ['-c', `readelf -sW ${bin} | awk '$8 == "realigned" { print $2, $3 }'`])
      .toString()
      .trim()
      .split(' ');
    const [start, size] = [parseInt(sym[0], 16), Number(sym[1])];
    const kinds = new Set<string>();
    for (let i = findRow(t.rows, start); i < t.count && readRow(t.rows, i).pc < start + size; i++) kinds.add(formatRule(readRow(t.rows, i)));
    assert.ok(kinds.has('*(rbp+-8) rbp=undefined'), `realigned(): ${[...kinds].join(', ')}`);
    assert.ok(kinds.has('rsp+8 rbp=same'));
    // puts is called through a lazy .plt entry: the entries after PLT0 use the .plt expression
    const plt = execFileSync('readelf', ['-SW', bin])
      .toString()
      .split('\n')
      .find((l) => /\s\.plt\s/.test(l))!;
    const f = plt.trim().split(/\s+/);
    const [pltAddr, pltSize] = [parseInt(f[3], 16), parseInt(f[5], 16)];
    assert.ok(pltSize >= 32 && /DW_OP_lit11/.test(frames), `a lazy .plt with entries (size ${pltSize})`);
    assert.equal(formatRule(readRow(t.rows, findRow(t.rows, pltAddr + 16))), 'plt rbp=same');
    assert.equal(formatRule(readRow(t.rows, findRow(t.rows, pltAddr + 6))), 'rsp+24 rbp=same', 'PLT0 after its push');
  });
});
