/**
 * Output formatting of the CLI, following bcc's layouts:
 * - folded lines (`-f`) through fold.ts;
 * - the default multi-line stacks of profile / offcputime / wakeuptime / offwaketime;
 * - biolatency's log2 histogram ("usecs : count distribution" with stars) and its `-j` object.
 *
 * Strings from traced processes (comm, symbols) are printed as plain text; control characters are
 * replaced so a hostile comm cannot drive the terminal or break the line layout.
 */
import type { StackRecord, SymbolizedFrame } from '@bpfscope/bpf';
import { foldRecord, foldedLine } from '../fold.js';
import type { StackToolName } from './specs.js';

/** Replace C0/C1 control characters (ESC, CR, LF, …) with `?` so output stays one line of text. */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export interface StackFormatOptions {
  delimited?: boolean;
  /** profile -a: `_[k]` after kernel frame names, `_[p]` after Python functions, `_[i]` after inlined functions, in folded output. */
  annotations?: boolean;
  userStacksOnly?: boolean;
  kernelStacksOnly?: boolean;
  /** show `+0xoff` after symbol names in multi-line output (profile always does, offcputime with -s). */
  offsets?: boolean;
  /** show ` [module]` after symbol names in multi-line output (profile does). */
  modules?: boolean;
}

/** One folded line: `comm;root;...;leaf value`. */
export function formatFolded(tool: StackToolName, rec: StackRecord, opts: StackFormatOptions = {}): string {
  const frames = foldRecord(tool, rec, { delimited: opts.delimited }).map((f) => ({
    kind: f.kind,
    name: safeText(opts.annotations ? annotate(f.name, f.kind) : f.name),
  }));
  return foldedLine(frames, rec.value);
}

/** profile -a: flamegraph.pl's suffixes, `_[k]` kernel, `_[p]` Python, `_[i]` inlined (inferKind reads them back) */
function annotate(name: string, kind: string): string {
  if (kind === 'kernel') return `${name}_[k]`;
  if (kind === 'python') return `${name}_[p]`;
  if (kind === 'inline') return `${name}_[i]`;
  return name;
}

/** bcc's `sym(addr, pid, show_module, show_offset)`: `name+0xoff [module]`. */
export function frameText(f: SymbolizedFrame, opts: { offsets?: boolean; modules?: boolean } = {}): string {
  const named = f.name !== '[unknown]' && !/\+0x[0-9a-f]+$/i.test(f.name);
  let s = f.name;
  // perf script marks inlined functions the same way
  if (f.kind === 'inline') s += ' (inlined)';
  if (opts.offsets && named && f.offset !== undefined) s += `+0x${f.offset.toString(16)}`;
  if (opts.modules) {
    const mod = f.module ?? (f.kind === 'kernel' ? 'kernel' : undefined);
    if (mod !== undefined) s += ` [${mod.slice(mod.lastIndexOf('/') + 1)}]`;
  }
  return safeText(s);
}

const MISSED_USER = '[Missed User Stack]';
const MISSED_KERNEL = '[Missed Kernel Stack]';

interface Side {
  user: SymbolizedFrame[];
  kernel: SymbolizedFrame[];
  userMissing?: boolean;
  kernelMissing?: boolean;
}

function bothFound(s: Side): boolean {
  return s.user.length > 0 && s.kernel.length > 0 && !s.userMissing && !s.kernelMissing;
}

/** Leaf-first lines of one side's kernel stack (or the missing marker), as bcc prints them. */
function kernelLines(s: Side, o: StackFormatOptions): string[] {
  if (o.userStacksOnly) return [];
  if (s.kernelMissing) return [`    ${MISSED_KERNEL}`];
  return [...s.kernel].reverse().map((f) => `    ${frameText(f, o)}`);
}

function userLines(s: Side, o: StackFormatOptions): string[] {
  if (o.kernelStacksOnly) return [];
  if (s.userMissing) return [`    ${MISSED_USER}`];
  return [...s.user].reverse().map((f) => `    ${frameText(f, o)}`);
}

function pad16(s: string): string {
  return s.padEnd(16);
}

/**
 * The default (non-folded) output of one record, lines without trailing newline, ending with the
 * value line and an empty line like bcc's `print("        %d\n" % value)`.
 */
export function formatMultiline(tool: StackToolName, rec: StackRecord, o: StackFormatOptions = {}): string[] {
  const out: string[] = [];
  const comm = safeText(rec.comm);
  switch (tool) {
    case 'profile':
    case 'offcputime': {
      // kernel leaf→root, then (-d) "--", then user leaf→root, then "- comm (pid)"
      out.push(...kernelLines(rec, o));
      if (o.delimited && bothFound(rec) && !o.userStacksOnly && !o.kernelStacksOnly) out.push('    --');
      out.push(...userLines(rec, o));
      // bcc: profile prints the process id (tgid), offcputime the thread id
      out.push(`    ${pad16('-')} ${comm} (${tool === 'profile' ? rec.pid : rec.tid})`);
      break;
    }
    case 'wakeuptime': {
      const w = rec.waker;
      out.push(`    ${pad16('target:')} ${comm}`);
      if (w) {
        out.push(...kernelLines(w, { ...o, offsets: true }));
        if (w.user.length > 0 || w.userMissing) out.push(...userLines(w, { ...o, offsets: true }));
        out.push(`    ${pad16('waker:')} ${safeText(w.comm)}`);
      }
      break;
    }
    case 'offwaketime': {
      // waker root→leaf (user, then kernel), "--", target leaf→root (kernel, then user)
      const w = rec.waker;
      if (w) {
        out.push(`    ${pad16('waker:')} ${safeText(w.comm)} ${w.pid}`);
        out.push(...userLines(w, o).reverse());
        if (o.delimited && bothFound(w) && !o.userStacksOnly && !o.kernelStacksOnly) out.push('    -');
        out.push(...kernelLines(w, o).reverse());
      }
      out.push(`    ${pad16('--')} --`);
      out.push(...kernelLines(rec, o));
      if (o.delimited && bothFound(rec) && !o.userStacksOnly && !o.kernelStacksOnly) out.push('    -');
      out.push(...userLines(rec, o));
      out.push(`    ${pad16('target:')} ${comm} ${rec.pid}`);
      break;
    }
  }
  out.push(`        ${rec.value}`, '');
  return out;
}

// ---- headers (bcc's first line) ----

export interface HeaderInfo {
  tool: StackToolName;
  frequency?: number;
  pid?: number[];
  tid?: number[];
  userThreadsOnly?: boolean;
  kernelThreadsOnly?: boolean;
  userStacksOnly?: boolean;
  kernelStacksOnly?: boolean;
  /** seconds, undefined = until Ctrl-C */
  duration?: number;
}

function stackContext(h: HeaderInfo): string {
  return h.userStacksOnly ? 'user' : h.kernelStacksOnly ? 'kernel' : 'user + kernel';
}

function durationTail(h: HeaderInfo): string {
  return h.duration !== undefined ? ` for ${h.duration} secs.` : '... Hit Ctrl-C to end.';
}

export function formatHeader(h: HeaderInfo): string {
  switch (h.tool) {
    case 'funccount':
    case 'stackcount':
      // printed by cli/anyfunc.ts, which knows what the pattern matched
      return `Tracing stack counts${durationTail(h)}`;
    case 'profile': {
      const who = h.pid ? `PID [${h.pid.join(', ')}]` : h.tid ? `TID [${h.tid.join(', ')}]` : 'all threads';
      return `Sampling at ${h.frequency ?? 49} Hertz of ${who} by ${stackContext(h)} stack${durationTail(h)}`;
    }
    case 'offcputime': {
      const who = h.pid
        ? `PIDs ${h.pid.join(',')}`
        : h.tid
          ? `TIDs ${h.tid.join(',')}`
          : h.userThreadsOnly
            ? 'user threads'
            : h.kernelThreadsOnly
              ? 'kernel threads'
              : 'all threads';
      return `Tracing off-CPU time (us) of ${who} by ${stackContext(h)} stack${durationTail(h)}`;
    }
    case 'wakeuptime':
      return `Tracing blocked time (us) by kernel stack${durationTail(h)}`;
    case 'offwaketime':
      return `Tracing blocked time (us) by ${stackContext(h)} off-CPU and waker stack${durationTail(h)}`;
  }
}

// ---- biolatency histograms ----

const STARS_MAX = 40;

/** bcc's _stars(): `width * val / max` stars, a `+` when the value exceeds the max. */
export function stars(val: number, max: number, width: number): string {
  if (max <= 0) return '';
  let n = 0;
  while (!(n > (width * val) / max - 1) && !(n > width - 1)) n++;
  let text = '*'.repeat(n);
  if (val > max) text = text.slice(0, -1) + '+';
  return text;
}

/**
 * Slot bounds in bcc's printed form. Our slot i (libbpf-tools layout) covers [2^i, 2^(i+1)-1] and
 * slot 0 covers [0, 1]; bcc's index is ours + 1, and prints `low -> high` with low = 2^i (0 for i = 0).
 */
export function slotBounds(i: number): [number, number] {
  const high = 2 ** (i + 1) - 1;
  const low = i === 0 ? 0 : 2 ** i;
  return [low, high];
}

/** bcc's print_log2_hist(), our slots → lines (no trailing newline). Empty when all slots are 0. */
export function formatLog2Hist(slots: readonly number[], valType: string): string[] {
  let idxMax = -1;
  let valMax = 0;
  slots.forEach((v, i) => {
    if (v > 0) idxMax = i;
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return [];
  // bcc's idx_max is ours + 1; its wide layout kicks in above 32
  const wide = idxMax + 1 > 32;
  const out: string[] = [];
  if (!wide) out.push(`     ${valType.padEnd(19)} : count     distribution`);
  else out.push(`               ${valType.padEnd(29)} : count     distribution`);
  const w = wide ? 20 : 10;
  const width = wide ? STARS_MAX / 2 : STARS_MAX;
  for (let i = 0; i <= idxMax; i++) {
    const [low, high] = slotBounds(i);
    const v = slots[i] ?? 0;
    out.push(`${String(low).padStart(w)} -> ${String(high).padEnd(w)} : ${String(v).padEnd(8)} |${stars(v, valMax, width).padEnd(width)}|`);
  }
  return out;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, like Python's strftime("%Y-%m-%d %H:%M:%S"). */
export function strftimeDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `HH:MM:SS` local time (biolatency -T). */
export function strftimeTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface JsonHist {
  ts: string;
  val_type: string;
  data: Array<{ 'interval-start': number; 'interval-end': number; count: number }>;
  disk?: string;
  flags?: string;
}

/** bcc's _get_json_hist(): data from the first slot to the last non-zero one. */
export function jsonHist(slots: readonly number[], valType: string, ts: string, section?: { header: 'disk' | 'flags'; value: string }): JsonHist {
  let last = -1;
  slots.forEach((v, i) => {
    if (v !== 0) last = i;
  });
  const data: JsonHist['data'] = [];
  for (let i = 0; i <= last; i++) {
    const [low, high] = slotBounds(i);
    data.push({ 'interval-start': low, 'interval-end': high, count: slots[i] ?? 0 });
  }
  const h: JsonHist = { ts, val_type: valType, data };
  if (section) h[section.header] = section.value;
  return h;
}

/** JSON text with Python's separators (`", "` and `": "`), as one line. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v);
}
