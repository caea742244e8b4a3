/**
 * The flame graph's layout tree: a call tree held in typed arrays (one slot per node) so that a
 * 200k-unique-stack profile (millions of frame visits) builds in a few hundred milliseconds and
 * the renderer can walk only the nodes that are wide enough to see. Pure data, no DOM: it is
 * unit-tested in Node (test/render-flametree.test.ts).
 *
 * Node 0 is a synthetic root ("all") whose total is the profile total.
 */
import type { Frame, FrameKind, Profile, Unit } from '../model/types.js';

export type SortOrder = 'name' | 'weight';

export interface FlameTreeOptions {
  /** children order: by name (default, like flamegraph.pl) or heaviest first. */
  sort?: SortOrder;
  /**
   * Differential flame graph: widths come from `profile` (the "after" side), colour from the change
   * against this baseline ("before"), per Brendan Gregg's difffolded semantics.
   */
  baseline?: Profile;
  /** compare shares instead of raw counts: the baseline is scaled to the profile's total. */
  normalize?: boolean;
  /** label of the synthetic root; default "all". */
  rootName?: string;
}

export interface FlameTree {
  readonly unit: Unit;
  /** profile.frames plus the synthetic root frame at index frames.length - 1. */
  readonly frames: readonly Frame[];
  /** number of nodes (node 0 is the root). */
  readonly count: number;
  readonly frame: Int32Array;
  readonly parent: Int32Array;
  readonly depth: Int32Array;
  readonly total: Float64Array;
  readonly self: Float64Array;
  /** x offset of the node inside the root, in weight units (after sorting). */
  readonly x0: Float64Array;
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  readonly maxDepth: number;
  /** for a differential tree: the baseline's total and self per node (scaled if normalized). */
  readonly baseTotal?: Float64Array;
  readonly baseSelf?: Float64Array;
  /** largest |delta| of self and of total over all nodes (colour intensity scale). */
  readonly maxAbsDeltaSelf?: number;
  readonly maxAbsDeltaTotal?: number;
  readonly sort: SortOrder;
}

class Growable {
  frame = new Int32Array(1024);
  parent = new Int32Array(1024);
  total = new Float64Array(1024);
  self = new Float64Array(1024);
  base = new Float64Array(0);
  baseSelf = new Float64Array(0);
  n = 0;
  constructor(readonly withBase: boolean) {
    if (withBase) {
      this.base = new Float64Array(1024);
      this.baseSelf = new Float64Array(1024);
    }
  }
  add(frame: number, parent: number): number {
    if (this.n === this.frame.length) {
      const cap = this.n * 2;
      this.frame = grow(this.frame, cap);
      this.parent = grow(this.parent, cap);
      this.total = grow(this.total, cap);
      this.self = grow(this.self, cap);
      if (this.withBase) {
        this.base = grow(this.base, cap);
        this.baseSelf = grow(this.baseSelf, cap);
      }
    }
    const i = this.n++;
    this.frame[i] = frame;
    this.parent[i] = parent;
    return i;
  }
}

/**
 * (parent node, frame) → child node: open addressing over Int32Arrays. A Map keyed by
 * parent * nFrames + frame goes through heap-number keys past 2^31 and was ~50x slower on
 * 2M-node trees.
 */
class ChildTable {
  private mask = (1 << 16) - 1;
  private kp = new Int32Array(1 << 16).fill(-1);
  private kf = new Int32Array(1 << 16);
  private v = new Int32Array(1 << 16);
  private size = 0;
  private slot(p: number, f: number): number {
    let h = Math.imul(p, 0x9e3779b1) + f;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let i = h & this.mask;
    while (this.kp[i] !== -1 && (this.kp[i] !== p || this.kf[i] !== f)) i = (i + 1) & this.mask;
    return i;
  }
  get(p: number, f: number): number {
    const i = this.slot(p, f);
    return this.kp[i] === -1 ? -1 : this.v[i];
  }
  set(p: number, f: number, v: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash();
    const i = this.slot(p, f);
    if (this.kp[i] === -1) this.size++;
    this.kp[i] = p;
    this.kf[i] = f;
    this.v[i] = v;
  }
  private rehash(): void {
    const { kp, kf, v } = this;
    const cap = (this.mask + 1) * 4;
    this.mask = cap - 1;
    this.kp = new Int32Array(cap).fill(-1);
    this.kf = new Int32Array(cap);
    this.v = new Int32Array(cap);
    for (let i = 0; i < kp.length; i++) {
      if (kp[i] === -1) continue;
      const j = this.slot(kp[i], kf[i]);
      this.kp[j] = kp[i];
      this.kf[j] = kf[i];
      this.v[j] = v[i];
    }
  }
}

function grow<T extends Int32Array | Float64Array>(a: T, cap: number): T {
  const b = new (a.constructor as { new (n: number): T })(cap);
  b.set(a);
  return b;
}

function checkProfile(p: Profile, what: string): void {
  if (!p || !Array.isArray(p.frames) || !Array.isArray(p.stacks)) {
    throw new TypeError(`${what}: expected a Profile with frames[] and stacks[] (see @bpfscope/viz model/types.ts)`);
  }
}

/**
 * Build the layout tree of a profile. Identical frames (same index into profile.frames, or for a
 * baseline the same name and kind) under the same parent merge into one node.
 */
export function buildFlameTree(profile: Profile, opts: FlameTreeOptions = {}): FlameTree {
  checkProfile(profile, 'buildFlameTree');
  const sort: SortOrder = opts.sort ?? 'name';
  if (sort !== 'name' && sort !== 'weight') throw new RangeError(`sort must be 'name' or 'weight', got ${String(sort)}`);
  const baseline = opts.baseline;
  if (baseline) checkProfile(baseline, 'buildFlameTree baseline');

  // Frame table: the profile's frames, then baseline-only frames, then the root.
  const frames: Frame[] = profile.frames.slice();
  const nFrames0 = frames.length;
  const g = new Growable(!!baseline);
  const rootFrame = -1; // patched below once the frame table is final
  g.add(rootFrame, -1);
  const childOf = new ChildTable();

  // Path of nodes of the previous stack: stacks that share a prefix with their predecessor (sorted
  // input, such as decoded bpfscope JSON) reuse it without hash lookups.
  let prevFrames: readonly number[] = [];
  let prevMapped: Int32Array | null = null;
  let prevBase = false;
  let path = new Int32Array(256);
  const addStack = (fr: readonly number[], map: Int32Array | null, w: number, base: boolean) => {
    const tot = base ? g.base : g.total;
    tot[0] += w;
    let c = 0;
    if (prevMapped === map && prevBase === base) {
      const l = Math.min(fr.length, prevFrames.length);
      while (c < l && fr[c] === prevFrames[c]) c++;
    }
    if (fr.length > path.length) {
      const np = new Int32Array(fr.length * 2);
      np.set(path);
      path = np;
    }
    for (let j = 0; j < c; j++) tot[path[j]] += w;
    let node = c > 0 ? path[c - 1] : 0;
    for (let j = c; j < fr.length; j++) {
      const f = map ? map[fr[j]] : fr[j];
      let ch = childOf.get(node, f);
      if (ch < 0) {
        ch = g.add(f, node);
        childOf.set(node, f, ch);
      }
      node = ch;
      path[j] = node;
      // g.base / g.total may have been reallocated by add()
      (base ? g.base : g.total)[node] += w;
    }
    (base ? g.baseSelf : g.self)[node] += w;
    prevFrames = fr;
    prevMapped = map;
    prevBase = base;
  };

  const stacks = profile.stacks;
  // One pass: validate, and while the stacks come sorted (lexicographically by frame index, a
  // prefix before its extensions — as decoded bpfscope JSON does) every frame after the prefix
  // shared with the previous stack is a new node: no child lookups at all. At the first stack out
  // of order, the nodes built so far go into the child table and the hash path takes over.
  const badFrame = (s: number, f: number) =>
    new RangeError(`stack ${s}: frame index ${f} is outside the frame table (0..${nFrames0 - 1})`);
  let sorted = true;
  let spath = new Int32Array(256);
  let pv: readonly number[] = [];
  for (let s = 0; s < stacks.length; s++) {
    const st = stacks[s];
    const w = st.weight;
    if (!(w >= 0)) throw new RangeError(`stack ${s}: weight must be a non-negative number, got ${String(w)}`);
    const fr = st.frames;
    let c = 0;
    if (sorted && w > 0) {
      const l = Math.min(fr.length, pv.length);
      while (c < l && fr[c] === pv[c]) c++;
      if (!(c === pv.length || (c < fr.length && fr[c] > pv[c]))) {
        sorted = false;
        for (let i = 1; i < g.n; i++) childOf.set(g.parent[i], g.frame[i], i);
      }
    }
    if (!sorted || w === 0) {
      for (let j = 0; j < fr.length; j++) {
        const f = fr[j];
        if (!(f >= 0 && f < nFrames0)) throw badFrame(s, f);
      }
      if (w > 0) addStack(fr, null, w, false);
      continue;
    }
    if (fr.length > spath.length) {
      const np = new Int32Array(fr.length * 2);
      np.set(spath);
      spath = np;
    }
    g.total[0] += w;
    const tot0 = g.total;
    for (let j = 0; j < c; j++) tot0[spath[j]] += w;
    let node = c > 0 ? spath[c - 1] : 0;
    for (let j = c; j < fr.length; j++) {
      const f = fr[j];
      if (!(f >= 0 && f < nFrames0)) throw badFrame(s, f);
      node = g.add(f, node);
      spath[j] = node;
      g.total[node] += w;
    }
    g.self[node] += w;
    pv = fr;
  }

  let baseScale = 1;
  if (baseline && sorted) {
    // the sorted path skipped the child table: fill it for the baseline's lookups
    for (let i = 1; i < g.n; i++) childOf.set(g.parent[i], g.frame[i], i);
  }
  if (baseline) {
    // Map baseline frames onto the profile's frame table by (kind, name).
    const byKey = new Map<string, number>();
    for (let i = 0; i < nFrames0; i++) byKey.set(frames[i].kind + '\0' + frames[i].name, i);
    const map = new Int32Array(baseline.frames.length);
    baseline.frames.forEach((f, i) => {
      const k = f.kind + '\0' + f.name;
      let idx = byKey.get(k);
      if (idx === undefined) {
        idx = frames.length;
        frames.push(f);
        byKey.set(k, idx);
      }
      map[i] = idx;
    });
    const bt = baseline.stacks.reduce((a, s) => a + s.weight, 0);
    if (opts.normalize && bt > 0) baseScale = profile.stacks.reduce((a, s) => a + s.weight, 0) / bt;
    for (let s = 0; s < baseline.stacks.length; s++) {
      const st = baseline.stacks[s];
      if (!(st.weight >= 0)) throw new RangeError(`baseline stack ${s}: weight must be a non-negative number`);
      for (const f of st.frames) {
        if (!(f >= 0 && f < baseline.frames.length)) throw new RangeError(`baseline stack ${s}: frame index ${f} is outside its frame table`);
      }
      if (st.weight > 0) addStack(st.frames, map, st.weight * baseScale, true);
    }
  }

  const rootIdx = frames.length;
  frames.push({ name: opts.rootName ?? 'all', kind: 'unknown' });
  g.frame[0] = rootIdx;

  const n = g.n;
  const frame = g.frame.subarray(0, n);
  const parent = g.parent.subarray(0, n);
  const total = g.total.subarray(0, n);
  const self = g.self.subarray(0, n);

  // Children lists. Nodes are created after their parents, so index order is a topological order.
  const childCount = new Int32Array(n);
  for (let i = 1; i < n; i++) childCount[parent[i]]++;
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + childCount[i];
  const kids = new Int32Array(Math.max(0, n - 1));
  const fill = start.slice(0, n);
  for (let i = 1; i < n; i++) kids[fill[parent[i]]++] = i;

  // Sort each child list.
  // Rank frames by name once (code-unit order, like flamegraph.pl's sort), so sorting siblings
  // compares integers instead of strings.
  const byNameIdx = Int32Array.from(frames.keys());
  byNameIdx.sort((a, b) => {
    const na = frames[a].name;
    const nb = frames[b].name;
    return na < nb ? -1 : na > nb ? 1 : a - b;
  });
  const rank = new Int32Array(frames.length);
  for (let i = 0; i < byNameIdx.length; i++) rank[byNameIdx[i]] = i;
  const byName = (a: number, b: number) => rank[frame[a]] - rank[frame[b]];
  const byWeight = (a: number, b: number) => total[b] - total[a] || byName(a, b);
  const cmp = sort === 'name' ? byName : byWeight;
  const firstChild = new Int32Array(n).fill(-1);
  const nextSibling = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    const s = start[p];
    const e = start[p + 1];
    if (e === s) continue;
    if (e - s > 1) {
      const sub = kids.subarray(s, e);
      sub.sort(cmp);
    }
    firstChild[p] = kids[s];
    for (let k = s; k < e - 1; k++) nextSibling[kids[k]] = kids[k + 1];
  }

  // Depth and x offsets (parents before children in index order, but x needs sibling order: DFS).
  const depth = new Int32Array(n);
  const x0 = new Float64Array(n);
  let maxDepth = 0;
  const stack: number[] = [0];
  while (stack.length) {
    const p = stack.pop()!;
    let x = x0[p];
    const d = depth[p] + 1;
    for (let c = firstChild[p]; c !== -1; c = nextSibling[c]) {
      depth[c] = d;
      x0[c] = x;
      x += total[c];
      if (total[c] > 0 && d > maxDepth) maxDepth = d;
      stack.push(c);
    }
  }

  const tree: FlameTree = {
    unit: profile.unit,
    frames,
    count: n,
    frame,
    parent,
    depth,
    total,
    self,
    x0,
    firstChild,
    nextSibling,
    maxDepth,
    sort,
  };
  if (baseline) {
    const baseTotal = g.base.subarray(0, n);
    const baseSelf = g.baseSelf.subarray(0, n);
    let mS = 0;
    let mT = 0;
    for (let i = 0; i < n; i++) {
      const ds = Math.abs(self[i] - baseSelf[i]);
      const dt = Math.abs(total[i] - baseTotal[i]);
      if (ds > mS) mS = ds;
      if (i > 0 && dt > mT) mT = dt;
    }
    return { ...tree, baseTotal, baseSelf, maxAbsDeltaSelf: mS, maxAbsDeltaTotal: mT };
  }
  return tree;
}

/** Frame names from the root's first child down to `node` (the root itself is not part of a path). */
export function pathOf(tree: FlameTree, node: number): string[] {
  const out: string[] = [];
  for (let i = node; i > 0; i = tree.parent[i]) out.push(tree.frames[tree.frame[i]].name);
  return out.reverse();
}

/** The node at a path of frame names (root first), or -1. An empty path is the root. */
export function findPath(tree: FlameTree, path: readonly string[]): number {
  let node = 0;
  for (const name of path) {
    let next = -1;
    for (let c = tree.firstChild[node]; c !== -1; c = tree.nextSibling[c]) {
      if (tree.frames[tree.frame[c]].name === name) {
        next = c;
        break;
      }
    }
    if (next === -1) return -1;
    node = next;
  }
  return node;
}

export interface SearchResult {
  /** per node: 1 when its frame name matches. */
  readonly hit: Uint8Array;
  /** weight under matching frames, each sample counted once (outermost matches only). */
  readonly matched: number;
  /** matched / root total, 0..1 (flamegraph.pl's "Matched: x%"). */
  readonly share: number;
  /** number of matching nodes. */
  readonly nodes: number;
}

/** Mark nodes whose frame name matches `re`, and compute the matched weight like flamegraph.pl. */
export function searchTree(tree: FlameTree, re: RegExp): SearchResult {
  const fm = new Int8Array(tree.frames.length).fill(-1);
  const hit = new Uint8Array(tree.count);
  let matched = 0;
  let nodes = 0;
  // covered[i] = an ancestor already matched; index order is topological.
  const covered = new Uint8Array(tree.count);
  for (let i = 1; i < tree.count; i++) {
    const f = tree.frame[i];
    if (fm[f] === -1) {
      re.lastIndex = 0;
      fm[f] = re.test(tree.frames[f].name) ? 1 : 0;
    }
    const p = tree.parent[i];
    if (covered[p]) covered[i] = 1;
    if (fm[f] === 1) {
      hit[i] = 1;
      nodes++;
      if (!covered[i]) matched += tree.total[i];
      covered[i] = 1;
    }
  }
  const rootTotal = tree.total[0];
  return { hit, matched, nodes, share: rootTotal > 0 ? matched / rootTotal : 0 };
}

/**
 * The kind used to colour a node: the frame's own kind, and for wakeup chains whether the node sits
 * after a `--` separator (the waker's part of the chain).
 */
export function isWakerPart(tree: FlameTree, node: number): boolean {
  for (let i = tree.parent[node]; i > 0; i = tree.parent[i]) {
    const f = tree.frames[tree.frame[i]];
    if (f.kind === 'separator' && f.name === '--') return true;
  }
  return false;
}

export function frameKind(tree: FlameTree, node: number): FrameKind {
  return tree.frames[tree.frame[node]].kind;
}
