/**
 * The one "find the separate debug file" of bpfscope (symbolizer and unwind tables both use it), in
 * gdb's order: `<debugdir>/.build-id/xx/rest.debug`, then the `.gnu_debuglink` name in
 * `<debugdir><dir of the object>/`, `<dir>/.debug/` and `<dir>/`. A candidate must carry the same
 * build-id as the object when both have one, and satisfy the caller's `accept` (e.g. "has a
 * .debug_frame", "has a .symtab").
 */
import { basename, dirname } from 'node:path';
import { ElfFile } from './elf.js';

export interface DebugFileOptions {
  /** prefix for every file access of the object's view (containers: /proc/PID/root); default '' */
  root?: string;
  /** directories searched, as the object's process sees them (default ['/usr/lib/debug']) */
  debugDirs?: string[];
  /** more candidate paths tried after the standard ones (e.g. the debuginfod cache), not prefixed by root */
  extra?: string[];
}

/** Candidate paths, most specific first (not checked for existence). */
export function debugFileCandidates(elf: Pick<ElfFile, 'buildId' | 'debugLink'>, path: string, opts: DebugFileOptions = {}): string[] {
  const root = opts.root ?? '';
  const dirs = opts.debugDirs ?? ['/usr/lib/debug'];
  const tries: string[] = [];
  const id = elf.buildId;
  if (id && id.length > 2) for (const d of dirs) tries.push(`${root}${d}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
  if (elf.debugLink && !elf.debugLink.file.includes('/') && path.startsWith('/')) {
    const file = elf.debugLink.file;
    const dir = dirname(path);
    for (const d of dirs) tries.push(`${root}${d}${dir}/${file}`);
    tries.push(`${root}${dir}/.debug/${file}`);
    if (file !== basename(path)) tries.push(`${root}${dir}/${file}`);
  }
  if (opts.extra) tries.push(...opts.extra);
  return tries;
}

/**
 * Open the first candidate that is an ELF file of the same build-id and that `accept` takes; the
 * caller closes it. `skip`: a path never taken (the object itself).
 */
export function openDebugFile(
  elf: Pick<ElfFile, 'buildId' | 'debugLink'>,
  path: string,
  opts: DebugFileOptions,
  accept: (dbg: ElfFile) => boolean,
  skip?: string,
): { file: ElfFile; path: string } | undefined {
  for (const t of debugFileCandidates(elf, path, opts)) {
    if (t === skip) continue;
    let dbg: ElfFile;
    try {
      dbg = ElfFile.open(t);
    } catch {
      continue;
    }
    const sameId = !elf.buildId || !dbg.buildId || dbg.buildId === elf.buildId;
    if (sameId && accept(dbg)) return { file: dbg, path: t };
    dbg.close();
  }
  return undefined;
}

/** True when the file carries DWARF debug information (a .debug_info with content). */
export function hasDwarf(f: ElfFile): boolean {
  const s = f.section('.debug_info') ?? f.section('.zdebug_info');
  return !!s && s.type !== 8 && s.size > 0;
}
