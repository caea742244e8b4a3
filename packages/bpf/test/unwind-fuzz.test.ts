/**
 * Fuzzing the CFI parser with seeded corruptions of real .eh_frame sections (ld.so, libc):
 * byte flips, truncations, overwritten length fields and CIE pointers, zeroed ranges, random
 * LEB128 runs. The builder must return (never throw, never hang) a well-formed table: rows
 * strictly sorted, kinds in range, ending INVALID. Whole corrupted ELF copies go through the API.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../src/symbolize/elf.js';
import { buildUnwindRows } from '../src/unwind/cfi.js';
import { CFA_INVALID, ROW_SIZE } from '../src/unwind/format.js';
import { UnwindTables } from '../src/unwind/tables.js';
import { mulberry32 } from '../../../tests/support/random.js';

const OBJS = ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6'].filter((p) => existsSync(p)).map((p) => realpathSync(p));
const SKIP = OBJS.length < 2 ? 'needs glibc (ld.so and libc.so.6) at the Debian paths' : false;

function ehFrame(path: string): { data: Buffer; vaddr: number; offset: number } {
  const elf = ElfFile.open(path);
  try {
    const s = elf.section('.eh_frame');
    assert.ok(s, `${path} has .eh_frame`);
    return { data: elf.sectionData(s)!, vaddr: s.addr, offset: s.offset };
  } finally {
    elf.close();
  }
}

/** One seeded corruption of a copy of buf. */
function corrupt(buf: Buffer, rnd: () => number): { data: Buffer; what: string } {
  const d = Buffer.from(buf);
  const at = () => Math.floor(rnd() * d.length);
  const kind = Math.floor(rnd() * 7);
  switch (kind) {
    case 0: {
      // flip a few random bytes
      const n = 1 + Math.floor(rnd() * 16);
      for (let i = 0; i < n; i++) d[at()] ^= 1 << Math.floor(rnd() * 8);
      return { data: d, what: `${n} bit flips` };
    }
    case 1: {
      // truncate
      const n = at();
      return { data: d.subarray(0, n), what: `truncated at ${n}` };
    }
    case 2: {
      // a huge or tiny length field at an entry-aligned spot
      const o = at() & ~3;
      if (o + 4 <= d.length) d.writeUInt32LE(rnd() < 0.5 ? 0xfffffff0 : Math.floor(rnd() * 64), o);
      return { data: d, what: `length at ${o}` };
    }
    case 3: {
      // zero a range
      const o = at();
      const n = Math.floor(rnd() * 256);
      d.fill(0, o, Math.min(d.length, o + n));
      return { data: d, what: `zeroed ${n} at ${o}` };
    }
    case 4: {
      // 0xff run (endless LEB128 continuation bits, omit encodings, 64-bit length escape)
      const o = at();
      const n = 1 + Math.floor(rnd() * 40);
      d.fill(0xff, o, Math.min(d.length, o + n));
      return { data: d, what: `0xff x${n} at ${o}` };
    }
    case 5: {
      // random bytes
      const o = at();
      const n = 1 + Math.floor(rnd() * 64);
      for (let i = o; i < Math.min(d.length, o + n); i++) d[i] = Math.floor(rnd() * 256);
      return { data: d, what: `random ${n} at ${o}` };
    }
    default: {
      // DW_CFA opcodes that move state: remember_state floods, advance_loc4 to far away
      const o = at();
      const n = 1 + Math.floor(rnd() * 80);
      for (let i = o; i < Math.min(d.length, o + n); i++) d[i] = rnd() < 0.5 ? 0x0a : 0x04;
      return { data: d, what: `opcodes x${n} at ${o}` };
    }
  }
}

function checkTable(rows: Uint8Array, count: number, what: string): void {
  assert.equal(rows.byteLength, count * ROW_SIZE, what);
  const dv = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const pc = dv.getUint32(i * ROW_SIZE, true);
    assert.ok(pc > prev, `${what}: rows not strictly sorted at ${i}`);
    prev = pc;
    assert.ok(rows[i * ROW_SIZE + 10] <= 6, `${what}: cfa kind ${rows[i * ROW_SIZE + 10]}`);
    assert.ok(rows[i * ROW_SIZE + 11] <= 2, `${what}: rbp kind ${rows[i * ROW_SIZE + 11]}`);
  }
  if (count > 0) assert.equal(rows[(count - 1) * ROW_SIZE + 10], CFA_INVALID, `${what}: last row INVALID`);
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('unwind table generator under corrupted .eh_frame', () => {
  it('thousands of seeded corruptions: never throws, always a well-formed table', { skip: SKIP, timeout: 240_000 }, () => {
    const iterations = [1500, 150]; // ld.so's section is small, libc's 8x larger
    let damaged = 0;
    let total = 0;
    for (let k = 0; k < OBJS.length; k++) {
      const eh = ehFrame(OBJS[k]);
      const clean = buildUnwindRows([{ kind: 'eh_frame', data: eh.data, vaddr: eh.vaddr }]);
      assert.equal(clean.error, undefined);
      const rnd = mulberry32(0xfa22 + k);
      for (let i = 0; i < iterations[k]; i++) {
        const { data, what } = corrupt(eh.data, rnd);
        const label = `${OBJS[k]} #${i} (${what})`;
        let r;
        try {
          r = buildUnwindRows([{ kind: 'eh_frame', data, vaddr: eh.vaddr }]);
        } catch (e) {
          assert.fail(`${label}: threw ${(e as Error).stack}`);
        }
        checkTable(r.rows, r.count, label);
        if (r.error) {
          damaged++;
          assert.ok(Object.keys(r.reasons).length > 0, `${label}: an error comes with a counted reason`);
        }
        total++;
      }
      // also as .debug_frame (other CIE ids, absolute addresses) and with garbage sections
      const rnd2 = mulberry32(0xdeb + k);
      for (let i = 0; i < 100; i++) {
        const junk = Buffer.alloc(Math.floor(rnd2() * 4096));
        for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd2() * 256);
        for (const kind of ['eh_frame', 'debug_frame'] as const) {
          const r = buildUnwindRows([{ kind, data: junk, vaddr: 0x1000 }]);
          checkTable(r.rows, r.count, `junk #${i} as ${kind}`);
        }
      }
    }
    assert.ok(damaged > total / 4, `most corruptions are detected and reported (${damaged} of ${total})`);
  });

  it('corrupted ELF copies through UnwindTables: every request resolves', { skip: SKIP, timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-unwind-fuzz-'));
    dirs.push(dir);
    const src = OBJS[0];
    const eh = ehFrame(src);
    const whole = readFileSync(src);
    const elf = ElfFile.open(src);
    const idPos = elf.buildId ? whole.indexOf(Buffer.from(elf.buildId, 'hex')) : -1;
    elf.close();
    assert.ok(idPos > 0, 'ld.so has a build-id note');
    const rnd = mulberry32(0xe1f);
    const u = new UnwindTables({ cacheDir: join(dir, 'cache') });
    try {
      const paths: string[] = [];
      for (let i = 0; i < 40; i++) {
        const { data } = corrupt(eh.data, rnd);
        const copy = Buffer.from(whole);
        copy.fill(0, eh.offset, eh.offset + eh.data.length);
        data.copy(copy, eh.offset, 0, Math.min(data.length, eh.data.length));
        // a distinct build-id per copy, so the cache does not answer for another copy
        copy.writeUInt32LE(0xf0220000 + i, idPos);
        const p = join(dir, `ld-${i}.so`);
        writeFileSync(p, i % 5 === 4 ? copy.subarray(0, Math.floor(rnd() * copy.length)) : copy);
        paths.push(p);
      }
      const tables = await Promise.all(paths.map((p) => u.get(p)));
      for (let i = 0; i < tables.length; i++) checkTable(tables[i].rows, tables[i].count, paths[i]);
    } finally {
      u.close();
    }
  });
});
