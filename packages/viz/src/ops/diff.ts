/**
 * Differential profiles with Brendan Gregg's semantics (difffolded.pl + flamegraph.pl): one tree
 * over both profiles; widths come from one side (the target by default, the base for the
 * "negated" view), colour from the change. With `normalize`, the base is scaled to the target's
 * total so shares are compared instead of raw counts.
 */
import type { Frame, Profile } from '../model/types.js';
import { buildMultiTree, type MultiCallTree } from '../model/tree.js';

export interface DiffOptions {
  /** compare shares: scale the base to the target's total (difffolded -n). Default false. */
  normalize?: boolean;
  /** which side gives the widths: 'target' (B, default) or 'base' (A: the negated graph, shows what disappeared). */
  widthsFrom?: 'target' | 'base';
}

export interface DiffResult {
  /** union tree: frames of both sides; tree.totals[0] is the base, [1] the target (unscaled). */
  readonly tree: MultiCallTree;
  /** per node: the base total (scaled when normalized) and the target total. */
  readonly base: Float64Array;
  readonly target: Float64Array;
  readonly baseSelf: Float64Array;
  readonly targetSelf: Float64Array;
  /** target - base (after scaling). Positive = grew (red), negative = shrank (blue). */
  readonly delta: Float64Array;
  /** change of the node's share of its side's total: target/targetTotal - base/baseTotal (-1..1). */
  readonly normalizedDelta: Float64Array;
  /** self deltas (what flamegraph.pl colours by). */
  readonly deltaSelf: Float64Array;
  /** the widths to draw (target or base per widthsFrom). */
  readonly width: Float64Array;
  readonly widthsFrom: 'target' | 'base';
  readonly baseTotal: number;
  readonly targetTotal: number;
  /** factor applied to base weights (targetTotal/baseTotal when normalized, else 1). */
  readonly scale: number;
  readonly maxAbsDelta: number;
  readonly maxAbsDeltaSelf: number;
  /** frames (by name and kind) that carry weight on only one side. */
  readonly onlyInBase: readonly Frame[];
  readonly onlyInTarget: readonly Frame[];
}

export function diff(base: Profile, target: Profile, opts: DiffOptions = {}): DiffResult {
  if (base.unit !== target.unit) throw new Error(`diff: the base is in ${base.unit} and the target in ${target.unit}; compare profiles of the same unit`);
  const tree = buildMultiTree([base, target]);
  const n = tree.count;
  const scale = opts.normalize && base.total > 0 ? target.total / base.total : 1;
  const b = new Float64Array(n),
    t = tree.totals[1];
  const bs = new Float64Array(n),
    ts = tree.selves[1];
  const delta = new Float64Array(n),
    nd = new Float64Array(n),
    ds = new Float64Array(n);
  let maxAbs = 0,
    maxAbsSelf = 0;
  for (let i = 0; i < n; i++) {
    b[i] = tree.totals[0][i] * scale;
    bs[i] = tree.selves[0][i] * scale;
    delta[i] = t[i] - b[i];
    ds[i] = ts[i] - bs[i];
    nd[i] = (target.total > 0 ? t[i] / target.total : 0) - (base.total > 0 ? tree.totals[0][i] / base.total : 0);
    if (i > 0) {
      if (Math.abs(delta[i]) > maxAbs) maxAbs = Math.abs(delta[i]);
      if (Math.abs(ds[i]) > maxAbsSelf) maxAbsSelf = Math.abs(ds[i]);
    }
  }
  // frames present (with weight) on one side only
  const used = [new Uint8Array(tree.frames.length), new Uint8Array(tree.frames.length)];
  [base, target].forEach((p, k) => {
    const m = tree.frameMaps[k];
    for (const s of p.stacks) if (s.weight > 0) for (const f of s.frames) used[k][m[f]] = 1;
  });
  const onlyInBase: Frame[] = [],
    onlyInTarget: Frame[] = [];
  tree.frames.forEach((f, i) => {
    if (used[0][i] && !used[1][i]) onlyInBase.push(f);
    else if (!used[0][i] && used[1][i]) onlyInTarget.push(f);
  });
  const widthsFrom = opts.widthsFrom ?? 'target';
  return {
    tree,
    base: b,
    target: t,
    baseSelf: bs,
    targetSelf: ts,
    delta,
    normalizedDelta: nd,
    deltaSelf: ds,
    width: widthsFrom === 'target' ? t : b,
    widthsFrom,
    baseTotal: base.total,
    targetTotal: target.total,
    scale,
    maxAbsDelta: maxAbs,
    maxAbsDeltaSelf: maxAbsSelf,
    onlyInBase,
    onlyInTarget,
  };
}
