/** What the symbolizer returns for one address. */
export interface SymbolizedFrame {
  /** bcc style: `vfs_read`, `main`, demangled C++/Rust names, `JS:*foo file.js:1:2` for JIT;
   * `[unknown]` or `module+0xoff` when it cannot be named (never a wrong name). */
  name: string;
  kind: 'kernel' | 'user' | 'jit' | 'inline' | 'python' | 'unknown';
  /** the ELF file / module the address belongs to, when known. */
  module?: string;
  /** offset of the address within the symbol (symbol+off), when named. */
  offset?: number;
  /** source file and line, when known: Python frames, co_filename and the line of the instruction
   * being run; native frames with DWARF, the line table's line (for a frame an inlined function was
   * called from, the call site) */
  file?: string;
  line?: number;
}

export interface Symbolizer {
  /** Kernel addresses (from a kernel stack) → frames, same order. */
  kernel(addrs: readonly bigint[]): SymbolizedFrame[];
  /** User addresses of process `pid` → frames, same order (leaf first; addrs[0] is the sampled pc,
   * the others return addresses). With DWARF, an address yields the functions inlined at it first
   * (kind 'inline', innermost first), then the function they were inlined into; `gen`: the generation() the addresses
   * were recorded in, when they are symbolized later (after a possible exec). */
  user(pid: number, addrs: readonly bigint[], gen?: number): SymbolizedFrame[];
  /** The process's exec generation (0, then + 1 per exec noticed); optional. */
  generation?(pid: number): number;
  /** Read (and cache) a process's maps as soon as it is seen, so short-lived processes still get names. */
  notePid(pid: number): void;
  /** Drop per-process state of processes that no longer exist (file caches stay). */
  prune?(): void;
  /** Resolves when the background debug-info fetches (debuginfod) started so far are done, or after
   * `ms` at the latest (a caller that names stacks once, at the end, waits for late names). */
  settle?(ms: number): Promise<void>;
}
