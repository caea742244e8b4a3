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
  /** source file and line of the sampled instruction, when known (Python frames: co_filename and
   * the line of the instruction being run) */
  file?: string;
  line?: number;
}

export interface Symbolizer {
  /** Kernel addresses (from a kernel stack) → frames, same order. */
  kernel(addrs: readonly bigint[]): SymbolizedFrame[];
  /** User addresses of process `pid` → frames, same order; `gen`: the generation() the addresses
   * were recorded in, when they are symbolized later (after a possible exec). */
  user(pid: number, addrs: readonly bigint[], gen?: number): SymbolizedFrame[];
  /** The process's exec generation (0, then + 1 per exec noticed); optional. */
  generation?(pid: number): number;
  /** Read (and cache) a process's maps as soon as it is seen, so short-lived processes still get names. */
  notePid(pid: number): void;
  /** Drop per-process state of processes that no longer exist (file caches stay). */
  prune?(): void;
}
