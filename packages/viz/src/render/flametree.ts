/**
 * The flame graph's layout: positions and order over the one call tree (model/tree.ts), as the
 * Firefox Profiler's flame graph lays out its call tree. The call tree holds frames, parents,
 * depths, totals, selves and the waker flags; this adds only what drawing needs — each node's x
 * offset inside the root (in weight units), its children in drawing order, the depth of the
 * deepest visible row and, for a differential graph, the baseline's side. Pure data, no DOM:
 * unit-tested in Node (test/render-flametree.test.ts).
 */
import type { Profile, Unit } from '../model/types.js';
import { buildMultiTree, buildTree, type CallTree } from '../model/tree.js';

export type SortOrder = 'name' | 'weight';

export interface FlameLayoutOptions {
  /** children order: by name (default, like flamegraph.pl; the call tree's own order) or heaviest first. */
  sort?: SortOrder;
  /**
   * Differential flame graph: widths come from `profile` (the "after" side), colour from the change
   * against this baseline ("before"), per Brendan Gregg's difffolded semantics.
   */
  baseline?: Profile;
  /** compare shares instead of raw counts: the baseline is scaled to the profile's total. */
  normalize?: boolean;
}

export interface FlameLayout {
  /** the call tree laid out: names, kinds, parents, depths, waker flags come from here. */
  readonly tree: CallTree;
  readonly unit: Unit;
  readonly sort: SortOrder;
  /** widths per node: the tree's totals (for a diff, the "after" profile's share of them). */
  readonly total: Float64Array;
  readonly self: Float64Array;
  /** x offset of the node inside the root, in weight units (after sorting). */
  readonly x0: Float64Array;
  /** children in drawing order: first child and next sibling per node, -1 for none. */
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  /** depth of the deepest node with a non-zero width. */
  readonly maxDepth: number;
  /** for a differential layout: the baseline's total and self per node (scaled if normalized). */
  readonly baseTotal?: Float64Array;
  readonly baseSelf?: Float64Array;
  /** largest |delta| of self and of total over all nodes (colour intensity scale). */
  readonly maxAbsDeltaSelf?: number;
  readonly maxAbsDeltaTotal?: number;
}

function checkProfile(p: Profile, what: string): void {
  if (!p || !Array.isArray(p.frames) || !Array.isArray(p.stacks)) {
    throw new TypeError(`${what}: expected a Profile with frames[] and stacks[] (see @bpfscope/viz model/types.ts)`);
  }
}

function checkSort(sort: SortOrder): void {
  if (sort !== 'name' && sort !== 'weight') throw new RangeError(`sort must be 'name' or 'weight', got ${String(sort)}`);
}

/**
 * Lay out a call tree. `widths` (default: the tree's totals and selves) say how wide each node is;
 * a differential layout passes the "after" side's.
 */
export function layoutTree(
  tree: CallTree,
  sort: SortOrder = 'name',
  widths: { total: Float64Array; self: Float64Array } = tree,
): Omit<FlameLayout, 'baseTotal' | 'baseSelf' | 'maxAbsDeltaSelf' | 'maxAbsDeltaTotal'> {
  checkSort(sort);
  const n = tree.count;
  const { parent, size, depth } = tree;
  const total = widths.total;
  const firstChild = new Int32Array(n);
  const nextSibling = new Int32Array(n);
  const x0 = new Float64Array(n);
  let maxDepth = 0;
  if (sort === 'name') {
    // The call tree is in preorder with children sorted by name: node i's first child is i + 1,
    // its next sibling i + size[i] while that stays inside the parent's range. One forward pass;
    // each node hands its x to its first child and x + width to its next sibling.
    for (let i = 0; i < n; i++) {
      const fc = size[i] > 1 ? i + 1 : -1;
      firstChild[i] = fc;
      if (fc !== -1) x0[fc] = x0[i];
      let ns = -1;
      if (i > 0) {
        const p = parent[i];
        const next = i + size[i];
        if (next < p + size[p]) {
          ns = next;
          x0[next] = x0[i] + total[i];
        }
        if (total[i] > 0 && depth[i] > maxDepth) maxDepth = depth[i];
      }
      nextSibling[i] = ns;
    }
  } else {
    // heaviest first, ties by name (the tree's order): sort each sibling list, then place in DFS order
    firstChild.fill(-1);
    nextSibling.fill(-1);
    const kids: number[] = [];
    const byWeight = (a: number, b: number) => total[b] - total[a] || a - b;
    for (let p = 0; p < n; p++) {
      const end = p + size[p];
      if (size[p] === 1) continue;
      kids.length = 0;
      for (let c = p + 1; c < end; c += size[c]) kids.push(c);
      if (kids.length > 1) kids.sort(byWeight);
      firstChild[p] = kids[0];
      for (let k = 0; k < kids.length - 1; k++) nextSibling[kids[k]] = kids[k + 1];
    }
    const stack: number[] = [0];
    while (stack.length) {
      const p = stack.pop()!;
      let x = x0[p];
      for (let c = firstChild[p]; c !== -1; c = nextSibling[c]) {
        x0[c] = x;
        x += total[c];
        if (total[c] > 0 && depth[c] > maxDepth) maxDepth = depth[c];
        stack.push(c);
      }
    }
  }
  return { tree, unit: tree.unit, sort, total, self: widths.self, x0, firstChild, nextSibling, maxDepth };
}

/**
 * Build the call tree of a profile (with a baseline: one tree over both, frames unified by name
 * and kind) and lay it out.
 */
export function buildFlameLayout(profile: Profile, opts: FlameLayoutOptions = {}): FlameLayout {
  checkProfile(profile, 'buildFlameLayout');
  const sort: SortOrder = opts.sort ?? 'name';
  checkSort(sort);
  const baseline = opts.baseline;
  if (!baseline) return layoutTree(buildTree(profile), sort);
  checkProfile(baseline, 'buildFlameLayout baseline');
  const multi = buildMultiTree([baseline, profile]);
  const layout = layoutTree(multi, sort, { total: multi.totals[1], self: multi.selves[1] });
  let baseTotal = multi.totals[0];
  let baseSelf = multi.selves[0];
  const bt = baseTotal[0];
  if (opts.normalize && bt > 0) {
    const scale = layout.total[0] / bt;
    baseTotal = baseTotal.map((v) => v * scale);
    baseSelf = baseSelf.map((v) => v * scale);
  }
  const { total, self } = layout;
  let mS = 0;
  let mT = 0;
  for (let i = 0; i < multi.count; i++) {
    const ds = Math.abs(self[i] - baseSelf[i]);
    const dt = Math.abs(total[i] - baseTotal[i]);
    if (ds > mS) mS = ds;
    if (i > 0 && dt > mT) mT = dt;
  }
  return { ...layout, baseTotal, baseSelf, maxAbsDeltaSelf: mS, maxAbsDeltaTotal: mT };
}
