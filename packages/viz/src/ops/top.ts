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
  /** the function is in one profile only. */
  only?: 'base' | 'target';
}

export type TopSort = 'self' | 'total';

interface Tally {
  name: string;
  kind: FrameKind;
  self: number;
  total: number;
}

/**
 * Self and total per function (name and kind), in typed arrays: one pass over the stacks, a
 * function that recurses counts once per stack in its total (a per-function stamp of the last
 * stack that counted it).
 */
function tally(p: Profile): Map<string, Tally> {
  const nf = p.frames.length;
  const fn = new Int32Array(nf);
  const byKey = new Map<string, number>();
  const rows: Tally[] = [];
  for (let i = 0; i < nf; i++) {
    const f = p.frames[i];
    const key = f.kind + '\u0000' + f.name;
    let k = byKey.get(key);
    if (k === undefined) {
      k = rows.length;
      rows.push({ name: f.name, kind: f.kind, self: 0, total: 0 });
      byKey.set(key, k);
    }
    fn[i] = k;
  }
  const self = new Float64Array(rows.length);
  const total = new Float64Array(rows.length);
  const seen = new Int32Array(rows.length).fill(-1);
  for (let s = 0; s < p.stacks.length; s++) {
    const st = p.stacks[s];
    const fr = st.frames;
    if (fr.length === 0 || !st.weight) continue;
    for (let i = 0; i < fr.length; i++) {
      const k = fn[fr[i]];
      if (seen[k] !== s) {
        seen[k] = s;
        total[k] += st.weight;
      }
    }
    self[fn[fr[fr.length - 1]]] += st.weight;
  }
  const out = new Map<string, Tally>();
  for (const [key, k] of byKey) {
    if (total[k] > 0) out.set(key, { ...rows[k], self: self[k], total: total[k] });
  }
  return out;
}

/** Functions by self (default) or total weight, heaviest first. Comm and separator frames are left out. */
export function topFunctions(p: Profile, opts: { sort?: TopSort; limit?: number; includeComm?: boolean } = {}): FunctionRow[] {
  const sort = opts.sort ?? 'self';
  const rows = [...tally(p).values()]
    .filter((r) => r.kind !== 'separator' && (opts.includeComm || r.kind !== 'comm'))
    .map((r) => ({ ...r, selfShare: p.total > 0 ? r.self / p.total : 0, totalShare: p.total > 0 ? r.total / p.total : 0 }));
  const other: TopSort = sort === 'self' ? 'total' : 'self';
  rows.sort((a, b) => b[sort] - a[sort] || b[other] - a[other] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
}

/** Top functions of a comparison: base and target self/total with deltas, sorted by |delta| of self (default) or total. */
export function topFunctionsDiff(
  base: Profile,
  target: Profile,
  opts: { normalize?: boolean; sort?: TopSort; limit?: number; includeComm?: boolean } = {},
): DiffFunctionRow[] {
  const scale = opts.normalize && base.total > 0 ? target.total / base.total : 1;
  const a = tally(base),
    b = tally(target);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows: DiffFunctionRow[] = [];
  for (const k of keys) {
    const ra = a.get(k),
      rb = b.get(k);
    const r = (ra ?? rb)!;
    if (r.kind === 'separator' || (!opts.includeComm && r.kind === 'comm')) continue;
    const baseSelf = (ra?.self ?? 0) * scale,
      baseTotal = (ra?.total ?? 0) * scale;
    const targetSelf = rb?.self ?? 0,
      targetTotal = rb?.total ?? 0;
    const row: DiffFunctionRow = {
      name: r.name,
      kind: r.kind,
      baseSelf,
      baseTotal,
      targetSelf,
      targetTotal,
      deltaSelf: targetSelf - baseSelf,
      deltaTotal: targetTotal - baseTotal,
    };
    if (!ra) row.only = 'target';
    else if (!rb) row.only = 'base';
    rows.push(row);
  }
  const bySelf = (r: DiffFunctionRow) => Math.abs(r.deltaSelf);
  const byTotal = (r: DiffFunctionRow) => Math.abs(r.deltaTotal);
  const [f, g] = opts.sort === 'total' ? [byTotal, bySelf] : [bySelf, byTotal];
  rows.sort((x, y) => f(y) - f(x) || g(y) - g(x) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
}
