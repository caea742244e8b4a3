/**
 * Symbolization for bpfscope: kernel addresses via /proc/kallsyms, user addresses via
 * /proc/PID/maps + our own ELF64 reader (.symtab/.dynsym, PT_LOAD translation, build-id and
 * .gnu_debuglink debug files, the vDSO from /proc/PID/mem), JIT code via perf-PID.map, and
 * C++/Rust demangling in TypeScript.
 *
 *   const sym = createSymbolizer({ annotateKernel: true });
 *   sym.notePid(pid);                       // as soon as a pid is seen (short-lived processes)
 *   sym.kernel([0xffffffff816b8235n]);      // [{ name: 'vfs_read_[k]', kind: 'kernel', offset: 5, ... }]
 *   sym.user(pid, stackAddrs);              // same order as given
 *   sym.prune();                            // forget exited processes (file caches stay)
 *
 * Frames that cannot be named are `[unknown]` or `module+0xoff` (ELF virtual address within the
 * module), never a wrong name.
 */
export type { SymbolizedFrame, Symbolizer } from './types.js';
export { createSymbolizer, SymbolizerImpl } from './symbolizer.js';
export type { SymbolizerOptions, SymbolizerStats } from './symbolizer.js';
export { Kallsyms } from './kallsyms.js';
export type { KernelSymbol } from './kallsyms.js';
export { ElfFile, SymbolTable, readElfSymbols } from './elf.js';
export type { ElfSymbol, ElfSegment, ElfSection, ElfLookup } from './elf.js';
export { ProcMaps, isFileMapping } from './procmaps.js';
export type { Mapping } from './procmaps.js';
export { PerfMap } from './perfmap.js';
export type { PerfMapEntry } from './perfmap.js';
export { demangle } from './demangle/index.js';
