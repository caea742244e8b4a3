/**
 * `perf script` text (from `perf record -g`), collapsed the way stackcollapse-perf.pl does: one
 * sample = header line `comm pid[/tid] [cpu] time: [period] event:` + frames leaf first
 * (`addr symbol+off (dso)`) + blank line. The comm becomes the root frame; kernel frames
 * (`[kernel.kallsyms]`, kernel modules) get kind kernel, perf-PID.map frames kind jit, frames with no
 * symbol become `[dso]` (or `[unknown]`) of kind unknown. Offsets are stripped. Timestamps fill the
 * profile's timeline (1 ms buckets, startTime = ms since boot of the first sample, floored to the second).
 */
import type { FrameKind, Profile, ProfileMeta } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';
import { ImportError, excerpt } from './errors.js';

export interface PerfScriptImportOptions {
  /** weight per sample: 1 (default) or the sample's period (e.g. ns for cpu-clock). */
  weight?: 'samples' | 'period';
  /** put `comm-pid` instead of comm at the root (stackcollapse-perf --pid). */
  includePid?: boolean;
  /** keep `+0x1d` offsets on symbols (default false: stripped). */
  keepOffsets?: boolean;
  /** record the timeline (default true when samples have timestamps). */
  timeline?: boolean;
  timelineResolutionMs?: number;
  meta?: ProfileMeta;
  fileName?: string;
}

const HEADER_RE = /^(\S.*?)\s+(\d+)(?:\/(\d+))?\s+(?:\[(\d+)\]\s+)?(?:(\d+\.\d+):\s*)?(.*)$/;
const FRAME_RE = /^\s+([0-9a-fA-F]+)\s+(.*)$/;
const DSO_RE = /^(.*?)\s+\(([^()]*)\)$/;
const OFFSET_RE = /\+0x[0-9a-fA-F]+$/;

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

function frameKindFor(addr: string, dso: string): FrameKind {
  if (
    dso === '[kernel.kallsyms]' ||
    dso.startsWith('[kernel.') ||
    dso === '[bpf_prog]' ||
    (/^\[[\w.-]+\]$/.test(dso) && !['[unknown]', '[vdso]', '[vsyscall]', '[heap]', '[stack]', '[anon]', '[uprobes]'].includes(dso))
  )
    return 'kernel';
  if (/(^|\/)perf-\d+\.map$/.test(dso) || /jitted-\d+-\d+\.so$/.test(dso)) return 'jit';
  if (addr.length === 16 && /^ffff/i.test(addr) && dso === '[unknown]') return 'kernel';
  return 'user';
}

export function importPerfScript(text: string, opts: PerfScriptImportOptions = {}): Profile {
  const usePeriod = opts.weight === 'period';
  const b = new ProfileBuilder('samples', {
    tool: 'import',
    ...opts.meta,
    source: { format: 'perf-script', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
  });
  const wantTimeline = opts.timeline ?? true;
  if (wantTimeline) b.enableTimeline({ resolutionMs: opts.timelineResolutionMs ?? 1 });
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  const dsoKinds = new Map<string, FrameKind>();
  /** one frame from `addr` and `symbol+off (dso)` */
  const parseFrame = (addr: string, symText: string): { name: string; kind: FrameKind } => {
    let sym = symText;
    let dso = '[unknown]';
    const d = DSO_RE.exec(sym);
    if (d) {
      sym = d[1];
      dso = d[2];
    } else if (/^\([^()]*\)$/.test(sym)) {
      dso = sym.slice(1, -1);
      sym = '[unknown]';
    }
    let kind: FrameKind;
    if (dso === '[unknown]') kind = frameKindFor(addr, dso);
    else {
      const k = dsoKinds.get(dso);
      if (k === undefined) dsoKinds.set(dso, (kind = frameKindFor(addr, dso)));
      else kind = k;
    }
    if (!opts.keepOffsets) sym = sym.replace(OFFSET_RE, '');
    if (sym === '[unknown]' || sym === '') {
      if (dso !== '[unknown]' && dso !== '') sym = `[${basename(dso)}]`;
      else sym = '[unknown]';
      if (kind !== 'kernel') kind = 'unknown';
    }
    return { name: sym, kind };
  };
  let comm: string | null = null;
  let headerLine = 0;
  let weight = 1;
  let timeMs: number | undefined;
  let frames: { name: string; kind: FrameKind }[] = [];
  let samples = 0;
  let eventName = '';
  let unitSet = false;
  let unit: 'samples' | 'nanoseconds' | 'count' = 'samples';
  const flush = () => {
    if (comm === null) return;
    frames.reverse();
    frames.unshift({ name: comm, kind: 'comm' });
    b.addStack(frames, weight, wantTimeline ? timeMs : undefined);
    samples++;
    comm = null;
    frames = [];
  };
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    lineNo++;
    let line = text.slice(pos, end);
    pos = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    const c0 = line.charCodeAt(0);
    if (c0 === 32 || c0 === 9) {
      // frame line
      if (comm === null)
        throw new ImportError('perf-script', `expected a sample header ("comm pid [cpu] time: period event:") before this frame line, found ${excerpt(line)}`, {
          line: lineNo,
        });
      const m = FRAME_RE.exec(line);
      if (!m) throw new ImportError('perf-script', `expected a frame line "addr symbol+off (dso)", found ${excerpt(line)}`, { line: lineNo });
      frames.push(parseFrame(m[1], m[2]));
      continue;
    }
    // header line
    flush();
    const h = HEADER_RE.exec(line);
    if (!h) throw new ImportError('perf-script', `expected a sample header "comm pid [cpu] time: period event:", found ${excerpt(line)}`, { line: lineNo });
    comm = opts.includePid ? `${h[1]}-${h[2]}` : h[1];
    headerLine = lineNo;
    timeMs = h[5] !== undefined ? Number(h[5]) * 1000 : undefined;
    const rest = h[6].trim();
    const pm = /^(\d+)\s+(\S+)/.exec(rest);
    const period = pm ? Number(pm[1]) : undefined;
    const ev = (pm ? pm[2] : (rest.split(/\s+/)[0] ?? '')).replace(/:+$/, '');
    // without -g, perf script prints the sample's own ip/sym after the event on the header line
    const inline = /^(?:\d+\s+)?\S+\s+([0-9a-fA-F]+)\s+(.+)$/.exec(rest);
    if (inline) frames.push(parseFrame(inline[1], inline[2]));
    if (usePeriod) {
      if (period === undefined)
        throw new ImportError(
          'perf-script',
          `weight "period" asked, but this sample header has no period (record with a period field, or import with weight "samples"): ${excerpt(line)}`,
          { line: lineNo },
        );
      weight = period;
      if (!unitSet) {
        eventName = ev;
        unit = /clock/.test(ev) ? 'nanoseconds' : 'count';
        unitSet = true;
      }
    }
  }
  flush();
  void headerLine;
  void eventName;
  if (samples === 0) throw new ImportError('perf-script', 'no samples found (expected "comm pid [cpu] time: period event:" headers followed by frame lines)');
  const p = b.build();
  if (usePeriod && unit !== 'samples') return Object.freeze({ ...p, unit }) as Profile;
  return p;
}
