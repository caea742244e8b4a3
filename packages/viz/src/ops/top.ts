/**
 * Top functions: self and total weight per function (frame name and kind), like pprof's `top` and
 * speedscope's sandwich table. A function that recurses counts once per stack in its total.
 */
import type { FrameKind, Profile } from '../model/types.js';

export interface FunctionRow {
  name: string;
  kind: FrameKind;
  self: number;
  total: number;
  /** shares of the profile total (0..1). */
  selfShare: number;
  totalShare: number;
}

export interface DiffFunctionRow {
  name: string;
  kind: FrameKind;
  baseSelf: number;
  baseTotal: number;
  targetSelf: number;
  targetTotal: number;
  /** target - base (base scaled when normalized). */
  deltaSelf: number;
  deltaTotal: number;
}

export type TopSort = 'self' | 'total';

function tally(p: Profile): Map<string, { name: string; kind: FrameKind; self: number; total: number }> {
  const key = p.frames.map((f) => f.kind + '\u0000' + f.name);
  const rows = new Map<string, { name: string; kind: FrameKind; self: number; total: number }>();
  const seen = new Set<string>();
  const row = (i: number) => {
    let r = rows.get(key[i]);
    if (!r) {
      r = { name: p.frames[i].name, kind: p.frames[i].kind, self: 0, total: 0 };
      rows.set(key[i], r);
    }
    return r;
  };
  for (const s of p.stacks) {
    if (s.frames.length === 0) continue;
    seen.clear();
    for (const f of s.frames) {
      if (seen.has(key[f])) continue;
      seen.add(key[f]);
      row(f).total += s.weight;
    }
    row(s.frames[s.frames.length - 1]).self += s.weight;
  }
  return rows;
}

/** Functions by self (default) or total weight, heaviest first. Comm and separator frames are left out. */
export function topFunctions(p: Profile, opts: { sort?: TopSort; limit?: number; includeComm?: boolean } = {}): FunctionRow[] {
  const sort = opts.sort ?? 'self';
  const rows = [...tally(p).values()]
    .filter((r) => r.kind !== 'separator' && (opts.includeComm || r.kind !== 'comm'))
    .map((r) => ({ ...r, selfShare: p.total > 0 ? r.self / p.total : 0, totalShare: p.total > 0 ? r.total / p.total : 0 }));
  rows.sort((a, b) => b[sort] - a[sort] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
}

/** Top functions of a comparison: base and target self/total with deltas, sorted by |delta| of self (default) or total. */
export function topFunctionsDiff(
  base: Profile,
  target: Profile,
  opts: { normalize?: boolean; sort?: TopSort; limit?: number; includeComm?: boolean } = {},
): DiffFunctionRow[] {
  const scale = opts.normalize && base.total > 0 ? target.total / base.total : 1;
  const a = tally(base), b = tally(target);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows: DiffFunctionRow[] = [];
  for (const k of keys) {
    const ra = a.get(k), rb = b.get(k);
    const r = (ra ?? rb)!;
    if (r.kind === 'separator' || (!opts.includeComm && r.kind === 'comm')) continue;
    const baseSelf = (ra?.self ?? 0) * scale, baseTotal = (ra?.total ?? 0) * scale;
    const targetSelf = rb?.self ?? 0, targetTotal = rb?.total ?? 0;
    rows.push({ name: r.name, kind: r.kind, baseSelf, baseTotal, targetSelf, targetTotal, deltaSelf: targetSelf - baseSelf, deltaTotal: targetTotal - baseTotal });
  }
  const f = opts.sort === 'total' ? (r: DiffFunctionRow) => Math.abs(r.deltaTotal) : (r: DiffFunctionRow) => Math.abs(r.deltaSelf);
  rows.sort((x, y) => f(y) - f(x) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
}
