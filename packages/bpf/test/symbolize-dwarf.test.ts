/**
 * DWARF in the symbolizer: inline frames and source lines of an `-O2 -g` C workload (real profile),
 * agreement with llvm-symbolizer on every instruction of the workload's functions, and corrupt DWARF
 * (fuzzed copies of the real sections) falling back to ELF symbols, counted, never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createSymbolizer } from '../src/symbolize/index.js';
import { DwarfInfo } from '../src/symbolize/dwarf.js';
import { ElfFile } from '../src/symbolize/elf.js';
import { loadLibDwError } from '../src/ffi/libdw.js';
import { ROOT_SKIP, run, tmpDir } from './helpers.js';
import { buildNoFp, useTestTables, profileCfi } from './unwind-walk-helpers.js';
import { INLINE_SRC } from './inline-workload.js';

useTestTables();

const LIBDW_SKIP = loadLibDwError() ? `elfutils libdw is not installed (apt-get install libdw1): ${loadLibDwError()!.message}` : false;

const lineOf = (marker: string) => INLINE_SRC.split('\n').findIndex((l) => l.includes(marker)) + 1;

test('DWARF: a real profile of an -O2 -g workload shows the inline chain with file:line', { skip: ROOT_SKIP || LIBDW_SKIP, timeout: 120000 }, async (t) => {
  const bin = buildNoFp('inl_chain', INLINE_SRC);
  const sym = createSymbolizer({ debuginfod: false });
  const { child, done, go, ready } = run(bin, ['1500']);
  // 997 Hz (prime): the machine is shared, the workload may get a fraction of a CPU
  const { h, d } = await profileCfi({ child, ready, go, done }, sym, 997);
  try {
    let total = 0;
    let chain = 0;
    const seen = new Map<string, number>();
    for (const r of d.records) {
      if (r.pid !== child.pid) continue;
      total += r.value;
      const key = r.user.map((f) => `${f.name}${f.kind === 'inline' ? '[i]' : ''}@${f.line ?? '?'}`).join(';');
      seen.set(key, (seen.get(key) ?? 0) + r.value);
      const n = r.user.length;
      if (n < 4) continue;
      const [main, outer, mid, leaf] = r.user.slice(n - 4);
      if (
        main.name === 'main' &&
        main.kind === 'user' &&
        outer.name === 'il_outer' &&
        outer.kind === 'user' &&
        outer.line === lineOf('OUTER_LINE') &&
        mid.name === 'il_mid' &&
        mid.kind === 'inline' &&
        mid.line === lineOf('MID_LINE') &&
        leaf.name === 'il_leaf' &&
        leaf.kind === 'inline' &&
        leaf.line === lineOf('LEAF_LINE') &&
        path.basename(leaf.file ?? '') === 'inl_chain.c'
      )
        chain += r.value;
    }
    const top = [...seen.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
    t.diagnostic(`top stacks ${JSON.stringify(top)} symbolizer ${JSON.stringify(sym.stats())}`);
    assert.ok(total > 50, `samples of the workload: ${total}`);
    // the multiply-add loop is > 99 % of the instructions executed: nearly every sample is in it
    assert.ok(
      chain >= total * 0.9,
      `${chain} of ${total} samples end main;il_outer:${lineOf('OUTER_LINE')};il_mid[i]:${lineOf('MID_LINE')};il_leaf[i]:${lineOf('LEAF_LINE')}: ${JSON.stringify(top)}`,
    );
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
});

function hasLlvmSymbolizer(): boolean {
  return spawnSync('llvm-symbolizer', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** llvm-symbolizer's answer for one address: [name, file, line] innermost first. */
function llvmFrames(out: string): Array<[string, string, number]> {
  const lines = out.split('\n').filter((l) => l !== '');
  const r: Array<[string, string, number]> = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const m = /^(.*):(\d+):\d+$/.exec(lines[i + 1]);
    r.push([lines[i], m ? m[1] : lines[i + 1], m ? Number(m[2]) : 0]);
  }
  return r;
}

test('DWARF: same inline chains and lines as llvm-symbolizer on every instruction of the workload', {
  skip: LIBDW_SKIP || (hasLlvmSymbolizer() ? false : 'llvm-symbolizer is not installed (apt-get install llvm)'),
}, () => {
  const bin = buildNoFp('inl_cmp', INLINE_SRC);
  const elf = ElfFile.open(bin);
  const text = elf.sections.find((s) => s.name === '.text')!;
  elf.close();
  const addrs: number[] = [];
  for (let a = text.addr; a < text.addr + text.size; a++) addrs.push(a);
  const out = execFileSync('llvm-symbolizer', ['--obj', bin, '--functions=linkage', '--output-style=LLVM'], {
    input: addrs.map((a) => `0x${a.toString(16)}`).join('\n') + '\n',
    maxBuffer: 1 << 28,
  }).toString();
  const blocks = out.split('\n\n');
  const dw = DwarfInfo.open(bin)!;
  let same = 0;
  let compared = 0;
  const diffs: string[] = [];
  for (let i = 0; i < addrs.length; i++) {
    const ref = llvmFrames(blocks[i] ?? '');
    // addresses with DWARF only (llvm-symbolizer names the others from the symbol table, line 0)
    if (ref.length === 0 || ref[0][0] === '??' || ref[0][2] === 0) continue;
    const ours = dw.frames(addrs[i]) ?? [];
    compared++;
    const a = ours.map((f) => `${f.name}@${f.line ?? 0}`).join(';');
    const b = ref.map((f) => `${f[0]}@${f[2]}`).join(';');
    if (a === b) same++;
    else if (diffs.length < 5) diffs.push(`0x${addrs[i].toString(16)}: ours ${a} llvm ${b}`);
  }
  dw.close();
  assert.ok(compared > 50, `addresses compared: ${compared}`);
  assert.ok(same >= compared * 0.99, `${same} of ${compared} addresses agree with llvm-symbolizer; first differences: ${diffs.join(' | ')}`);
});

/** Deterministic PRNG (xorshift32): a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

test('DWARF: truncated and corrupt DWARF sections fall back to ELF symbols, counted, never a crash (fuzz)', {
  skip: LIBDW_SKIP,
  timeout: 300000,
}, async (t) => {
  const bin = buildNoFp('inl_fuzz', INLINE_SRC);
  const elf = ElfFile.open(bin);
  const debugSecs = elf.sections.filter((s) => s.name.startsWith('.debug_') && s.type !== 8 && s.size > 0);
  const textAddr = elf.sections.find((s) => s.name === '.text')!.addr;
  const textSize = elf.sections.find((s) => s.name === '.text')!.size;
  elf.close();
  assert.ok(debugSecs.length >= 4, `the workload has DWARF sections: ${debugSecs.map((s) => s.name)}`);
  const orig = fs.readFileSync(bin);
  const dir = fs.mkdtempSync(path.join(tmpDir(), 'fuzz-'));
  const ROUNDS = 300;
  let errors = 0;
  let answered = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const rand = rng(0x9e3779b9 ^ round);
    const buf = Buffer.from(orig);
    const s = debugSecs[Math.floor(rand() * debugSecs.length)];
    const mode = round % 3;
    if (mode === 0) {
      // flip bytes of one section
      const flips = 1 + Math.floor(rand() * 16);
      for (let k = 0; k < flips; k++) buf[s.offset + Math.floor(rand() * s.size)] ^= 1 + Math.floor(rand() * 255);
    } else if (mode === 1) {
      // truncate: zero the section's tail (as a cut-off copy reads)
      buf.fill(0, s.offset + Math.floor(rand() * s.size), s.offset + s.size);
    } else {
      // overwrite a run with random bytes
      const at = s.offset + Math.floor(rand() * s.size);
      const len = Math.min(s.offset + s.size - at, 1 + Math.floor(rand() * 64));
      for (let k = 0; k < len; k++) buf[at + k] = Math.floor(rand() * 256);
    }
    const p = path.join(dir, `f${round}`);
    fs.writeFileSync(p, buf);
    const dw = DwarfInfo.open(p);
    if (!dw) {
      errors++;
      continue;
    }
    for (let a = textAddr; a < textAddr + textSize; a += 3) {
      const f = dw.frames(a);
      if (f) answered++;
      if (dw.failed) break;
    }
    if (dw.failed) errors++;
    dw.close();
    fs.rmSync(p);
  }
  t.diagnostic(`${ROUNDS} corrupt copies: ${errors} detected as corrupt (DWARF off for them), ${answered} lookups answered`);

  // through the symbolizer: a process whose binary's DWARF is corrupt still gets ELF names, and the
  // fallback is counted
  const bad = Buffer.from(orig);
  const info = debugSecs.find((s) => s.name === '.debug_info')!;
  // the first CU's header: an unknown DWARF version makes libdw refuse the unit
  bad.writeUInt16LE(0x7777, info.offset + 4);
  const badBin = path.join(dir, 'inl_bad');
  fs.writeFileSync(badBin, bad, { mode: 0o755 });
  const sym = createSymbolizer({ debuginfod: false });
  const { child, ready } = run(badBin, ['100']);
  try {
    await ready;
    const maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n');
    const m = maps.find((l) => l.includes('inl_bad') && l.split(/\s+/)[1].includes('x'))!;
    const [range, , off] = m.split(/\s+/);
    const start = parseInt(range.split('-')[0], 16);
    const b = ElfFile.open(badBin);
    const outerSym = b.symbols();
    let outerAddr = -1;
    for (let i = 0; i < outerSym.size; i++) if (outerSym.nameAt(i) === 'il_outer') outerAddr = outerSym.starts[i];
    const seg = b.segments.find((sg) => outerAddr >= sg.vaddr && outerAddr < sg.vaddr + sg.filesz)!;
    b.close();
    const runtime = start + (outerAddr - seg.vaddr + seg.offset - parseInt(off, 16)) + 4;
    const frames = sym.user(child.pid!, [BigInt(runtime)]);
    assert.deepEqual(
      frames.map((f) => [f.name, f.kind]),
      [['il_outer', 'user']],
      'the ELF symbol names the address, no inline frames',
    );
    const st = sym.stats();
    assert.equal(st.dwarfFallbacks, 1, `the fallback is counted: ${JSON.stringify(st)}`);
    assert.match(st.dwarfErrors[0], /inl_bad/);
  } finally {
    child.kill('SIGKILL');
  }
});
