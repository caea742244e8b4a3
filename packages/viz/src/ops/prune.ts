/**
 * prune: fold frames narrower than a threshold into their parents, for rendering budgets. Totals
 * stay exact (a removed subtree's weight becomes its parent's self weight) and the result is marked
 * pruned ({minWeight, removedNodes}).
 */
import type { Profile } from '../model/types.js';
import { buildTree, makeCallTree, type CallTree } from '../model/tree.js';
import { rebuildProfile } from './rebuild.js';

export interface PruneOptions {
  /** keep nodes whose total is at least this share (0..1) of the root total. */
  minShare?: number;
  /** keep nodes whose total is at least this weight. */
  minWeight?: number;
  /** keep at most this many nodes (root included), the widest ones. */
  maxNodes?: number;
}

/** k-th largest value (0-based) of a copy of `a`, by quickselect. */
function kthLargest(a: Float64Array, k: number): number {
  const v = a.slice();
  let lo = 0,
    hi = v.length - 1;
  while (lo < hi) {
    const pivot = v[(lo + hi) >>> 1];
    let i = lo,
      j = hi;
    while (i <= j) {
      while (v[i] > pivot) i++;
      while (v[j] < pivot) j--;
      if (i <= j) {
        const t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k];
  }
  return v[k];
}

/** Which nodes survive: 1 = kept. Ancestors of kept nodes are always kept (totals only shrink downwards). */
function keepMask(tree: CallTree, opts: PruneOptions): { keep: Uint8Array; minWeight: number } {
  const n = tree.count;
  const rootTotal = tree.total[0];
  let minWeight = 0;
  let strict = false;
  if (opts.minShare !== undefined) {
    if (!(opts.minShare >= 0 && opts.minShare <= 1)) throw new Error(`prune: minShare must be between 0 and 1, got ${opts.minShare}`);
    minWeight = Math.max(minWeight, opts.minShare * rootTotal);
  }
  if (opts.minWeight !== undefined) {
    if (!(opts.minWeight >= 0)) throw new Error(`prune: minWeight must be >= 0, got ${opts.minWeight}`);
    minWeight = Math.max(minWeight, opts.minWeight);
  }
  if (opts.maxNodes !== undefined) {
    if (!(Number.isInteger(opts.maxNodes) && opts.maxNodes >= 1)) throw new Error(`prune: maxNodes must be an integer >= 1, got ${opts.maxNodes}`);
    if (n > opts.maxNodes) {
      // keep nodes strictly wider than the (maxNodes+1)-th widest: at most maxNodes of them
      const cut = kthLargest(tree.total, opts.maxNodes);
      if (cut >= minWeight) {
        minWeight = cut;
        strict = true;
      }
    }
  }
  if (opts.minShare === undefined && opts.minWeight === undefined && opts.maxNodes === undefined)
    throw new Error('prune: give minShare, minWeight or maxNodes');
  const keep = new Uint8Array(n);
  keep[0] = 1;
  let smallestKept = Infinity;
  for (let i = 1; i < n; ) {
    const t = tree.total[i];
    const ok = strict ? t > minWeight : t >= minWeight;
    if (ok && keep[tree.parent[i]]) {
      keep[i] = 1;
      if (t < smallestKept) smallestKept = t;
      i++;
    } else i += tree.size[i];
  }
  return { keep, minWeight: strict ? (smallestKept === Infinity ? minWeight : smallestKept) : minWeight };
}

/** Prune a call tree: a new tree (preorder, children still sorted) with `pruned` set. */
export function pruneTree(tree: CallTree, opts: PruneOptions): CallTree {
  const { keep, minWeight } = keepMask(tree, opts);
  const n = tree.count;
  let m = 0;
  for (let i = 0; i < n; i++) m += keep[i];
  const newId = new Int32Array(n).fill(-1);
  const frame = new Int32Array(m),
    parent = new Int32Array(m),
    depth = new Int32Array(m);
  const total = new Float64Array(m),
    self = new Float64Array(m);
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (!keep[i]) {
      // fold into the nearest kept ancestor (its direct parent when we skip whole subtrees)
      const a = tree.parent[i];
      newId[i] = newId[a]; // removed nodes point at their nearest kept ancestor
      self[newId[a]] += tree.self[i];
      continue;
    }
    newId[i] = j;
    frame[j] = tree.frame[i];
    parent[j] = i === 0 ? -1 : newId[tree.parent[i]]; // the parent of a kept node is kept
    depth[j] = tree.depth[i];
    total[j] = tree.total[i];
    self[j] += tree.self[i];
    j++;
  }
  const removedNodes = n - m + (tree.pruned?.removedNodes ?? 0);
  return makeCallTree(tree.unit, tree.frames, { frame, parent, depth, total, self }, { minWeight, removedNodes });
}

/** Prune a profile: each stack is cut at its first frame narrower than the threshold. */
export function pruneProfile(p: Profile, opts: PruneOptions): Profile {
  const tree = buildTree(p);
  const { keep, minWeight } = keepMask(tree, opts);
  let kept = 0;
  for (let i = 0; i < tree.count; i++) kept += keep[i];
  // child lookup among kept nodes: (parent node, frame) -> node
  const child = new Map<string, number>();
  for (let i = 1; i < tree.count; i++) if (keep[i]) child.set(tree.parent[i] + ':' + tree.frame[i], i);
  const removedNodes = tree.count - kept + (p.meta.pruned?.removedNodes ?? 0);
  return rebuildProfile(
    p,
    (fr) => {
      let node = 0;
      let k = 0;
      for (; k < fr.length; k++) {
        const c = child.get(node + ':' + fr[k]);
        if (c === undefined) break;
        node = c;
      }
      return k === fr.length ? fr : fr.slice(0, k);
    },
    { meta: { ...p.meta, pruned: { minWeight, removedNodes } } },
  );
}

/** prune(tree or profile): see PruneOptions. */
export function prune(input: CallTree, opts: PruneOptions): CallTree;
export function prune(input: Profile, opts: PruneOptions): Profile;
export function prune(input: CallTree | Profile, opts: PruneOptions): CallTree | Profile {
  if ('stacks' in input) return pruneProfile(input, opts);
  return pruneTree(input, opts);
}
