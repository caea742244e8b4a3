/**
 * Probe patterns of funccount / stackcount / funclatency, as bcc spells them:
 *   func, p::func          kernel function (wildcards * and ?, or a regex with regex: true)
 *   lib:func, p:lib:func   user function of a library (`c` → libc.so.6) or binary (/path/to/bin)
 *   t:category:event       tracepoint (raw tracepoint of the same name)
 * resolved to concrete probes with the names the kernel and the ELF files know: /proc/kallsyms
 * (text symbols), the ELF symbol tables (via the symbolizer's ELF reader), and the kernel BTF for
 * tracepoints (their categories from tracefs when it is mounted).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ElfFile, readElfSymbols } from '../symbolize/elf.js';
import { kernelBtfNames } from '../btf.js';
import { bad } from './common.js';

export type ProbeKind = 'kernel' | 'user' | 'tracepoint';

export interface Probe {
  /** what the user sees: `vfs_read`, `c:malloc`, `t:sched:sched_switch` */
  name: string;
  /** kernel function name, raw tracepoint name, or user symbol name */
  target: string;
  /** user probes: file offset of the function in `path` */
  offset?: number;
}

export interface ProbeSet {
  kind: ProbeKind;
  pattern: string;
  probes: Probe[];
  /** user probes: the binary or library */
  path?: string;
}

export interface ResolveOptions {
  regex?: boolean;
  /** refuse patterns matching more probes than this (default 1000) */
  limit?: number;
  /** user probes: look for the library in this process's mappings first */
  pid?: number;
  /** funclatency: tracepoints have no return */
  noTracepoints?: boolean;
}

export const DEFAULT_PROBE_LIMIT = 1000;

interface Parsed {
  kind: ProbeKind;
  lib?: string;
  category?: string;
  name: string;
}

/** bcc's _parse_probe: split `type:lib:name` into its parts. */
export function parsePattern(pattern: string): Parsed {
  if (typeof pattern !== 'string' || pattern.trim() === '')
    throw bad('empty probe pattern: give a function name like vfs_read, c:malloc, /path/to/binary:func or t:sched:sched_switch');
  if (/[\u0000-\u001f]/.test(pattern)) throw bad(`probe pattern ${JSON.stringify(pattern)} contains control characters`);
  let parts = pattern.split(':');
  // a path with colons is not supported; everything after the last colon is the function
  if (parts.length > 3) throw bad(`probe pattern ${JSON.stringify(pattern)} has too many ':' (expected func, lib:func, p:lib:func or t:category:event)`);
  if (parts.length === 3) {
    const [type, a, b] = parts;
    if (type === 't') {
      if (!a || !b) throw bad(`tracepoint pattern ${JSON.stringify(pattern)}: expected t:category:event, like t:sched:sched_switch`);
      return { kind: 'tracepoint', category: a, name: b };
    }
    if (type === 'u') throw bad(`USDT probes (${JSON.stringify(pattern)}) are not supported by bpfscope yet; probe a function instead (lib:func)`);
    if (type !== 'p') throw bad(`probe pattern ${JSON.stringify(pattern)}: unknown probe type ${JSON.stringify(type)} (p: function, t: tracepoint)`);
    parts = [a, b];
  }
  if (parts.length === 2) {
    const [lib, name] = parts;
    if (!name) throw bad(`probe pattern ${JSON.stringify(pattern)}: no function name after ':'`);
    if (!lib) return { kind: 'kernel', name };
    return { kind: 'user', lib, name };
  }
  return { kind: 'kernel', name: parts[0] };
}

/** A glob (* and ?) or, with regex, a regular expression anchored at the start (like bcc's re.match). */
export function nameMatcher(name: string, regex: boolean): RegExp {
  if (regex) {
    try {
      return new RegExp(`^(?:${name})`);
    } catch (e) {
      throw bad(`invalid regular expression ${JSON.stringify(name)} (-r): ${(e as Error).message}`);
    }
  }
  const src = name
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${src}$`);
}

const hasWildcard = (name: string, regex: boolean) => regex || /[*?]/.test(name);

// ---- kernel functions ----

let kfuncCache: { at: number; names: string[] } | undefined;

/** Probeable-looking kernel text symbols from /proc/kallsyms, unique names, sorted (cached 60 s). */
export function kernelFunctions(): string[] {
  if (kfuncCache && Date.now() - kfuncCache.at < 60_000) return kfuncCache.names;
  let text: string;
  try {
    text = readFileSync('/proc/kallsyms', 'latin1');
  } catch (e) {
    throw bad(`cannot read /proc/kallsyms to find kernel functions: ${(e as Error).message}`);
  }
  const names = new Set<string>();
  let pos = 0;
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    // "ffffffff816b89f0 T vfs_read" or "... t name\t[module]"
    const t = text.charCodeAt(pos + 17);
    if (t === 0x74 || t === 0x54) {
      // the tab before a module name is searched within the line only (most lines have none)
      const line = text.slice(pos + 19, eol);
      const tab = line.indexOf('\t');
      const name = tab < 0 ? line : line.slice(0, tab);
      const mod = tab < 0 ? '' : line.slice(tab + 1);
      if (
        !name.includes('.') &&
        !name.startsWith('__pfx_') &&
        !name.startsWith('__cfi_') &&
        !name.startsWith('__SCT__') &&
        mod !== '[bpf]' &&
        !mod.startsWith('[__builtin')
      ) {
        names.add(name);
      }
    }
    pos = eol + 1;
  }
  if (names.size === 0) throw bad('/proc/kallsyms lists no functions: kernel addresses are hidden; run as root or set kernel.kptr_restrict=0');
  const sorted = [...names].sort();
  kfuncCache = { at: Date.now(), names: sorted };
  return sorted;
}

// ---- tracepoints ----

function tracefsEvents(): string | undefined {
  for (const d of ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events']) {
    if (existsSync(d)) return d;
  }
  return undefined;
}

/** `category:event` of every tracepoint BPF can attach to. Without a mounted tracefs the category
 * is unknown and given as `*` (the event name alone is matched). */
let tpCache: { at: number; names: string[] } | undefined;

export function tracepoints(): string[] {
  if (tpCache && Date.now() - tpCache.at < 60_000) return tpCache.names;
  const names = kernelBtfNames().tracepoints;
  const dir = tracefsEvents();
  if (!dir) {
    tpCache = { at: Date.now(), names: names.map((n) => `*:${n}`) };
    return tpCache.names;
  }
  const known = new Set(names);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const cat of readdirSync(dir)) {
    let events: string[];
    try {
      events = readdirSync(path.join(dir, cat)).filter((e) => statSync(path.join(dir, cat, e)).isDirectory());
    } catch {
      continue;
    }
    for (const e of events) {
      if (known.has(e)) {
        out.push(`${cat}:${e}`);
        seen.add(e);
      }
    }
  }
  // raw tracepoints without a trace event (e.g. sched_update_nr_running_tp)
  for (const n of names) if (!seen.has(n)) out.push(`*:${n}`);
  tpCache = { at: Date.now(), names: out.sort() };
  return tpCache.names;
}

// ---- user functions ----

/** `c` → /lib/x86_64-linux-gnu/libc.so.6, `bash` → /usr/bin/bash, `/path/bin` → itself. */
export function findLibrary(lib: string, pid?: number): string {
  if (lib.includes('/')) {
    if (!existsSync(lib)) throw bad(`binary or library ${JSON.stringify(lib)} does not exist`);
    if (!statSync(lib).isFile()) throw bad(`${JSON.stringify(lib)} is not a file (give an ELF binary or shared library)`);
    return lib;
  }
  const soName = (base: string) => base === `lib${lib}.so` || base.startsWith(`lib${lib}.so.`) || base.startsWith(`lib${lib}-`) || base === lib;
  if (pid !== undefined) {
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const i = line.indexOf('/');
        if (i < 0) continue;
        const p = line.slice(i).replace(/ \(deleted\)$/, '');
        if (soName(path.basename(p))) return `/proc/${pid}/root${p}`;
      }
    } catch {
      /* the process is gone: try the system */
    }
  }
  try {
    const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    for (const line of out.split('\n')) {
      const m = /^\s*(\S+) \((.*)\) => (\S+)$/.exec(line);
      if (m && soName(m[1]) && m[2].includes('x86-64')) return m[3];
    }
  } catch {
    /* no ldconfig */
  }
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', lib);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  throw bad(
    `no library or binary named ${JSON.stringify(lib)} (looked for lib${lib}.so in ${pid !== undefined ? `/proc/${pid}/maps, ` : ''}ldconfig -p and for ${lib} in PATH); give its path, like /usr/lib/x86_64-linux-gnu/lib${lib}.so:func`,
  );
}

interface UserFunc {
  name: string;
  offset: number;
}

/** Function symbols of an ELF file with their file offsets, one per address (the first name wins). */
export function userFunctions(file: string): UserFunc[] {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(file);
  } catch (e) {
    throw bad(`cannot read ${file} as an ELF file: ${(e as Error).message}`);
  }
  try {
    const syms = readElfSymbols(file);
    const byAddr = new Map<number, UserFunc>();
    for (const s of syms) {
      if (s.type === 'ifunc' || s.addr === 0) continue;
      const seg = elf.segments.find((g) => s.addr >= g.vaddr && s.addr < g.vaddr + g.filesz);
      if (!seg) continue;
      const offset = s.addr - seg.vaddr + seg.offset;
      const have = byAddr.get(s.addr);
      if (!have || (have.name.startsWith('_') && !s.name.startsWith('_'))) byAddr.set(s.addr, { name: s.name, offset });
    }
    return [...byAddr.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    elf.close();
  }
}

// ---- close matches for "nothing matched" ----

function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (cur[j] < best) best = cur[j];
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** Up to `n` names close to `pattern`: containing its longest literal part, else within a few edits. */
export function closeMatches(pattern: string, names: readonly string[], n = 5): string[] {
  const lit = pattern
    .split(/[*?]|[\\^$.|()[\]{}+]/)
    .sort((a, b) => b.length - a.length)[0]
    ?.toLowerCase();
  if (!lit) return [];
  const out: string[] = [];
  if (lit.length >= 3) {
    for (const x of names) {
      if (x.toLowerCase().includes(lit)) {
        out.push(x);
        if (out.length >= n) return out;
      }
    }
  }
  const max = Math.max(1, Math.min(3, Math.floor(lit.length / 3)));
  const scored: Array<[number, string]> = [];
  for (const x of names) {
    if (out.includes(x)) continue;
    const d = editDistance(lit, x.toLowerCase(), max);
    if (d <= max) scored.push([d, x]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  for (const [, x] of scored) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

function noMatch(what: string, pattern: string, names: readonly string[]): never {
  const close = closeMatches(pattern, names);
  throw bad(`no ${what} matches ${JSON.stringify(pattern)}${close.length ? `; close matches: ${close.join(', ')}` : ''}`);
}

function tooMany(what: string, pattern: string, n: number, limit: number): never {
  throw bad(`${JSON.stringify(pattern)} matches ${n} ${what}s, more than the limit of ${limit}; narrow the pattern (or raise the limit)`);
}

/** Resolve a bcc probe pattern to the probes to attach. */
export function resolveProbes(pattern: string, opts: ResolveOptions = {}): ProbeSet {
  const limit = opts.limit ?? DEFAULT_PROBE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw bad(`invalid probe limit ${limit}: expected a positive integer`);
  const regex = !!opts.regex;
  const p = parsePattern(pattern);
  if (p.kind === 'kernel') {
    const re = nameMatcher(p.name, regex);
    const all = kernelFunctions();
    const names = hasWildcard(p.name, regex) ? all.filter((n) => re.test(n)) : all.includes(p.name) ? [p.name] : [];
    if (names.length === 0) noMatch('kernel function', p.name, all);
    if (names.length > limit) tooMany('kernel function', pattern, names.length, limit);
    return { kind: 'kernel', pattern, probes: names.map((n) => ({ name: n, target: n })) };
  }
  if (p.kind === 'tracepoint') {
    if (opts.noTracepoints) throw bad(`tracepoints (${JSON.stringify(pattern)}) have no return to time; give a function (func or lib:func)`);
    const catRe = nameMatcher(p.category!, regex);
    const nameRe = nameMatcher(p.name, regex);
    const all = tracepoints();
    const hits = all.filter((t) => {
      const i = t.indexOf(':');
      const cat = t.slice(0, i);
      return (cat === '*' || catRe.test(cat)) && nameRe.test(t.slice(i + 1));
    });
    if (hits.length === 0) noMatch('tracepoint', p.name, [...new Set(all.map((t) => t.slice(t.indexOf(':') + 1)))]);
    if (hits.length > limit) tooMany('tracepoint', pattern, hits.length, limit);
    return {
      kind: 'tracepoint',
      pattern,
      probes: hits.map((t) => {
        const ev = t.slice(t.indexOf(':') + 1);
        return { name: t.startsWith('*:') ? `t:${p.category}:${ev}` : `t:${t}`, target: ev };
      }),
    };
  }
  const file = findLibrary(p.lib!, opts.pid);
  const re = nameMatcher(p.name, regex);
  const funcs = userFunctions(file);
  const hits = funcs.filter((f) => re.test(f.name));
  if (hits.length === 0) {
    const names = funcs.map((f) => f.name);
    const close = closeMatches(p.name, names);
    throw bad(
      `no function of ${file} matches ${JSON.stringify(p.name)}${funcs.length === 0 ? ' (the file has no function symbols: stripped?)' : ''}${close.length ? `; close matches: ${close.join(', ')}` : ''}`,
    );
  }
  if (hits.length > limit) tooMany(`function of ${file}`, pattern, hits.length, limit);
  return { kind: 'user', pattern, path: file, probes: hits.map((f) => ({ name: `${p.lib}:${f.name}`, target: f.name, offset: f.offset })) };
}

// ---- search as you type (the console's probe picker) ----

export interface ProbeSearch {
  /** patterns to offer, as the user would type them (`vfs_read`, `t:sched:sched_switch`, `c:malloc`) */
  matches: string[];
  /** how many names matched in all (matches holds the first `limit`) */
  total: number;
  /** what was searched: kernel functions and tracepoints, or the functions of one binary */
  scope: 'kernel' | 'tracepoint' | 'user';
}

/**
 * Names containing `query` (case-insensitive), names starting with it first: kernel functions for a
 * bare word, tracepoints for `t:…`, the functions of a library or binary for `lib:…` / `/path:…`
 * (the library looked up in `pid`'s mappings first). Kernel names are cached, so after the first call
 * a search over all of kallsyms takes milliseconds.
 */
export function searchProbes(query: string, opts: { pid?: number; limit?: number } = {}): ProbeSearch {
  const limit = Math.max(1, Math.min(opts.limit ?? 50, 500));
  if (typeof query !== 'string' || query.length > 512) throw bad('query: expected a string of at most 512 characters');
  const rank = (names: readonly string[], q: string, show: (n: string) => string): ProbeSearch['matches'] & { total?: number } => {
    const needle = q.toLowerCase();
    const starts: string[] = [];
    const contains: string[] = [];
    for (const n of names) {
      const l = n.toLowerCase();
      if (l.startsWith(needle)) starts.push(n);
      else if (needle && l.includes(needle)) contains.push(n);
    }
    const all = [...starts, ...contains];
    const out = all.slice(0, limit).map(show) as string[] & { total?: number };
    out.total = all.length;
    return out;
  };
  const i = query.lastIndexOf(':');
  if (query.startsWith('t:')) {
    // `category:event` (`*:event` when tracefs is not mounted: a pattern that matches any category)
    const r = rank(tracepoints(), query.slice(2), (n) => `t:${n}`);
    return { scope: 'tracepoint', matches: [...r], total: r.total ?? 0 };
  }
  if (i > 0 && !query.startsWith('p::')) {
    const lib = query.startsWith('p:') ? query.slice(2, i) : query.slice(0, i);
    const file = findLibrary(lib, opts.pid);
    const r = rank(
      userFunctions(file).map((f) => f.name),
      query.slice(i + 1),
      (n) => `${lib}:${n}`,
    );
    return { scope: 'user', matches: [...r], total: r.total ?? 0 };
  }
  const q = query.startsWith('p::') ? query.slice(3) : query;
  const r = rank(kernelFunctions(), q, (n) => n);
  return { scope: 'kernel', matches: [...r], total: r.total ?? 0 };
}
