/**
 * The per-unit scope index (src/symbolize/dwarfindex.ts) against libdw's dwarf_getscopes: the same
 * frames (function, inline chain, call file:line, leaf line) on every instruction of -O2 -g C and
 * C++ builds in DWARF 4 (.debug_ranges) and DWARF 5 (.debug_rnglists), and on libc's debug file
 * (compressed DWARF 5) when libc6-dbg is installed; corrupt sections fed to the reader directly
 * end in an Error or an answer, never another exception or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DwarfInfo, type DwarfFrame } from '../src/symbolize/dwarf.js';
import { DwarfIndexReader, loadSections, Unsupported, type DebugSections } from '../src/symbolize/dwarfindex.js';
import { ElfFile, readElfSymbols } from '../src/symbolize/elf.js';
import { loadLibDwError } from '../src/ffi/libdw.js';
import { tmpDir } from './helpers.js';
import { INLINE_SRC } from './inline-workload.js';
import { mulberry32 } from '../../../tests/support/random.js';

const LIBDW_SKIP = loadLibDwError() ? `elfutils libdw is not installed (apt-get install libdw1): ${loadLibDwError()!.message}` : false;

const CXX_SRC = `#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
namespace outer { namespace inner {
template <typename T> struct Acc {
  T v{};
  inline __attribute__((always_inline)) void add(T x) { v = v * 31 + x; }
  T get() const { return v; }
};
class Walker {
 public:
  explicit Walker(int n) : n_(n) {}
  __attribute__((noinline)) long run(const std::vector<int>& xs) const;
 private:
  static inline __attribute__((always_inline)) long mix(long a, long b) { return (a ^ b) * 0x9e3779b97f4a7c15L; }
  int n_;
};
long Walker::run(const std::vector<int>& xs) const {
  Acc<long> acc;
  auto step = [&](int x) { acc.add(mix(x, n_)); };
  for (int r = 0; r < n_; r++) std::for_each(xs.begin(), xs.end(), step);
  return acc.get();
}
__attribute__((noinline)) long free_fn(long x) { Acc<long> a; for (long i = 0; i < x; i++) a.add(i); return a.get(); }
} }
int main(int argc, char** argv) {
  std::vector<int> xs;
  for (int i = 0; i < (argc > 1 ? atoi(argv[1]) : 100); i++) xs.push_back(i * 7);
  std::sort(xs.begin(), xs.end(), [](int a, int b) { return (a % 13) < (b % 13); });
  outer::inner::Walker w(argc + 3);
  std::printf("%ld %ld\\n", w.run(xs), outer::inner::free_fn(argc * 10));
  return 0;
}
`;

function build(name: string, src: string, compiler: string, flags: string[]): string {
  const dir = tmpDir();
  const ext = compiler === 'g++' ? 'cc' : 'c';
  const file = path.join(dir, `${name}.${ext}`);
  const bin = path.join(dir, name);
  fs.writeFileSync(file, src);
  execFileSync(compiler, ['-O2', '-g', ...flags, '-o', bin, file], { stdio: 'pipe' });
  return bin;
}

/** frames through the index and through libdw at each address; the number of addresses compared */
function compare(file: string, addrs: number[]): { compared: number; withInline: number; indexed: number } {
  const ix: DwarfInfo | undefined = DwarfInfo.open(file);
  const dw: DwarfInfo | undefined = DwarfInfo.open(file, undefined, { index: false });
  if (!ix || !dw) throw new Error(`DWARF of ${file} does not open`);
  let withInline = 0;
  let compared = 0;
  try {
    for (const a of addrs) {
      const want: DwarfFrame[] | undefined = dw.frames(a);
      const got: DwarfFrame[] | undefined = ix.frames(a);
      assert.deepEqual(got, want, `${path.basename(file)} 0x${a.toString(16)}: index ${JSON.stringify(got)} libdw ${JSON.stringify(want)}`);
      if (want) compared++;
      if (want?.some((f) => f.inline)) withInline++;
    }
    assert.equal(ix.failed, undefined, `no DWARF error through the index: ${ix.failed}`);
    assert.equal(ix.libdwUnits, 0, 'every unit was indexed by our reader (none handed to libdw)');
    return { compared, withInline, indexed: ix.indexedUnits };
  } finally {
    ix.close();
    dw.close();
  }
}

function textAddresses(bin: string): number[] {
  const elf = ElfFile.open(bin);
  const text = elf.sections.find((s) => s.name === '.text')!;
  elf.close();
  const out: number[] = [];
  for (let a = text.addr; a < text.addr + text.size; a++) out.push(a);
  return out;
}

for (const [lang, compiler, src] of [
  ['C', 'gcc', INLINE_SRC],
  ['C++', 'g++', CXX_SRC],
] as const) {
  for (const version of [4, 5]) {
    test(`DWARF index: same frames as libdw on every byte of .text (${lang}, -O2 -g, DWARF ${version})`, { skip: LIBDW_SKIP, timeout: 120000 }, (t) => {
      const bin = build(`ix_${compiler}_${version}`, src, compiler, [`-gdwarf-${version}`]);
      const r = compare(bin, textAddresses(bin));
      t.diagnostic(`${r.compared} addresses with DWARF frames, ${r.withInline} with inline frames, ${r.indexed} units indexed`);
      assert.ok(r.compared > 200, `most of .text has DWARF frames (${r.compared})`);
      assert.ok(r.withInline > 20, `inline chains were compared (${r.withInline})`);
      assert.ok(r.indexed > 0, 'the index answered');
    });
  }
}

test('DWARF index: same frames as libdw on libc (libc6-dbg: compressed DWARF 5, hundreds of units)', { skip: LIBDW_SKIP, timeout: 300000 }, (t) => {
  const libc = '/lib/x86_64-linux-gnu/libc.so.6';
  let debug: string | undefined;
  try {
    const elf = ElfFile.open(libc);
    const id = elf.buildId;
    elf.close();
    if (id) debug = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
  } catch {
    /* no libc here */
  }
  if (!debug || !fs.existsSync(debug)) {
    t.skip(`no debug file for ${libc} (${debug ?? 'no build-id'}): apt-get install libc6-dbg to run this check`);
    return;
  }
  const syms = readElfSymbols(debug).filter((s) => s.size > 0 && s.type === 'func');
  const addrs: number[] = [];
  let k = 0;
  // every function, two addresses inside it (deterministic offsets)
  for (const s of syms) for (let j = 0; j < 2; j++) addrs.push(s.addr + ((k++ * 7919) % s.size));
  const r = compare(debug, addrs);
  t.diagnostic(`${r.compared} of ${addrs.length} addresses with DWARF frames, ${r.withInline} with inline frames, ${r.indexed} units indexed`);
  assert.ok(r.compared > addrs.length / 2, 'most libc addresses have DWARF frames');
  assert.ok(r.withInline > 100, 'inline chains were compared');
});

test('DWARF index: same frames as libdw on the node binary (DWARF 4, uncompressed) when it has DWARF', { skip: LIBDW_SKIP, timeout: 300000 }, (t) => {
  const node = fs.realpathSync(process.execPath);
  const elf = ElfFile.open(node);
  const info = elf.section('.debug_info');
  elf.close();
  if (!info || info.size === 0) {
    t.skip(`${node} has no .debug_info: nothing to compare here`);
    return;
  }
  const syms = readElfSymbols(node).filter((s) => s.size > 0 && s.type === 'func');
  const addrs: number[] = [];
  // every 7th function (node has ~100 000), one address inside each
  for (let i = 0; i < syms.length; i += 7) addrs.push(syms[i].addr + ((i * 7919) % syms[i].size));
  const r = compare(node, addrs);
  t.diagnostic(`${r.compared} of ${addrs.length} addresses with DWARF frames, ${r.withInline} with inline frames, ${r.indexed} units indexed`);
  assert.ok(r.compared > 0, 'some node addresses have DWARF frames');
});

test('DWARF index: corrupt sections end in an Error or an answer, never another exception or a hang (fuzz)', { timeout: 300000 }, (t) => {
  const bins = [4, 5].map((v) => build(`ix_fuzz_${v}`, CXX_SRC, 'g++', [`-gdwarf-${v}`]));
  let errors = 0;
  let unsupported = 0;
  let answered = 0;
  const ROUNDS = 600;
  for (let round = 0; round < ROUNDS; round++) {
    const rand = mulberry32(0x51ed270b ^ round);
    const elf = ElfFile.open(bins[round % 2]);
    const orig = loadSections(elf);
    elf.close();
    const secs: DebugSections = { ...orig };
    const names = (Object.keys(secs) as Array<keyof DebugSections>).filter((n) => secs[n] && secs[n]!.length > 0);
    const name = names[Math.floor(rand() * names.length)];
    const buf = Buffer.from(secs[name]!);
    const mode = round % 3;
    if (mode === 0) {
      for (let i = 1 + Math.floor(rand() * 16); i > 0; i--) buf[Math.floor(rand() * buf.length)] ^= 1 + Math.floor(rand() * 255);
    } else if (mode === 1) {
      buf.fill(0, Math.floor(rand() * buf.length));
    } else {
      const at = Math.floor(rand() * buf.length);
      for (let i = 0; i < 64 && at + i < buf.length; i++) buf[at + i] = Math.floor(rand() * 256);
    }
    secs[name] = buf;
    const reader = new DwarfIndexReader(secs);
    const tryIt = (f: () => void) => {
      try {
        f();
        answered++;
      } catch (e) {
        assert.ok(e instanceof Error, `round ${round} (${name}): threw a non-Error ${String(e)}`);
        assert.ok(!(e instanceof TypeError), `round ${round} (${name}): a TypeError is a bug, not corrupt input: ${(e as Error).stack}`);
        if (e instanceof Unsupported) unsupported++;
        else errors++;
      }
    };
    let offs: number[] = [];
    tryIt(() => {
      offs = reader.unitOffsets();
    });
    for (const off of offs.slice(0, 64)) {
      tryIt(() => {
        const ix = reader.unit(off);
        for (let n = 0; n < ix.tags.length; n += 3) {
          reader.name(off, ix.dies[n]);
          ix.innermost(ix.rs[ix.rangeAt[n]] ?? 0);
        }
      });
    }
  }
  t.diagnostic(`${ROUNDS} corrupt copies: ${answered} answers, ${errors} errors (corrupt), ${unsupported} unsupported`);
  assert.ok(errors > 0, 'some corruption was detected');
});
