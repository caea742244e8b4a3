/**
 * The symbolizer: kernel addresses through /proc/kallsyms, user addresses through /proc/PID/maps →
 * ELF symbol tables (read through /proc/PID/root or /proc/PID/map_files, so containerized and
 * deleted binaries work), the vDSO from /proc/PID/mem, JIT code from perf-PID.map files.
 *
 * Caches: ELF files by identity (device+inode+mtime+size, then build-id) shared by all processes;
 * per-process maps from the first time the process is seen (notePid), so processes that exit
 * before the drain still get names; prune() forgets exited processes.
 */
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { basename } from 'node:path';
import { openDebugFile, hasDwarf } from './debugfile.js';
import { DebuginfodClient, debuginfodFromEnv, type DebuginfodOptions, type DebuginfodStats } from './debuginfod.js';
import { demangle as demangleName } from './demangle/index.js';
import { DwarfInfo } from './dwarf.js';
import { ElfFile } from './elf.js';
import { Kallsyms } from './kallsyms.js';
import { PerfMap } from './perfmap.js';
import { ProcMaps, isFileMapping, type Mapping } from './procmaps.js';
import type { SymbolizedFrame, Symbolizer } from './types.js';

export interface SymbolizerOptions {
  /** where /proc is mounted (default /proc) */
  procRoot?: string;
  /** kallsyms file (default `${procRoot}/kallsyms`) */
  kallsymsPath?: string;
  /** directories searched for separate debug files (default ['/usr/lib/debug']) */
  debugDirs?: string[];
  /** append bcc's `_[k]` to kernel frame names */
  annotateKernel?: boolean;
  /** demangle C++/Rust names (default true) */
  demangle?: boolean;
  /** where JITs write perf-PID.map (default /tmp) */
  perfMapDir?: string;
  /** how many ELF files may keep a file descriptor open before the oldest are detached (default 128) */
  maxOpenFiles?: number;
  /** inline frames and source lines from DWARF (elfutils libdw) when an object has debug info (default true) */
  dwarf?: boolean;
  /** fetch debug files of build-ids without local debug info from debuginfod servers, in the
   * background (default: from DEBUGINFOD_URLS; false: never) */
  debuginfod?: DebuginfodOptions | false;
  /** first delay before kallsyms is re-read on a miss (new module or BPF program); doubles while
   * re-reading does not help, up to 5 min (default 5000 ms) */
  kallsymsReloadMs?: number;
}

/** A fresh object each time: callers may decorate frames. */
function unknownFrame(): SymbolizedFrame {
  return { name: '[unknown]', kind: 'unknown' };
}
const PERFMAP_RETRY_MS = 1000;
/** how often a known process is checked for exec (one small read of /proc/PID/stat) */
const LAYOUT_CHECK_MS = 1000;
const MAPS_REREAD_MS = 250;
const PERFMAP_REFRESH_MS = 100;
const KALLSYMS_RELOAD_MS = 5000;
/** processes' images before an exec kept for generation() (oldest dropped first) */
const MAX_PAST_GENS = 256;
const KALLSYMS_RELOAD_MAX_MS = 5 * 60_000;

interface PidState {
  pid: number;
  /** bumped when the process exec'd (or its pid was reused): see generation() */
  gen: number;
  /** field 22 of /proc/PID/stat when first seen: detects pid reuse */
  startTime?: string;
  /** executable identity + fields 26 and 28 (start of code, start of stack): change on exec */
  layout?: string;
  layoutCheckedAt: number;
  maps?: ProcMaps;
  mapsAt: number;
  /** resolved ELF per mapping index; null = cannot be read */
  elfs: (ElfFile | null | undefined)[];
  perf?: PerfMap | null;
  perfPaths?: string[];
  /** when we last looked for a perf map that did not exist (JITs create it lazily) */
  perfCheckedAt?: number;
}

/** Stats for benchmarks and debugging. */
export interface SymbolizerStats {
  elfFiles: number;
  pids: number;
  kernelSymbols: number;
  /** objects whose DWARF is in use (inline frames, lines) */
  dwarfObjects: number;
  /** objects whose DWARF could not be read (corrupt, truncated): ELF symbols only for them */
  dwarfFallbacks: number;
  /** why, per object (the first few) */
  dwarfErrors: string[];
  debuginfod?: DebuginfodStats;
}

/** Where an object's DWARF is (its own file, a separate debug file, a debuginfod download). */
interface DwarfSource {
  path?: string;
  info?: DwarfInfo | null;
  /** a debuginfod fetch was started for it */
  asked?: boolean;
}

export class SymbolizerImpl implements Symbolizer {
  private readonly procRoot: string;
  private readonly kallsymsPath: string;
  private readonly debugDirs: string[];
  private readonly annotate: boolean;
  private readonly doDemangle: boolean;
  private readonly perfMapDir: string;
  private readonly maxOpen: number;
  private ksyms?: Kallsyms;
  private ksymsAt = 0;
  private readonly ksymsReloadBase: number;
  private ksymsReloadMs: number;
  private ksymsError?: Error;
  private readonly pids = new Map<number, PidState>();
  /** what a process looked like before it exec'd, by `${pid}:${gen}`, for addresses recorded then */
  private readonly pastGens = new Map<string, PidState>();
  private readonly elfByIdentity = new Map<string, ElfFile | null>();
  private readonly elfByBuildId = new Map<string, ElfFile>();
  private readonly openFiles: ElfFile[] = [];
  private readonly transform: (raw: string) => string;
  private readonly useDwarf: boolean;
  private readonly dwarfOf = new WeakMap<ElfFile, DwarfSource>();
  private readonly dwarfOpen: DwarfInfo[] = [];
  private dwarfFallbacks = 0;
  private readonly dwarfErrors: string[] = [];
  private readonly debuginfod?: DebuginfodClient;

  constructor(opts: SymbolizerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.kallsymsPath = opts.kallsymsPath ?? `${this.procRoot}/kallsyms`;
    this.debugDirs = opts.debugDirs ?? ['/usr/lib/debug'];
    this.annotate = opts.annotateKernel ?? false;
    this.doDemangle = opts.demangle ?? true;
    this.perfMapDir = opts.perfMapDir ?? '/tmp';
    this.maxOpen = opts.maxOpenFiles ?? 128;
    this.ksymsReloadBase = opts.kallsymsReloadMs ?? KALLSYMS_RELOAD_MS;
    this.ksymsReloadMs = this.ksymsReloadBase;
    this.transform = this.doDemangle ? (s) => demangleName(stripVersion(s)) : stripVersion;
    this.useDwarf = opts.dwarf ?? true;
    const dopts = opts.debuginfod === false ? undefined : (opts.debuginfod ?? debuginfodFromEnv());
    if (dopts && (dopts.urls?.length ?? 0) > 0) this.debuginfod = new DebuginfodClient(dopts);
  }

  stats(): SymbolizerStats {
    return {
      elfFiles: this.elfByIdentity.size,
      pids: this.pids.size,
      kernelSymbols: this.ksyms?.size ?? 0,
      dwarfObjects: this.dwarfOpen.filter((d) => !d.failed).length,
      dwarfFallbacks: this.dwarfFallbacks,
      dwarfErrors: this.dwarfErrors.slice(),
      debuginfod: this.debuginfod ? { ...this.debuginfod.stats } : undefined,
    };
  }

  // ---------------------------------------------------------------- kernel

  private kallsyms(): Kallsyms | undefined {
    if (!this.ksyms && !this.ksymsError) {
      try {
        this.ksyms = Kallsyms.load(this.kallsymsPath);
        this.ksymsAt = Date.now();
      } catch (e) {
        this.ksymsError = e as Error;
      }
    }
    return this.ksyms;
  }

  kernel(addrs: readonly bigint[]): SymbolizedFrame[] {
    const k = this.kallsyms();
    const out = new Array<SymbolizedFrame>(addrs.length);
    let reloaded = false;
    for (let i = 0; i < addrs.length; i++) {
      let s = k ? this.ksyms!.lookup(addrs[i]) : undefined;
      if (!s && this.ksyms && !reloaded && Date.now() - this.ksymsAt > this.ksymsReloadMs) {
        // modules and BPF programs come and go: reload on a miss, backing off while reloading
        // does not help (an address that is in no symbol stays unknown; a reload costs ~0.3 s)
        reloaded = true;
        try {
          this.ksyms = Kallsyms.load(this.kallsymsPath);
        } catch {
          /* keep the old table */
        }
        this.ksymsAt = Date.now();
        s = this.ksyms.lookup(addrs[i]);
        this.ksymsReloadMs = s ? this.ksymsReloadBase : Math.min(Math.max(1, this.ksymsReloadMs * 2), KALLSYMS_RELOAD_MAX_MS);
      }
      if (!s) {
        out[i] = unknownFrame();
        continue;
      }
      out[i] = {
        name: this.annotate ? `${s.name}_[k]` : s.name,
        kind: 'kernel',
        module: s.module ?? 'vmlinux',
        offset: s.offset,
      };
    }
    return out;
  }

  /** Why kernel symbols are unavailable (e.g. not root), if they are. */
  kernelError(): Error | undefined {
    this.kallsyms();
    return this.ksymsError;
  }

  // ---------------------------------------------------------------- user

  notePid(pid: number): void {
    const st = this.pids.get(pid);
    if (st) return;
    const s = this.newState(pid);
    // resolve executable file mappings now: the fds we open keep the files readable after exit
    if (s.maps) {
      const ms = s.maps.mappings;
      for (let i = 0; i < ms.length; i++) if (ms[i].exec) this.elfFor(s, i);
    }
    this.perfMapFor(s);
  }

  private newState(pid: number): PidState {
    const st = this.statFields(pid);
    const s: PidState = { pid, gen: 0, mapsAt: 0, elfs: [], startTime: st?.[19], layout: st ? this.layoutOf(pid, st) : undefined, layoutCheckedAt: Date.now() };
    this.readMaps(s);
    this.pids.set(pid, s);
    return s;
  }

  private readMaps(s: PidState): boolean {
    s.mapsAt = Date.now();
    try {
      const maps = ProcMaps.read(s.pid, this.procRoot);
      // an exiting process (zombie) reads as no mappings at all: keep the ones we had
      if (maps.mappings.length === 0 && s.maps) return false;
      s.maps = maps;
      s.elfs = new Array(s.maps.mappings.length);
      // open the executable mappings' files now, while /proc/PID/root reaches them (not after exit)
      for (let i = 0; i < maps.mappings.length; i++) if (maps.mappings[i].exec) this.elfFor(s, i);
      return true;
    } catch {
      return false;
    }
  }

  /** Forget processes that exited (or whose pid now belongs to a new process). */
  prune(): void {
    for (const [pid, s] of this.pids) {
      if (!existsSync(`${this.procRoot}/${pid}`)) this.pids.delete(pid);
      else if (s.startTime !== undefined && this.startTime(pid) !== s.startTime) this.pids.delete(pid);
    }
  }

  private startTime(pid: number): string | undefined {
    return this.statFields(pid)?.[19]; // field 22
  }

  /** /proc/PID/stat fields from field 3 on (index = field number - 3). */
  private statFields(pid: number): string[] | undefined {
    try {
      const stat = readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
      // comm (field 2) may contain spaces and parentheses: split after the last ')'
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  }

  /** What changes on exec: the executable's identity, and (ASLR) where code and stack start. */
  private layoutOf(pid: number, st: string[]): string {
    let exe = '';
    try {
      const x = statSync(`${this.procRoot}/${pid}/exe`);
      exe = `${x.dev}:${x.ino}`;
    } catch {
      /* kernel thread or no permission */
    }
    return `${exe}:${st[23]}:${st[25]}`;
  }

  /** The process exec'd since we read its maps (new code/stack start): read them again. */
  private checkExec(s: PidState): void {
    const now = Date.now();
    if (now - s.layoutCheckedAt < LAYOUT_CHECK_MS) return;
    s.layoutCheckedAt = now;
    const st = this.statFields(s.pid);
    // exited, or exiting (a zombie has no mm: code/stack start read 0, exe unreadable): keep what we have
    if (!st || st[0] === 'Z' || st[0] === 'X') return;
    const layout = this.layoutOf(s.pid, st);
    if (s.layout !== undefined && layout !== s.layout) {
      // keep the image before the exec for addresses recorded under it (generation())
      this.pastGens.set(`${s.pid}:${s.gen}`, { ...s });
      while (this.pastGens.size > MAX_PAST_GENS) this.pastGens.delete(this.pastGens.keys().next().value!);
      s.gen++;
      this.readMaps(s);
      s.perf = undefined;
      s.perfPaths = undefined;
    }
    s.layout = layout;
  }

  /** Forget everything about one process (e.g. on exec). */
  forgetPid(pid: number): void {
    this.pids.delete(pid);
  }

  /**
   * The process's current generation: 0 when first seen, + 1 at each exec (or pid reuse) noticed
   * since (checked at most once a second). A caller that symbolizes later than it recorded
   * addresses (the CLI, at the end of a capture) notes the generation when it records them and
   * passes it to user(), which then uses the maps of that time.
   */
  generation(pid: number): number {
    const s = this.pids.get(pid);
    if (!s) {
      this.notePid(pid);
      return this.pids.get(pid)!.gen;
    }
    this.checkExec(s);
    return s.gen;
  }

  user(pid: number, addrs: readonly bigint[], gen?: number): SymbolizedFrame[] {
    let s = this.pids.get(pid);
    if (!s) s = this.newState(pid);
    else this.checkExec(s);
    if (gen !== undefined && gen !== s.gen) {
      // recorded before an exec: the image of then, as it was (no re-read: the process changed since)
      const past = this.pastGens.get(`${pid}:${gen}`);
      if (!past) return addrs.map(unknownFrame);
      const out: SymbolizedFrame[] = [];
      for (let i = 0; i < addrs.length; i++) {
        const big = addrs[i];
        if (big <= 0n || big >= 0x20000000000000n || !past.maps) out.push(unknownFrame());
        else this.symbolizeUser(past, past.maps.findIndex(Number(big)), Number(big), i === 0, out);
      }
      return out;
    }
    const out: SymbolizedFrame[] = [];
    let reread = false;
    for (let i = 0; i < addrs.length; i++) {
      const big = addrs[i];
      if (big <= 0n || big >= 0x20000000000000n) {
        out.push(unknownFrame());
        continue;
      }
      const a = Number(big);
      let idx = s.maps ? s.maps.findIndex(a) : -1;
      if (idx < 0 && !reread && Date.now() - s.mapsAt > MAPS_REREAD_MS) {
        // a library loaded (dlopen) or JIT region created since we read the maps
        reread = true;
        if (this.readMaps(s)) idx = s.maps!.findIndex(a);
      }
      this.symbolizeUser(s, idx, a, i === 0, out);
    }
    return out;
  }

  /** Append the frames of address `a` (leaf: the sampled pc, else a return address) to `out`. */
  private symbolizeUser(s: PidState, idx: number, a: number, leaf: boolean, out: SymbolizedFrame[]): void {
    if (idx >= 0) {
      const m = s.maps!.mappings[idx];
      if (isFileMapping(m) || m.path === '[vdso]') {
        const elf = this.elfFor(s, idx);
        const fileOff = a - m.start + m.offset;
        if (elf) {
          const va = elf.fileOffsetToVaddr(fileOff);
          if (va !== undefined) {
            const tab = elf.symbols();
            const at = tab.find(va);
            // a return address is the instruction after the call: its function, inline chain and
            // line are those of the call (va - 1), as perf, gdb and llvm-symbolizer resolve them (a
            // call to a noreturn function can be a function's last instruction, so va is already past
            // its end); an address at a function's first instruction is taken as it is (its symbol
            // names it)
            const exact = leaf || (at >= 0 && tab.starts[at] === va);
            const j = exact ? at : tab.find(va - 1);
            const dw = this.useDwarf ? this.dwarfFrames(elf, exact ? va : va - 1) : undefined;
            if (dw) {
              const last = dw.length - 1;
              for (let k = 0; k < last; k++) {
                const d = dw[k];
                if (d.display === undefined) d.display = d.name ? this.transform(d.name) : '[unknown]';
                out.push({ name: d.display, kind: 'inline', module: m.path, file: d.file, line: d.line });
              }
              const d = dw[last];
              if (j >= 0) {
                out.push({ name: tab.displayName(j, this.transform), kind: 'user', module: m.path, offset: va - tab.starts[j], file: d.file, line: d.line });
              } else if (d.name) {
                if (d.display === undefined) d.display = this.transform(d.name);
                out.push({ name: d.display, kind: 'user', module: m.path, file: d.file, line: d.line });
              } else {
                out.push({ name: `${moduleLabel(m)}+0x${va.toString(16)}`, kind: 'unknown', module: m.path, file: d.file, line: d.line });
              }
              return;
            }
            if (j >= 0) {
              out.push({ name: tab.displayName(j, this.transform), kind: 'user', module: m.path, offset: va - tab.starts[j] });
              return;
            }
            out.push({ name: `${moduleLabel(m)}+0x${va.toString(16)}`, kind: 'unknown', module: m.path });
            return;
          }
        } else {
          // not an ELF file: JIT code in a file-backed or memfd mapping may be in the perf map
          const jit = this.jitFrame(s, a);
          if (jit) {
            out.push(jit);
            return;
          }
        }
        out.push({ name: `${moduleLabel(m)}+0x${fileOff.toString(16)}`, kind: 'unknown', module: m.path });
        return;
      }
    }
    // anonymous executable memory, or an address outside every mapping: JIT code?
    out.push(this.jitFrame(s, a) ?? unknownFrame());
  }

  /** DWARF frames at va of an object (innermost first), when it has usable DWARF. */
  private dwarfFrames(elf: ElfFile, va: number) {
    const src = this.dwarfOf.get(elf);
    if (!src?.path) return undefined;
    if (src.info === undefined) {
      src.info = DwarfInfo.open(src.path, (why) => this.noteDwarfError(why)) ?? null;
      if (src.info) this.dwarfOpen.push(src.info);
    }
    const info = src.info;
    if (!info) return undefined;
    const r = info.frames(va);
    if (info.failed) {
      this.noteDwarfError(info.failed);
      src.info = null;
      return undefined;
    }
    return r;
  }

  private noteDwarfError(why: string): void {
    if (why === 'libdw-unavailable') return;
    this.dwarfFallbacks++;
    if (this.dwarfErrors.length < 16) this.dwarfErrors.push(why);
  }

  private jitFrame(s: PidState, a: number): SymbolizedFrame | undefined {
    const pm = this.perfMapFor(s);
    if (pm) {
      try {
        pm.refresh(PERFMAP_REFRESH_MS);
      } catch {
        /* keep what was read so far */
      }
      const e = pm.lookup(a);
      if (e) return { name: e.name, kind: 'jit', module: pm.path, offset: e.offset };
    }
    return undefined;
  }

  private perfMapFor(s: PidState): PerfMap | null {
    if (s.perf) return s.perf;
    if (s.perf === null && Date.now() - (s.perfCheckedAt ?? 0) < PERFMAP_RETRY_MS) return null;
    if (!s.perfPaths) {
      const paths = [`${this.perfMapDir}/perf-${s.pid}.map`];
      // a process in a PID namespace writes perf-<its own pid>.map inside its own /tmp
      const nspid = this.nsPid(s.pid);
      const rootTmp = `${this.procRoot}/${s.pid}/root${this.perfMapDir}`;
      if (nspid !== undefined && nspid !== s.pid) paths.push(`${rootTmp}/perf-${nspid}.map`);
      s.perfPaths = paths;
    }
    for (const p of s.perfPaths) {
      const pm = new PerfMap(p);
      let ok = false;
      try {
        ok = pm.refresh();
      } catch {
        ok = false;
      }
      if (ok) {
        s.perf = pm;
        return pm;
      }
    }
    s.perf = null;
    s.perfCheckedAt = Date.now();
    return null;
  }

  private nsPid(pid: number): number | undefined {
    try {
      const status = readFileSync(`${this.procRoot}/${pid}/status`, 'utf8');
      const m = /^NSpid:\s*([\d\s]+)$/m.exec(status);
      if (!m) return undefined;
      const ids = m[1].trim().split(/\s+/);
      return Number(ids[ids.length - 1]);
    } catch {
      return undefined;
    }
  }

  /** The ElfFile behind mapping idx of process s (cached), or null when it cannot be read. */
  private elfFor(s: PidState, idx: number): ElfFile | null {
    const cached = s.elfs[idx];
    if (cached !== undefined) return cached;
    const m = s.maps!.mappings[idx];
    let elf: ElfFile | null = null;
    try {
      elf = m.path === '[vdso]' ? this.loadVdso(s.pid, m) : this.loadFile(s.pid, m);
    } catch {
      elf = null;
    }
    // all mappings of the same file share the result
    const ms = s.maps!.mappings;
    for (let j = 0; j < ms.length; j++) {
      if (ms[j].inode === m.inode && ms[j].dev === m.dev && ms[j].path === m.path) s.elfs[j] = elf;
    }
    return elf;
  }

  private loadVdso(pid: number, m: Mapping): ElfFile | null {
    const size = m.end - m.start;
    if (size <= 0 || size > 1 << 20) return null;
    const key = `vdso:${size}`;
    const hit = this.elfByIdentity.get(key);
    if (hit) return hit;
    let fd: number;
    try {
      fd = openSync(`${this.procRoot}/${pid}/mem`, 'r');
    } catch {
      return null;
    }
    try {
      const buf = Buffer.alloc(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, buf, done, size - done, m.start + done);
        if (n <= 0) break;
        done += n;
      }
      if (done < 64) return null;
      const elf = ElfFile.fromBuffer(buf.subarray(0, done), '[vdso]');
      elf.symbols();
      this.elfByIdentity.set(key, elf);
      return elf;
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }

  private loadFile(pid: number, m: Mapping): ElfFile | null {
    // 1) the path inside the process's root (containers); check it is the same inode
    // 2) /proc/PID/map_files/<start>-<end> (works for deleted/replaced files; needs root)
    const candidates = [`${this.procRoot}/${pid}/root${m.path}`, `${this.procRoot}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`];
    for (const p of candidates) {
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      if (st.ino !== m.inode && !p.includes('/map_files/')) continue;
      const identity = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}`;
      const hit = this.elfByIdentity.get(identity);
      if (hit !== undefined) return hit;
      let elf: ElfFile | null;
      try {
        elf = ElfFile.open(p, { name: m.path });
      } catch {
        elf = null;
      }
      if (elf?.buildId) {
        const same = this.elfByBuildId.get(elf.buildId);
        if (same) {
          elf.close();
          this.elfByIdentity.set(identity, same);
          return same;
        }
        this.elfByBuildId.set(elf.buildId, elf);
      }
      if (elf) {
        this.attachDebugFile(elf, p, m.path, pid);
        this.trackOpen(elf);
      }
      this.elfByIdentity.set(identity, elf);
      return elf;
    }
    return null;
  }

  /**
   * Separate debug files (symbolize/debugfile.ts: build-id, .gnu_debuglink, then the debuginfod
   * cache) for symbols and DWARF; with debuginfod servers, a background fetch when there is none:
   * names, inline frames and lines appear once it arrives (in later lookups).
   */
  private attachDebugFile(elf: ElfFile, openedPath: string, mappedPath: string, pid: number): void {
    const ownDwarf = this.useDwarf && hasDwarf(elf);
    const src: DwarfSource = { path: ownDwarf ? openedPath : undefined };
    this.dwarfOf.set(elf, src);
    if (elf.hasSymtab && (ownDwarf || !this.useDwarf)) return;
    const host =
      elf.buildId && elf.buildId.length > 2 ? this.debugDirs.map((d) => `${d}/.build-id/${elf.buildId!.slice(0, 2)}/${elf.buildId!.slice(2)}.debug`) : [];
    const cached = elf.buildId ? this.debuginfod?.cachedPath(elf.buildId) : undefined;
    const found = openDebugFile(
      elf,
      mappedPath,
      { root: `${this.procRoot}/${pid}/root`, debugDirs: this.debugDirs, extra: cached ? [...host, cached] : host },
      (dbg) => dbg.hasSymtab || (this.useDwarf && hasDwarf(dbg)),
      openedPath,
    );
    if (found) {
      this.useDebugFile(elf, src, found.file, found.path);
      return;
    }
    if (this.debuginfod && elf.buildId && (!elf.hasSymtab || (this.useDwarf && !ownDwarf))) {
      const p = this.debuginfod.fetch(elf.buildId);
      src.asked = true;
      p?.then((path) => {
        if (!path || src.path) return;
        let dbg: ElfFile;
        try {
          dbg = ElfFile.open(path);
        } catch {
          return;
        }
        if (dbg.buildId !== elf.buildId) {
          dbg.close();
          return;
        }
        this.useDebugFile(elf, src, dbg, path);
      });
    }
  }

  private useDebugFile(elf: ElfFile, src: DwarfSource, dbg: ElfFile, path: string): void {
    if (this.useDwarf && !src.path && hasDwarf(dbg)) {
      src.path = path;
      src.info = undefined;
    }
    // a debug file's .symtab has every function (the object's own may be stripped to .dynsym)
    if (dbg.hasSymtab) elf.useSymbolsFrom(dbg);
    else dbg.close();
  }

  /** The debuginfod fetches under way (tests, benchmarks, a CLI that wants late names). */
  async debuginfodSettled(): Promise<void> {
    await this.debuginfod?.idle();
  }

  async settle(ms: number): Promise<void> {
    if (!this.debuginfod) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.debuginfod.idle(), new Promise<void>((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
  }

  private trackOpen(elf: ElfFile): void {
    this.openFiles.push(elf);
    while (this.openFiles.length > this.maxOpen) {
      const old = this.openFiles.shift()!;
      try {
        old.detach();
      } catch {
        /* unreadable: lookups will miss */
      }
    }
  }

  /** Release every open file (tables already built stay usable); stop debuginfod transfers. */
  close(): void {
    this.debuginfod?.close();
    for (const d of this.dwarfOpen) d.close();
    this.dwarfOpen.length = 0;
    for (const f of this.openFiles) {
      try {
        f.detach();
      } catch {
        /* ignore */
      }
    }
    this.openFiles.length = 0;
  }
}

function moduleLabel(m: Mapping): string {
  return m.path === '[vdso]' ? '[vdso]' : basename(m.path);
}

/** `memcpy@@GLIBC_2.14` (versioned names in debug-file symbol tables) → `memcpy`. */
function stripVersion(name: string): string {
  const at = name.indexOf('@');
  return at > 0 ? name.slice(0, at) : name;
}

export function createSymbolizer(opts: SymbolizerOptions = {}): SymbolizerImpl {
  return new SymbolizerImpl(opts);
}
