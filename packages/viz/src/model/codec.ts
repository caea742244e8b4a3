/**
 * The compact `bpfscope` JSON codec (storage and transfer format of snapshots):
 *
 * ```
 * { "format": "bpfscope", "version": 1, "unit": "samples", "meta": {...},
 *   "frames": [[name, kindCode], ...],            // kindCode indexes FRAME_KINDS
 *   "stacks": { "shared": [...], "lengths": [...], "frames": [...] },
 *   "weights": [...],
 *   "timeline"?: { resolutionMs, startTime, offsetMs[], stack[], count[] },
 *   "histograms"?: HistogramSeries,
 *   "lines"?: { "table": [[file, line], ...],       // version 2: Profile.lines from index 1 (0 is unknown)
 *               "stacks": [...] } }                  // per stack (encoded order), its line ids aligned to
 *                                                    // its frames, or 0 for a stack without lines
 * ```
 *
 * Version 2 adds `lines` and is only written when the profile has lines (a profile without them is
 * still written as version 1, so older readers keep reading it); version 1 files are read as before.
 *
 * Stacks are prefix-compressed: stack i is the first `shared[i]` frames of stack i-1 followed by the
 * next `lengths[i]` ids of `frames`. The encoder writes stacks in call tree order (by frame name
 * and kind, see model/tree.ts stackOrderForTree): neighbours share long prefixes, which makes the
 * file several times smaller than folded text, and a reader builds the call tree without sorting.
 * Fast to parse (JSON.parse of integer arrays). decodeProfile validates everything and throws CodecError naming the bad field.
 */
import type { Frame, HistogramInterval, HistogramSeries, Profile, ProfileMeta, SourceLine, Stack, Timeline, Unit } from './types.js';
import { FRAME_KINDS } from './kinds.js';
import { deepFreeze } from './builder.js';
import { stackOrderForTree } from './tree.js';

export const BPFSCOPE_FORMAT = 'bpfscope';
export const BPFSCOPE_VERSION = 2;
/** versions this build reads */
export const BPFSCOPE_VERSIONS: readonly number[] = [1, 2];

const UNITS: readonly Unit[] = ['samples', 'microseconds', 'nanoseconds', 'milliseconds', 'count', 'bytes'];

export class CodecError extends Error {
  constructor(message: string) {
    super(`bpfscope JSON: ${message}`);
    this.name = 'CodecError';
  }
}

export interface EncodedProfile {
  format: 'bpfscope';
  version: 1 | 2;
  unit: Unit;
  meta: ProfileMeta;
  total: number;
  frames: [string, number][];
  stacks: { shared: number[]; lengths: number[]; frames: number[] };
  weights: number[];
  timeline?: Timeline;
  histograms?: HistogramSeries;
  lines?: { table: [string, number][]; stacks: (number[] | 0)[] };
}

/** Encode to the object form (JSON-ready). */
export function encodeProfileObject(p: Profile): EncodedProfile {
  const frames: [string, number][] = p.frames.map((f) => [f.name, FRAME_KINDS.indexOf(f.kind)]);
  const n = p.stacks.length;
  const order = stackOrderForTree(p);
  const newIndex = new Int32Array(n);
  const shared: number[] = new Array(n);
  const lengths: number[] = new Array(n);
  let flat: number[] = [];
  let refs = 0;
  for (const s of p.stacks) refs += s.frames.length;
  flat = new Array<number>(refs);
  let fp = 0;
  const weights: number[] = new Array(n);
  let prev: readonly number[] = [];
  for (let i = 0; i < n; i++) {
    const s = order[i];
    newIndex[s] = i;
    const fr = p.stacks[s].frames;
    let c = 0;
    const l = Math.min(fr.length, prev.length);
    while (c < l && fr[c] === prev[c]) c++;
    shared[i] = c;
    lengths[i] = fr.length - c;
    for (let j = c; j < fr.length; j++) flat[fp++] = fr[j];
    weights[i] = p.stacks[s].weight;
    prev = fr;
  }
  flat.length = fp;
  const out: EncodedProfile = {
    format: 'bpfscope',
    version: 1,
    unit: p.unit,
    meta: p.meta,
    total: p.total,
    frames,
    stacks: { shared, lengths, frames: flat },
    weights,
  };
  if (p.timeline) {
    out.timeline = {
      resolutionMs: p.timeline.resolutionMs,
      startTime: p.timeline.startTime,
      offsetMs: p.timeline.offsetMs,
      stack: p.timeline.stack.map((s) => newIndex[s]),
      count: p.timeline.count,
    };
  }
  if (p.histograms) out.histograms = p.histograms;
  if (p.lines && p.lines.length > 1) {
    const table: [string, number][] = new Array(p.lines.length - 1);
    for (let i = 1; i < p.lines.length; i++) table[i - 1] = [p.lines[i].file, p.lines[i].line];
    const ls: (number[] | 0)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const l = p.stacks[order[i]].lines;
      ls[i] = l ? l.slice() : 0;
    }
    out.version = 2;
    out.lines = { table, stacks: ls };
  }
  return out;
}

export function encodeProfile(p: Profile): string {
  return JSON.stringify(encodeProfileObject(p));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intArray(v: unknown, what: string, min = 0): number[] {
  if (!Array.isArray(v)) throw new CodecError(`${what} must be an array of integers`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new CodecError(`${what}[${i}] must be an integer >= ${min}, got ${JSON.stringify(x)}`);
  }
  return v as number[];
}

function numArray(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new CodecError(`${what} must be an array of numbers`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new CodecError(`${what}[${i}] must be a finite number >= 0, got ${JSON.stringify(x)}`);
  }
  return v as number[];
}

/** Decode and validate the object form. */
export function decodeProfileObject(o: unknown): Profile {
  if (!isObj(o)) throw new CodecError('expected a JSON object');
  if (o.format !== BPFSCOPE_FORMAT) throw new CodecError(`"format" must be "bpfscope", got ${JSON.stringify(o.format)}`);
  if (!BPFSCOPE_VERSIONS.includes(o.version as number))
    throw new CodecError(`unsupported "version" ${JSON.stringify(o.version)} (this build reads versions ${BPFSCOPE_VERSIONS.join(' and ')})`);
  if (o.version === 1 && o.lines !== undefined) throw new CodecError('"lines" needs "version": 2');
  if (!UNITS.includes(o.unit as Unit)) throw new CodecError(`"unit" must be one of ${UNITS.join(', ')}, got ${JSON.stringify(o.unit)}`);
  const unit = o.unit as Unit;
  const meta = o.meta === undefined ? {} : o.meta;
  if (!isObj(meta)) throw new CodecError('"meta" must be an object');
  if (!Array.isArray(o.frames)) throw new CodecError('"frames" must be an array of [name, kindCode]');
  const frames: Frame[] = new Array(o.frames.length);
  for (let i = 0; i < o.frames.length; i++) {
    const f = o.frames[i];
    if (!Array.isArray(f) || f.length !== 2 || typeof f[0] !== 'string' || !Number.isInteger(f[1]) || f[1] < 0 || f[1] >= FRAME_KINDS.length)
      throw new CodecError(`frames[${i}] must be [name: string, kindCode: 0..${FRAME_KINDS.length - 1}], got ${JSON.stringify(f)?.slice(0, 80)}`);
    frames[i] = Object.freeze({ name: f[0], kind: FRAME_KINDS[f[1]] });
  }
  if (!isObj(o.stacks)) throw new CodecError('"stacks" must be an object {shared, lengths, frames}');
  const shared = intArray(o.stacks.shared, 'stacks.shared');
  const lengths = intArray(o.stacks.lengths, 'stacks.lengths');
  const flat = intArray(o.stacks.frames, 'stacks.frames');
  const weights = numArray(o.weights, 'weights');
  const n = shared.length;
  if (lengths.length !== n || weights.length !== n)
    throw new CodecError(`stacks.shared (${n}), stacks.lengths (${lengths.length}) and weights (${weights.length}) must have the same length`);
  const nf = frames.length;
  const stacks: Stack[] = new Array(n);
  let prev: readonly number[] = [];
  let pos = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (shared[i] > prev.length) throw new CodecError(`stacks.shared[${i}] = ${shared[i]} exceeds the previous stack's length ${prev.length}`);
    const len = lengths[i];
    if (pos + len > flat.length) throw new CodecError(`stacks.frames is too short: stack ${i} needs ids up to position ${pos + len}, there are ${flat.length}`);
    const fr = new Array<number>(shared[i] + len);
    for (let j = 0; j < shared[i]; j++) fr[j] = prev[j];
    for (let j = 0; j < len; j++) {
      const id = flat[pos++];
      if (id >= nf) throw new CodecError(`stacks.frames[${pos - 1}] = ${id} is not a frame index (there are ${nf} frames)`);
      fr[shared[i] + j] = id;
    }
    stacks[i] = { frames: fr, weight: weights[i] }; // readonly by type; see ProfileBuilder.build on freezing
    total += weights[i];
    prev = fr;
  }
  if (pos !== flat.length) throw new CodecError(`stacks.frames has ${flat.length - pos} unused ids at the end (lengths do not add up)`);
  let lines: SourceLine[] | undefined;
  if (o.lines !== undefined) lines = decodeLines(o.lines, stacks);
  const p: { -readonly [K in keyof Profile]: Profile[K] } = {
    unit,
    frames: Object.freeze(frames),
    stacks: Object.freeze(stacks),
    total,
    meta: deepFreeze(structuredCloneSafe(meta) as ProfileMeta),
  };
  if (o.timeline !== undefined) p.timeline = decodeTimeline(o.timeline, n);
  if (o.histograms !== undefined) p.histograms = decodeHistograms(o.histograms);
  if (lines) p.lines = Object.freeze(lines);
  return Object.freeze(p);
}

/** Validates `lines` and sets Stack.lines on `stacks` (decoded, mutable until frozen by the caller). */
function decodeLines(v: unknown, stacks: Stack[]): SourceLine[] {
  if (!isObj(v) || !Array.isArray(v.table) || !Array.isArray(v.stacks))
    throw new CodecError('"lines" must be an object {table: [[file, line], ...], stacks: [...]}');
  const table: SourceLine[] = [Object.freeze({ file: '', line: 0 })];
  for (let i = 0; i < v.table.length; i++) {
    const e = v.table[i];
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || e[0] === '' || !Number.isInteger(e[1]) || e[1] < 1)
      throw new CodecError(`lines.table[${i}] must be [file: non-empty string, line: integer >= 1], got ${JSON.stringify(e)?.slice(0, 80)}`);
    table.push(Object.freeze({ file: e[0], line: e[1] }));
  }
  if (v.stacks.length !== stacks.length)
    throw new CodecError(`lines.stacks has ${v.stacks.length} entries, there are ${stacks.length} stacks (one entry per stack, 0 for none)`);
  for (let i = 0; i < stacks.length; i++) {
    const l = v.stacks[i];
    if (l === 0) continue;
    const ids = intArray(l, `lines.stacks[${i}]`);
    if (ids.length !== stacks[i].frames.length)
      throw new CodecError(`lines.stacks[${i}] has ${ids.length} line ids, stack ${i} has ${stacks[i].frames.length} frames (they must align)`);
    for (let j = 0; j < ids.length; j++)
      if (ids[j] >= table.length) throw new CodecError(`lines.stacks[${i}][${j}] = ${ids[j]} is not a line index (there are ${table.length})`);
    stacks[i] = { frames: stacks[i].frames, weight: stacks[i].weight, lines: ids };
  }
  return table;
}

function structuredCloneSafe(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

function decodeTimeline(t: unknown, nStacks: number): Timeline {
  if (!isObj(t)) throw new CodecError('"timeline" must be an object');
  if (typeof t.resolutionMs !== 'number' || !(t.resolutionMs > 0)) throw new CodecError('timeline.resolutionMs must be a number > 0');
  if (typeof t.startTime !== 'number' || !Number.isFinite(t.startTime)) throw new CodecError('timeline.startTime must be a finite number (epoch ms)');
  const offsetMs = numArray(t.offsetMs, 'timeline.offsetMs');
  const stack = intArray(t.stack, 'timeline.stack');
  const count = numArray(t.count, 'timeline.count');
  if (stack.length !== offsetMs.length || count.length !== offsetMs.length)
    throw new CodecError('timeline.offsetMs, timeline.stack and timeline.count must have the same length');
  for (let i = 0; i < stack.length; i++)
    if (stack[i] >= nStacks) throw new CodecError(`timeline.stack[${i}] = ${stack[i]} is not a stack index (there are ${nStacks})`);
  return Object.freeze({
    resolutionMs: t.resolutionMs,
    startTime: t.startTime,
    offsetMs: Object.freeze(offsetMs),
    stack: Object.freeze(stack),
    count: Object.freeze(count),
  });
}

export function decodeHistograms(h: unknown, where = 'histograms'): HistogramSeries {
  if (!isObj(h)) throw new CodecError(`"${where}" must be an object`);
  if (h.unit !== 'usecs' && h.unit !== 'msecs') throw new CodecError(`${where}.unit must be "usecs" or "msecs"`);
  if (!['none', 'disk', 'flags', 'pid', 'tid', 'function'].includes(h.keyKind as string))
    throw new CodecError(`${where}.keyKind must be "none", "disk", "flags", "pid", "tid" or "function"`);
  if (!Array.isArray(h.intervals)) throw new CodecError(`${where}.intervals must be an array`);
  const intervals: HistogramInterval[] = h.intervals.map((iv: unknown, i: number) => {
    if (!isObj(iv)) throw new CodecError(`${where}.intervals[${i}] must be an object`);
    if (typeof iv.start !== 'number' || typeof iv.end !== 'number' || !(iv.end >= iv.start))
      throw new CodecError(`${where}.intervals[${i}] needs numeric start <= end (epoch ms)`);
    if (typeof iv.key !== 'string') throw new CodecError(`${where}.intervals[${i}].key must be a string`);
    const slots = numArray(iv.slots, `${where}.intervals[${i}].slots`);
    return Object.freeze({ start: iv.start, end: iv.end, key: iv.key, slots: Object.freeze(slots.slice()) });
  });
  return Object.freeze({ unit: h.unit, keyKind: h.keyKind as HistogramSeries['keyKind'], intervals: Object.freeze(intervals) });
}

/** Parse and validate a bpfscope JSON string. */
export function decodeProfile(text: string): Profile {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new CodecError(`not valid JSON (${(e as Error).message})`);
  }
  return decodeProfileObject(o);
}
