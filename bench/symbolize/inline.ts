/**
 * Symbolization with inline frames: bpfscope (ELF symbols + DWARF: our per-unit scope index, libdw's
 * line tables) vs llvm-symbolizer (which resolves inline frames by default) on the same addresses,
 * cold and warm.
 *
 * Addresses: inside every sized function of the ELF files this node process has mapped that have
 * DWARF here (in the file, or a separate debug file by build-id / .gnu_debuglink), at a
 * deterministic pseudo-random offset inside the function (so inlined code is hit), round-robin
 * across files, capped at --max (default 50 000). `--per-function N` takes N such offsets in each
 * function (default 1): addresses share functions and units as a profile's samples do.
 *
 * bpfscope: `createSymbolizer().user(process.pid, [addr])` per address (every address as a sampled
 * pc, resolved exactly): runtime address → maps → ELF → symbol + DWARF inline chain and lines.
 * llvm-symbolizer: one process, `"FILE" 0xVADDR` lines with `--output-style=JSON --functions=linkage
 * --demangle` (inlines on), asked twice (cold, warm). Interleaved repetitions, best of each.
 *
 * Agreement: the chain of function names (innermost inlined function first, down to the function
 * they were inlined into), after mapping the demanglers' spellings onto each other and dropping
 * clone suffixes (`.cold`, `.part.0`: our outer name is the ELF symbol, LLVM's the DWARF
 * subprogram); lines separately.
 *
 * Run: node --conditions=source --import tsx bench/symbolize/inline.ts [--max N] [--reps N] [--out FILE]
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { createSymbolizer, demangle, ElfFile, ProcMaps, readElfSymbols } from '../../packages/bpf/src/symbolize/index.js';
import { hasDwarf, openDebugFile } from '../../packages/bpf/src/symbolize/debugfile.js';
import { flag, keepBest, lambdaSpelling, llvmPasses, machine, ownCpuMs, ratio, roundRobin, runtimeAddress, writeResult } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAX = Number(flag('--max', '50000'));
const OUT = flag('--out', join(here, '..', 'results', 'symbolize-inline.json'));
const LLVM = flag('--llvm-symbolizer', '/usr/bin/llvm-symbolizer');
const REPS = Number(flag('--reps', '3'));
const PER_FUNCTION = Math.max(1, Number(flag('--per-function', '1')));
const STACK = 30;
/** the address resolved for probe i: a stack's first address is the sampled pc, the others are
 * return addresses, resolved at the call (- 1), as the symbolizer does (an address at a function's
 * first instruction as it is) */
const lookedUp = (p: { vaddr: number; start: number }, i: number) => (i % STACK === 0 || p.vaddr === p.start ? p.vaddr : p.vaddr - 1);

if (!existsSync(LLVM)) {
  console.error(`llvm-symbolizer not found at ${LLVM}: apt-get install llvm (or pass --llvm-symbolizer PATH)`);
  process.exit(2);
}

interface Probe {
  file: string;
  vaddr: number;
  /** start of the function symbol */
  start: number;
  /** raw names of every symbol starting there (aliases: atanhl / atanhf64x) */
  aliases: Set<string>;
  runtime: bigint;
}

function collect(): { probes: Probe[]; files: Record<string, string> } {
  const maps = ProcMaps.read(process.pid);
  const paths = [...new Set(maps.mappings.filter((m) => m.exec && m.path.startsWith('/') && m.inode).map((m) => m.path))];
  const perFile: Probe[][] = [];
  const files: Record<string, string> = {};
  for (const file of paths) {
    let elf: ElfFile;
    try {
      elf = ElfFile.open(file);
    } catch {
      continue;
    }
    let dwarfAt: string | undefined = hasDwarf(elf) ? file : undefined;
    if (!dwarfAt) {
      const d = openDebugFile(elf, file, {}, hasDwarf);
      if (d) {
        dwarfAt = d.path;
        d.file.close();
      }
    }
    if (!dwarfAt) {
      elf.close();
      continue;
    }
    files[file] = dwarfAt;
    const syms = readElfSymbols(dwarfAt === file ? file : dwarfAt).filter((s) => s.size > 0 && s.type === 'func');
    const seen = new Set<number>();
    const aliases = new Map<number, Set<string>>();
    for (const s of syms) {
      const a = aliases.get(s.addr);
      if (a) a.add(s.name);
      else aliases.set(s.addr, new Set([s.name]));
    }
    const probes: Probe[] = [];
    let k = 0;
    for (const s of syms) {
      if (seen.has(s.addr)) continue;
      seen.add(s.addr);
      for (let j = 0; j < PER_FUNCTION; j++) {
        const off = (k * 7919 + j * 104729) % s.size;
        const vaddr = s.addr + off;
        const runtime = runtimeAddress(elf, maps, file, vaddr);
        if (runtime === undefined) continue;
        probes.push({ file, vaddr, start: s.addr, aliases: aliases.get(s.addr)!, runtime });
      }
      k++;
    }
    elf.close();
    perFile.push(probes);
  }
  return { probes: roundRobin(perFile, MAX), files };
}

interface Chain {
  names: string[];
  lines: number[];
}

interface Cpu {
  /** CPU time of the pass (ours: every thread of this process; llvm-symbolizer: its process) */
  coldCpuMs: number;
  warmCpuMs: number;
}

function runOurs(probes: Probe[], dwarf = true): { coldMs: number; warmMs: number; chains: Chain[]; stats: unknown } & Cpu {
  const sym = createSymbolizer({ debuginfod: false, dwarf });
  const addrs = probes.map((p) => p.runtime);
  const pass = () => {
    const out: Array<ReturnType<typeof sym.user>> = [];
    const c0 = ownCpuMs();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < addrs.length; i += STACK) out.push(sym.user(process.pid, addrs.slice(i, i + STACK)));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpuMs = ownCpuMs() - c0;
    // (not timed) each address gives its inline frames, then one frame that is not inline
    const chains: Chain[] = new Array(probes.length);
    let k = 0;
    for (const frames of out) {
      let names: string[] = [];
      let lines: number[] = [];
      for (const f of frames) {
        names.push(f.name);
        lines.push(f.line ?? 0);
        if (f.kind !== 'inline') {
          chains[k++] = { names, lines };
          names = [];
          lines = [];
        }
      }
    }
    return { ms, cpuMs, chains };
  };
  const cold = pass();
  const warm = pass();
  const stats = sym.stats();
  sym.close();
  return { coldMs: cold.ms, warmMs: warm.ms, coldCpuMs: cold.cpuMs, warmCpuMs: warm.cpuMs, chains: warm.chains, stats };
}

async function runLlvm(probes: Probe[]): Promise<{ coldMs: number; warmMs: number; chains: Chain[] } & Cpu> {
  const input = probes.map((p, i) => `"${p.file}" 0x${lookedUp(p, i).toString(16)}\n`).join('');
  const { cold, warm } = await llvmPasses(LLVM, ['--output-style=JSON', '--functions=linkage', '--demangle'], input, probes.length);
  const chains = warm.out.map((l): Chain => {
    try {
      const j = JSON.parse(l) as { Symbol?: Array<{ FunctionName?: string; Line?: number }> };
      const s = j.Symbol ?? [];
      return { names: s.map((x) => x.FunctionName ?? '??'), lines: s.map((x) => x.Line ?? 0) };
    } catch {
      return { names: ['??'], lines: [0] };
    }
  });
  return { coldMs: cold.ms, warmMs: warm.ms, coldCpuMs: cold.cpuMs, warmCpuMs: warm.cpuMs, chains };
}

/** One spelling for both demanglers, without clone suffixes. */
function normalize(s: string): string {
  return lambdaSpelling(
    s
      .replace(/ \[clone [^\]]*\]/g, '')
      .replace(/ \(\.[A-Za-z_0-9.]+\)/g, '')
      .replace(/\.(cold|part\.\d+|isra\.\d+|constprop\.\d+|lto_priv\.\d+)(\.\d+)*$/g, ''),
  );
}

async function main(): Promise<void> {
  const t = Date.now();
  const loadBefore = loadavg()[0];
  const { probes, files } = collect();
  const perFile = new Map<string, number>();
  for (const p of probes) perFile.set(p.file, (perFile.get(p.file) ?? 0) + 1);
  console.error(`collected ${probes.length} addresses from ${perFile.size} files with DWARF in ${Date.now() - t} ms`);
  const samples: {
    ours: Array<{ coldMs: number; warmMs: number }>;
    llvm: Array<{ coldMs: number; warmMs: number }>;
    oursElfOnly: Array<{ coldMs: number; warmMs: number }>;
  } = { ours: [], llvm: [], oursElfOnly: [] };
  let ours!: ReturnType<typeof runOurs>;
  // the same symbolizer without DWARF (ELF symbols, demangling): what of our time is DWARF's
  let elfOnly!: ReturnType<typeof runOurs>;
  // CPU time, the lowest of the repetitions: steadier than wall time when other work shares the CPUs
  const cpu = {
    ours: { coldCpuMs: Infinity, warmCpuMs: Infinity },
    llvm: { coldCpuMs: Infinity, warmCpuMs: Infinity },
    oursElfOnly: { coldCpuMs: Infinity, warmCpuMs: Infinity },
  };
  const cpuSamples: Record<keyof typeof cpu, Cpu[]> = { ours: [], llvm: [], oursElfOnly: [] };
  const keepCpu = (k: keyof typeof cpu, r: Cpu) => {
    cpuSamples[k].push({ coldCpuMs: +r.coldCpuMs.toFixed(1), warmCpuMs: +r.warmCpuMs.toFixed(1) });
    cpu[k].coldCpuMs = Math.min(cpu[k].coldCpuMs, r.coldCpuMs);
    cpu[k].warmCpuMs = Math.min(cpu[k].warmCpuMs, r.warmCpuMs);
  };
  let llvm!: Awaited<ReturnType<typeof runLlvm>>;
  for (let r = 0; r < REPS; r++) {
    const o = runOurs(probes);
    ours = keepBest(ours, o, samples.ours);
    const l = await runLlvm(probes);
    llvm = keepBest(llvm, l, samples.llvm);
    const e = runOurs(probes, false);
    elfOnly = keepBest(elfOnly, e, samples.oursElfOnly);
    keepCpu('ours', o);
    keepCpu('llvm', l);
    keepCpu('oursElfOnly', e);
    console.error(
      `rep ${r + 1}: ours cold ${o.coldMs.toFixed(0)} ms (cpu ${o.coldCpuMs.toFixed(0)}) warm ${o.warmMs.toFixed(0)} ms; llvm cold ${l.coldMs.toFixed(0)} ms (cpu ${l.coldCpuMs.toFixed(0)}) warm ${l.warmMs.toFixed(0)} ms; ours without DWARF cold ${e.coldMs.toFixed(0)} ms (cpu ${e.coldCpuMs.toFixed(0)})`,
    );
  }
  let sameChain = 0;
  let sameLines = 0;
  let withInlines = 0;
  let compared = 0;
  const mismatches: Array<{ file: string; vaddr: string; ours: string; llvm: string }> = [];
  for (let i = 0; i < probes.length; i++) {
    const o = ours.chains[i];
    const l = llvm.chains[i];
    if (l.names.length === 0 || l.names[0] === '??') continue;
    compared++;
    if (l.names.length > 1) withInlines++;
    const a = o.names.map(normalize).join(' <- ');
    const b = l.names.map(normalize).join(' <- ');
    // the outer function under another name of the same address (an alias: our name is the ELF
    // symbol's, LLVM's the DWARF subprogram's), the inline frames above it identical
    const n = o.names.length;
    const sameOuterAlias =
      n === l.names.length &&
      o.names
        .slice(0, n - 1)
        .map(normalize)
        .join(' <- ') ===
        l.names
          .slice(0, n - 1)
          .map(normalize)
          .join(' <- ') &&
      lookedUp(probes[i], i) >= probes[i].start &&
      [...probes[i].aliases].some((x) => normalize(demangle(x)) === normalize(l.names[n - 1])) &&
      [...probes[i].aliases].some((x) => normalize(demangle(x)) === normalize(o.names[n - 1]));
    if (a === b || sameOuterAlias) {
      sameChain++;
      if (o.lines.join(',') === l.lines.join(',')) sameLines++;
    } else if (mismatches.length < 25) {
      mismatches.push({ file: basename(probes[i].file), vaddr: `0x${probes[i].vaddr.toString(16)}`, ours: a, llvm: b });
    }
  }
  const n = probes.length;
  const result = {
    benchmark: 'symbolize-inline',
    date: new Date().toISOString(),
    machine: machine(loadBefore),
    addresses: n,
    files: Object.fromEntries([...perFile].map(([f, c]) => [f, { addresses: c, dwarf: files[f] }])),
    repetitions: samples.ours.length,
    reported: 'best of the repetitions (shared machine); all samples below',
    samples,
    ours: { coldMs: +ours.coldMs.toFixed(1), warmMs: +ours.warmMs.toFixed(1), symbolizer: ours.stats },
    oursWithoutDwarf: { coldMs: +elfOnly.coldMs.toFixed(1), warmMs: +elfOnly.warmMs.toFixed(1), meaning: 'ELF symbols and demangling only (dwarf: false)' },
    llvmSymbolizer: {
      flags: '--output-style=JSON --functions=linkage --demangle (inlines on)',
      coldMs: +llvm.coldMs.toFixed(1),
      warmMs: +llvm.warmMs.toFixed(1),
    },
    ratio: ratio(ours, llvm),
    cpu: {
      meaning:
        'CPU time of each pass (user + system), the lowest of the repetitions: ours counts every thread of this node process (GC, compiler), llvm-symbolizer its process (10 ms ticks)',
      ours: { coldMs: +cpu.ours.coldCpuMs.toFixed(1), warmMs: +cpu.ours.warmCpuMs.toFixed(1) },
      llvmSymbolizer: { coldMs: +cpu.llvm.coldCpuMs.toFixed(1), warmMs: +cpu.llvm.warmCpuMs.toFixed(1) },
      oursWithoutDwarf: { coldMs: +cpu.oursElfOnly.coldCpuMs.toFixed(1), warmMs: +cpu.oursElfOnly.warmCpuMs.toFixed(1) },
      ratio: ratio({ coldMs: cpu.ours.coldCpuMs, warmMs: cpu.ours.warmCpuMs }, { coldMs: cpu.llvm.coldCpuMs, warmMs: cpu.llvm.warmCpuMs }),
      samples: cpuSamples,
    },
    agreement: {
      meaning: 'same chain of names (normalized spelling, clone suffixes dropped), the outer function also under an alias of its address',
      compared,
      withInlineFrames: withInlines,
      sameFunctionAndInlineChain: +(sameChain / Math.max(1, compared)).toFixed(5),
      sameChainAndLines: +(sameLines / Math.max(1, compared)).toFixed(5),
      mismatchSamples: mismatches,
    },
  };
  writeResult(OUT, result);
  const pct = (x: number) => (x * 100).toFixed(2) + '%';
  console.log(`\n### Symbolization with inline frames: ${n} addresses in ${perFile.size} ELF files with DWARF\n`);
  console.log('| | cold (ms) | warm (ms) |');
  console.log('|---|---:|---:|');
  console.log(`| bpfscope (ELF + DWARF index + libdw lines) | ${result.ours.coldMs} | ${result.ours.warmMs} |`);
  console.log(`| llvm-symbolizer (inlines) | ${result.llvmSymbolizer.coldMs} | ${result.llvmSymbolizer.warmMs} |`);
  console.log(`| (bpfscope without DWARF: ELF symbols only) | ${result.oursWithoutDwarf.coldMs} | ${result.oursWithoutDwarf.warmMs} |`);
  console.log(`| ratio (llvm / ours) | ${result.ratio.cold}× | ${result.ratio.warm}× |`);
  const c = result.cpu;
  console.log(`\nCPU time (lowest of the repetitions):\n`);
  console.log('| | cold CPU (ms) | warm CPU (ms) |');
  console.log('|---|---:|---:|');
  console.log(`| bpfscope (every thread) | ${c.ours.coldMs} | ${c.ours.warmMs} |`);
  console.log(`| llvm-symbolizer | ${c.llvmSymbolizer.coldMs} | ${c.llvmSymbolizer.warmMs} |`);
  console.log(`| (bpfscope without DWARF) | ${c.oursWithoutDwarf.coldMs} | ${c.oursWithoutDwarf.warmMs} |`);
  console.log(`| ratio (llvm / ours) | ${c.ratio.cold}× | ${c.ratio.warm}× |`);
  console.log(
    `\nSame function and inline chain: ${pct(result.agreement.sameFunctionAndInlineChain)} of ${compared} (${withInlines} with inline frames); same lines too: ${pct(result.agreement.sameChainAndLines)}.`,
  );
  for (const m of mismatches.slice(0, 8)) console.log(`- ${m.file} ${m.vaddr}: ours \`${m.ours}\` llvm \`${m.llvm}\``);
  console.log(`\nwritten ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
