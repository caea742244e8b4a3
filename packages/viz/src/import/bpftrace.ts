/**
 * bpftrace map output with stacks, e.g. from
 *   bpftrace -e 'profile:hz:99 { @[kstack, ustack, comm] = count(); }'
 * Entries look like
 *   @[
 *       leaf_kernel_func+12
 *       ...
 *   ,
 *       leaf_user_func+40
 *       0x7f12...
 *   , comm]: 17
 * Frames are leaf first, one per line, with `+offset` (stripped unless keepOffsets). Keys may be
 * `[kstack, ustack, comm]`, `[kstack]`, `[ustack, comm]`, `[comm, kstack]`..., stacks in perf mode
 * (`addr sym+off (module)`) too. The result is folded like bcc's profile: comm; user root..leaf;
 * kernel root..leaf.
 */
import type { FrameKind, Profile, ProfileMeta } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';
import { ImportError, excerpt } from './errors.js';

export interface BpftraceImportOptions {
  /** which map to import when the output has several (default: the only one with stacks). */
  map?: string;
  /**
   * What each stack in a key is, in key order, when it cannot be told from the key's shape (a key
   * with a single stack). Default: guessed from the frames (kernel addresses and entry points).
   */
  stackKinds?: ('kernel' | 'user')[];
  keepOffsets?: boolean;
  meta?: ProfileMeta;
  fileName?: string;
}

interface Part {
  frames: string[];
  scalar: string | null;
  isStack: boolean;
}

interface Entry {
  map: string;
  parts: Part[];
  value: number;
  line: number;
}

const KERNEL_ROOTS =
  /^(entry_SYSCALL_64|ret_from_fork|common_startup_64|secondary_startup_64|start_kernel|kthread|asm_|do_syscall_64|x86_64_start|cpu_startup_entry|irq_|__sysvec_|sysvec_|worker_thread)/;

function guessKernel(frames: string[]): boolean {
  for (const f of frames) {
    if (/^0x[0-9a-f]+$/i.test(f)) return /^0xffff/i.test(f);
  }
  return frames.some((f) => KERNEL_ROOTS.test(f));
}

function stripOffset(name: string): string {
  return name.replace(/\+(?:0x[0-9a-fA-F]+|\d+)$/, '');
}

function parseFrame(raw: string, keepOffsets: boolean): string {
  let s = raw.trim();
  // perf mode: "addr sym+off (module)"
  const pm = /^[0-9a-fA-F]+\s+(.*?)\s+\(([^()]*)\)$/.exec(s);
  if (pm) s = pm[1];
  return keepOffsets ? s : stripOffset(s);
}

function parseEntries(text: string): Entry[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const out: Entry[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '' || /^Attaching \d+ probes?\.\.\.$/.test(line.trim()) || /^(Lost|WARNING|Warning)/.test(line)) {
      i++;
      continue;
    }
    const start = i + 1;
    const m = /^@([A-Za-z_0-9]*)\[(.*)$/.exec(line);
    if (!m) {
      if (/^@[A-Za-z_0-9]*: /.test(line)) {
        i++; // a scalar map (e.g. @samples: 12): not a stack map
        continue;
      }
      throw new ImportError('bpftrace', `expected a map entry starting with "@name[", found ${excerpt(line)}`, { line: start });
    }
    const map = m[1];
    // collect the key's lines until one ends with "]: N"
    const segs: { text: string; indented: boolean }[] = [];
    let rest = m[2];
    let value: number | null = null;
    let j = i;
    for (;;) {
      const close = /^(.*)\]: (-?\d+)\s*$/.exec(rest);
      if (close && (j > i || !rest.includes('\n'))) {
        // a closing line; but a frame line could in theory end like that: only accept on non-indented text
        const indented = j > i && /^\s/.test(rest);
        if (!indented) {
          segs.push({ text: close[1], indented: false });
          value = Number(close[2]);
          break;
        }
      }
      segs.push({ text: rest, indented: j > i && /^\s/.test(rest) });
      j++;
      if (j >= lines.length) throw new ImportError('bpftrace', `map entry starting here never ends (expected a line ending with "]: count")`, { line: start });
      rest = lines[j];
    }
    // tokenize: indented segments are frames; other text splits into parts on commas
    const parts: Part[] = [{ frames: [], scalar: null, isStack: false }];
    segs.forEach((s, k) => {
      if (s.indented) {
        const p = parts[parts.length - 1];
        p.frames.push(s.text);
        p.isStack = true;
        return;
      }
      let t = s.text;
      const isLast = k === segs.length - 1;
      // leading separators
      for (;;) {
        const sm = /^\s*,\s?/.exec(t);
        if (!sm) break;
        parts.push({ frames: [], scalar: null, isStack: false });
        t = t.slice(sm[0].length);
      }
      if (t.trim() === '') return;
      if (isLast) {
        // scalar value(s) up to "]": the last one (comm) may contain commas: split only on ", " before it when not the last
        parts[parts.length - 1].scalar = t;
      } else {
        const pieces = t.split(/,\s?/);
        pieces.forEach((pc, n) => {
          if (n > 0) parts.push({ frames: [], scalar: null, isStack: false });
          if (pc.trim() !== '') parts[parts.length - 1].scalar = pc;
        });
      }
    });
    // a stack part that is empty at the start of the key: "@[, " means the first part is an empty stack
    out.push({ map, parts, value: value!, line: start });
    i = j + 1;
  }
  return out;
}

export function importBpftrace(text: string, opts: BpftraceImportOptions = {}): Profile {
  const entries = parseEntries(text);
  if (entries.length === 0) throw new ImportError('bpftrace', 'no map entries found (expected lines like "@[kstack, ustack, comm]: 12")');
  const maps = [...new Set(entries.map((e) => e.map))];
  let map = opts.map;
  if (map === undefined) {
    const withStacks = maps.filter((m) => entries.some((e) => e.map === m && e.parts.some((p) => p.isStack)));
    if (withStacks.length === 1) map = withStacks[0];
    else if (maps.length === 1) map = maps[0];
    else throw new ImportError('bpftrace', `the output has several maps (${maps.map((m) => '@' + m).join(', ')}); choose one with the "map" option`);
  } else if (!maps.includes(map)) {
    throw new ImportError('bpftrace', `map @${map} not found; the output has ${maps.map((m) => '@' + m).join(', ')}`);
  }
  const keep = opts.keepOffsets ?? false;
  const b = new ProfileBuilder('samples', {
    tool: 'import',
    ...opts.meta,
    source: { format: 'bpftrace', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
  });
  let n = 0;
  for (const e of entries) {
    if (e.map !== map) continue;
    if (!(e.value >= 0)) throw new ImportError('bpftrace', `expected a count >= 0, found ${e.value}`, { line: e.line });
    // Key parts: "stack" parts are those containing frames or empty parts in stack position.
    // Layout: the trailing scalar part (if any) is the comm; the other parts are stacks.
    const parts = e.parts;
    let comm: string | null = null;
    let stackParts: Part[] = parts;
    const last = parts[parts.length - 1];
    if (last && !last.isStack && last.scalar !== null) {
      comm = last.scalar;
      stackParts = parts.slice(0, -1);
    }
    // scalar values in other positions (e.g. pid) become root frames before the comm
    const roots: { name: string; kind: FrameKind }[] = [];
    const stacks: Part[] = [];
    for (const p of stackParts) {
      if (p.isStack || p.scalar === null) stacks.push(p);
      else roots.push({ name: p.scalar.trim(), kind: 'comm' });
    }
    let kinds: ('kernel' | 'user')[];
    if (stacks.length === 2) kinds = opts.stackKinds ?? ['kernel', 'user'];
    else if (stacks.length === 1) kinds = opts.stackKinds ?? [guessKernel(stacks[0].frames.map((f) => parseFrame(f, true))) ? 'kernel' : 'user'];
    else if (stacks.length === 0) kinds = [];
    else kinds = opts.stackKinds ?? stacks.map((_, k) => (k === 0 ? 'kernel' : 'user'));
    if (kinds.length < stacks.length)
      throw new ImportError('bpftrace', `the key has ${stacks.length} stacks but stackKinds names ${kinds.length}`, { line: e.line });
    const user: { name: string; kind: FrameKind }[] = [];
    const kernel: { name: string; kind: FrameKind }[] = [];
    stacks.forEach((p, k) => {
      const into = kinds[k] === 'kernel' ? kernel : user;
      for (let f = p.frames.length - 1; f >= 0; f--) {
        const name = parseFrame(p.frames[f], keep);
        if (name === '') continue;
        let kind: FrameKind = kinds[k];
        if (kind === 'user') {
          if (/^0x[0-9a-f]+$/i.test(name) || name === '[unknown]') kind = 'unknown';
          else if (name.startsWith('JS:') || name.startsWith('LazyCompile:')) kind = 'jit';
        }
        into.push({ name, kind });
      }
    });
    const frames = [...roots, ...(comm !== null ? [{ name: comm, kind: 'comm' as FrameKind }] : []), ...user, ...kernel];
    b.addStack(frames, e.value);
    n++;
  }
  if (n === 0) throw new ImportError('bpftrace', `map @${map} has no entries`);
  return b.build();
}

/** Number of map entries in bpftrace output (for diagnostics and tests). */
export function countBpftraceEntries(text: string): number {
  return parseEntries(text).length;
}
