/**
 * Top functions of a profile (self and total per function name) and their delta between two
 * profiles. Pure (test/top.test.ts).
 *
 * total counts each stack once per function even when the function recurses; self is the weight
 * of stacks whose leaf is the function. Process names (comm) and separators are not functions.
 */
import type { Profile } from '@bpfscope/viz';

export interface TopRow {
  name: string;
  self: number;
  total: number;
}

export function topFunctions(p: Profile): TopRow[] {
  const nf = p.frames.length;
  const skip = new Uint8Array(nf);
  // functions are keyed by name: the same name with different kinds is one row
  const key = new Int32Array(nf);
  const names: string[] = [];
  const byName = new Map<string, number>();
  for (let i = 0; i < nf; i++) {
    const f = p.frames[i];
    if (f.kind === 'comm' || f.kind === 'separator') skip[i] = 1;
    let k = byName.get(f.name);
    if (k === undefined) {
      k = names.length;
      names.push(f.name);
      byName.set(f.name, k);
    }
    key[i] = k;
  }
  const self = new Float64Array(names.length);
  const total = new Float64Array(names.length);
  const seen = new Int32Array(names.length).fill(-1);
  for (let s = 0; s < p.stacks.length; s++) {
    const st = p.stacks[s];
    const w = st.weight;
    if (!w) continue;
    const fr = st.frames;
    let leaf = -1;
    for (let i = 0; i < fr.length; i++) {
      const f = fr[i];
      if (skip[f]) continue;
      const k = key[f];
      if (seen[k] !== s) {
        seen[k] = s;
        total[k] += w;
      }
      leaf = k;
    }
    if (leaf >= 0 && !skip[fr[fr.length - 1]]) self[leaf] += w;
  }
  const rows: TopRow[] = [];
  for (let k = 0; k < names.length; k++) if (total[k] > 0) rows.push({ name: names[k], self: self[k], total: total[k] });
  rows.sort((a, b) => b.self - a.self || b.total - a.total || (a.name < b.name ? -1 : 1));
  return rows;
}

export interface DeltaRow {
  name: string;
  baseSelf: number;
  targetSelf: number;
  baseTotal: number;
  targetTotal: number;
  /** target − base (base scaled to the target's total when normalized). */
  deltaSelf: number;
  deltaTotal: number;
  /** present on one side only */
  only?: 'base' | 'target';
}

/**
 * Per-function change from `base` to `target`. With `normalize`, the base's values are scaled by
 * target.total / base.total, so the delta compares shares (different durations or rates).
 */
export function topDelta(base: Profile, target: Profile, normalize: boolean): DeltaRow[] {
  const b = new Map(topFunctions(base).map((r) => [r.name, r]));
  const t = new Map(topFunctions(target).map((r) => [r.name, r]));
  const scale = normalize && base.total > 0 ? target.total / base.total : 1;
  const out: DeltaRow[] = [];
  const names = new Set([...b.keys(), ...t.keys()]);
  for (const name of names) {
    const br = b.get(name);
    const tr = t.get(name);
    const baseSelf = (br?.self ?? 0) * scale;
    const baseTotal = (br?.total ?? 0) * scale;
    const targetSelf = tr?.self ?? 0;
    const targetTotal = tr?.total ?? 0;
    const row: DeltaRow = { name, baseSelf, targetSelf, baseTotal, targetTotal, deltaSelf: targetSelf - baseSelf, deltaTotal: targetTotal - baseTotal };
    if (!br) row.only = 'target';
    else if (!tr) row.only = 'base';
    out.push(row);
  }
  out.sort((x, y) => Math.abs(y.deltaSelf) - Math.abs(x.deltaSelf) || Math.abs(y.deltaTotal) - Math.abs(x.deltaTotal) || (x.name < y.name ? -1 : 1));
  return out;
}

/** Scale every stack weight (and the total) of a profile; used for "normalized" differential views. */
export function scaleProfile(p: Profile, factor: number): Profile {
  if (factor === 1) return p;
  return { ...p, stacks: p.stacks.map((s) => ({ frames: s.frames, weight: s.weight * factor })), total: p.total * factor };
}
