/**
 * The call tree derived from a profile, held in typed arrays (one slot per node) so that 200k
 * unique stacks of depth ~30 build in a fraction of a second.
 *
 * Nodes are numbered in preorder with children sorted by frame name (then kind), so the subtree of
 * node i is the contiguous range [i, i + size[i]). Node 0 is a synthetic root ("all") whose total is
 * the profile total. Walk children with firstChild/nextSibling or childrenOf().
 */
import type { Frame, FrameKind, Profile, Unit } from './types.js';

export interface CallTree {
  readonly unit: Unit;
  /** the frame table node.frame indexes into (the profile's, or a union table for multi-profile trees). */
  readonly frames: readonly Frame[];
  /** number of nodes, root included. */
  readonly count: number;
  /** frame index per node; -1 for the root. */
  readonly frame: Int32Array;
  /** parent node; -1 for the root. */
  readonly parent: Int32Array;
  /** root is depth 0; a stack's first frame is depth 1. */
  readonly depth: Int32Array;
  readonly total: Float64Array;
  readonly self: Float64Array;
  /** number of nodes in the subtree (the node included). */
  readonly size: Int32Array;
  /** 1 when the node lies at or after a `--` separator on its path (the waker part of a chain). */
  readonly waker: Uint8Array;
  readonly maxDepth: number;
  /** set by prune(): nodes folded into their parents. */
  readonly pruned?: { readonly minWeight: number; readonly removedNodes: number };
}

/** A tree over several profiles at once (diff): totals/selves per profile, frames unified by (name, kind). */
export interface MultiCallTree extends CallTree {
  /** totals[k][node]: the node's total in profile k. `total` is the sum over profiles. */
  readonly totals: readonly Float64Array[];
  readonly selves: readonly Float64Array[];
  /** each input profile's frame ids mapped to `frames` indices. */
  readonly frameMaps: readonly Int32Array[];
}

export const ROOT_NAME = 'all';

/**
 * The one constructor of a call tree, from its nodes in preorder (frame, parent, depth and the
 * weights, `frame.length` nodes, the root first); the rest is derived here: the node count, each
 * subtree's size, the deepest level and the waker flags.
 */
export function makeCallTree(
  unit: Unit,
  frames: readonly Frame[],
  nodes: { frame: Int32Array; parent: Int32Array; depth: Int32Array; total: Float64Array; self: Float64Array },
  pruned?: CallTree['pruned'],
): CallTree {
  const { frame, parent, depth, total, self } = nodes;
  const n = frame.length;
  const size = new Int32Array(n).fill(1);
  let maxDepth = 0;
  for (let i = n - 1; i > 0; i--) {
    size[parent[i]] += size[i];
    if (depth[i] > maxDepth) maxDepth = depth[i];
  }
  const waker = wakerFlags(frames, frame, parent);
  return { unit, frames, count: n, frame, parent, depth, total, self, size, waker, maxDepth, ...(pruned ? { pruned } : {}) };
}

/** 1 for the nodes at or after a `--` separator on their path: the waker part of a chain (only chains have one). */
function wakerFlags(frames: readonly Frame[], frame: Int32Array, parent: Int32Array): Uint8Array {
  const n = frame.length;
  const waker = new Uint8Array(n);
  const chainSep = new Uint8Array(frames.length);
  let chains = false;
  for (let f = 0; f < frames.length; f++) {
    if (frames[f].kind === 'separator' && frames[f].name === '--') {
      chainSep[f] = 1;
      chains = true;
    }
  }
  if (chains) for (let i = 1; i < n; i++) if (waker[parent[i]] || chainSep[frame[i]]) waker[i] = 1;
  return waker;
}

/** Build the call tree of a profile. */
export function buildTree(profile: Profile): CallTree {
  const { totals, selves, frameMaps, ...tree } = buildMultiTree([profile]);
  return profile.meta.pruned ? { ...tree, pruned: profile.meta.pruned } : tree;
}

/** One tree over several profiles (frames unified by name and kind). */
export function buildMultiTree(profiles: readonly Profile[]): MultiCallTree {
  if (profiles.length === 0) throw new Error('buildMultiTree: no profiles given');
  // unify frames
  let frames: Frame[];
  const frameMaps: Int32Array[] = [];
  if (profiles.length === 1) {
    frames = profiles[0].frames as Frame[];
    const m = new Int32Array(frames.length);
    for (let i = 0; i < m.length; i++) m[i] = i;
    frameMaps.push(m);
  } else {
    frames = [];
    const idx = new Map<string, number>();
    for (const p of profiles) {
      const m = new Int32Array(p.frames.length);
      p.frames.forEach((f, i) => {
        const key = f.kind + '\u0000' + f.name;
        let id = idx.get(key);
        if (id === undefined) {
          id = frames.length;
          frames.push(f);
          idx.set(key, id);
        }
        m[i] = id;
      });
      frameMaps.push(m);
    }
  }
  const { order, rank } = frameRanks(frames);
  const K = profiles.length;
  let nStacks = 0;
  let nFrameRefs = 0;
  for (const p of profiles) {
    nStacks += p.stacks.length;
    for (const s of p.stacks) nFrameRefs += s.frames.length;
  }
  // profile k's frame id → rank, in one lookup
  const ranks = frameMaps.map((m) => {
    const rk = new Int32Array(m.length);
    for (let i = 0; i < m.length; i++) rk[i] = rank[m[i]];
    return rk;
  });
  const nodes = new NodeStore(K, nFrameRefs, nStacks);
  // Stacks that arrive in call tree order already (one profile, e.g. a decoded bpfscope JSON: the
  // encoder writes them so) are emitted in one pass. Otherwise: flatten every stack as frame
  // ranks, sort the stacks lexicographically (multikey quicksort: shared prefixes are compared
  // once), then emit in sorted order. Emitting in that order produces the nodes in preorder with
  // children sorted by name: a stack shares its common prefix with the previous one.
  if (!(K === 1 && emitInOrder(profiles[0], ranks[0], order, nodes))) {
    nodes.reset();
    const start = new Int32Array(nStacks + 1);
    const flat = new Int32Array(nFrameRefs);
    const chan = new Uint16Array(nStacks);
    const weight = new Float64Array(nStacks);
    let si = 0,
      fi = 0;
    for (let k = 0; k < K; k++) {
      const rk = ranks[k];
      const stacks = profiles[k].stacks;
      for (let q = 0; q < stacks.length; q++) {
        const s = stacks[q];
        start[si] = fi;
        const fr = s.frames;
        for (let j = 0; j < fr.length; j++) {
          const f = fr[j];
          if (!(f >= 0 && f < rk.length)) throw badFrame(K, k, q, f, rk.length);
          flat[fi++] = rk[f];
        }
        if (!(s.weight >= 0)) throw badWeight(K, k, q, s.weight);
        chan[si] = k;
        weight[si] = s.weight;
        si++;
      }
    }
    start[nStacks] = fi;
    const sorted = new Int32Array(nStacks);
    for (let i = 0; i < nStacks; i++) sorted[i] = i;
    sortStacks(sorted, start, flat);
    let prev = -1;
    for (let q = 0; q < nStacks; q++) {
      const s = sorted[q];
      const a = start[s],
        len = start[s + 1] - a;
      let common = 0;
      if (prev >= 0) {
        const pa = start[prev],
          lim = Math.min(len, start[prev + 1] - pa);
        while (common < lim && flat[a + common] === flat[pa + common]) common++;
      }
      nodes.ensure(len, len - common);
      for (let d = common; d < len; d++) nodes.add(order[flat[a + d]], d);
      nodes.selves[chan[s]][nodes.path[len]] += weight[s];
      prev = s;
    }
  }
  const n = nodes.n;
  const frame = nodes.frame.slice(0, n);
  const parent = nodes.parent.slice(0, n);
  const depth = nodes.depth.slice(0, n);
  const selvesOut = nodes.selves.map((x) => x.slice(0, n));
  const totals = selvesOut.map((a) => a.slice());
  for (let i = n - 1; i > 0; i--) {
    const p = parent[i];
    for (let k = 0; k < K; k++) totals[k][p] += totals[k][i];
  }
  let total: Float64Array, self: Float64Array;
  if (K === 1) {
    total = totals[0];
    self = selvesOut[0];
  } else {
    total = new Float64Array(n);
    self = new Float64Array(n);
    for (let k = 0; k < K; k++) {
      const t = totals[k],
        sf = selvesOut[k];
      for (let i = 0; i < n; i++) {
        total[i] += t[i];
        self[i] += sf[i];
      }
    }
  }
  return { ...makeCallTree(profiles[0].unit, frames, { frame, parent, depth, total, self }), totals, selves: selvesOut, frameMaps };
}

function badFrame(K: number, k: number, q: number, f: number, nf: number): RangeError {
  return new RangeError(`${K > 1 ? `profile ${k}: ` : ''}stack ${q}: frame index ${f} is outside the frame table (0..${nf - 1})`);
}

function badWeight(K: number, k: number, q: number, w: number): RangeError {
  return new RangeError(`${K > 1 ? `profile ${k}: ` : ''}stack ${q}: weight must be a non-negative number, got ${String(w)}`);
}

/** Growable typed arrays for the nodes being emitted in preorder, and the current root-to-leaf path. */
class NodeStore {
  cap: number;
  frame!: Int32Array;
  parent!: Int32Array;
  depth!: Int32Array;
  selves!: Float64Array[];
  /** path[d] = node at depth d of the current stack (path[0] = root). */
  path = new Int32Array(256);
  n = 1;
  constructor(
    readonly K: number,
    private readonly maxNodes: number,
    nStacks: number,
  ) {
    this.cap = Math.max(16, Math.min(maxNodes + 1, nStacks * 8 + 16));
    this.reset();
  }
  reset(): void {
    this.frame = new Int32Array(this.cap);
    this.parent = new Int32Array(this.cap);
    this.depth = new Int32Array(this.cap);
    this.selves = Array.from({ length: this.K }, () => new Float64Array(this.cap));
    this.frame[0] = -1;
    this.parent[0] = -1;
    this.n = 1;
  }
  /** room for a stack of `len` frames of which `fresh` become new nodes. */
  ensure(len: number, fresh: number): void {
    if (this.path.length < len + 1) {
      const np = new Int32Array((len + 1) * 2);
      np.set(this.path);
      this.path = np;
    }
    if (this.n + fresh <= this.cap) return;
    let nc = this.cap;
    while (this.n + fresh > nc) nc = Math.min(nc * 2, this.maxNodes + 1);
    const g32 = (a: Int32Array) => {
      const x = new Int32Array(nc);
      x.set(a);
      return x;
    };
    this.frame = g32(this.frame);
    this.parent = g32(this.parent);
    this.depth = g32(this.depth);
    this.selves = this.selves.map((a) => {
      const x = new Float64Array(nc);
      x.set(a);
      return x;
    });
    this.cap = nc;
  }
  /** a new node for `frame` at depth d + 1 under the current path's node at depth d. */
  add(frame: number, d: number): void {
    const n = this.n++;
    this.frame[n] = frame;
    this.parent[n] = this.path[d];
    this.depth[n] = d + 1;
    this.path[d + 1] = n;
  }
}

/**
 * Emit the nodes of one profile whose stacks come in call tree order (by frame rank, a shorter
 * prefix first), in one pass. Returns false at the first stack out of order; the caller then
 * starts over with a sort.
 */
function emitInOrder(p: Profile, rk: Int32Array, order: Int32Array, nodes: NodeStore): boolean {
  const stacks = p.stacks;
  const nf = rk.length;
  let prev: readonly number[] = [];
  for (let q = 0; q < stacks.length; q++) {
    const s = stacks[q];
    const fr = s.frames;
    const len = fr.length;
    const plen = prev.length;
    const lim = Math.min(len, plen);
    let c = 0;
    while (c < lim) {
      const f = fr[c];
      if (!(f >= 0 && f < nf)) throw badFrame(1, 0, q, f, nf);
      if (rk[f] !== rk[prev[c]]) break;
      c++;
    }
    if (c < lim ? rk[fr[c]] < rk[prev[c]] : len < plen) return false;
    if (!(s.weight >= 0)) throw badWeight(1, 0, q, s.weight);
    nodes.ensure(len, len - c);
    for (let d = c; d < len; d++) {
      const f = fr[d];
      if (!(f >= 0 && f < nf)) throw badFrame(1, 0, q, f, nf);
      nodes.add(order[rk[f]], d);
    }
    nodes.selves[0][nodes.path[len]] += s.weight;
    prev = fr;
  }
  return true;
}

/** Children of a node, in tree order (sorted by name). */
export function childrenOf(tree: CallTree, node: number): number[] {
  const out: number[] = [];
  const end = node + tree.size[node];
  for (let c = node + 1; c < end; c += tree.size[c]) out.push(c);
  return out;
}

export function nodeName(tree: CallTree, node: number): string {
  return node === 0 ? ROOT_NAME : tree.frames[tree.frame[node]].name;
}

export function nodeKind(tree: CallTree, node: number): FrameKind | 'root' {
  return node === 0 ? 'root' : tree.frames[tree.frame[node]].kind;
}

/** The node at a path of frame names (the root's child first), or -1. An empty path is the root. */
export function findNode(tree: CallTree, path: readonly string[]): number {
  let node = 0;
  for (const name of path) {
    let next = -1;
    const end = node + tree.size[node];
    for (let c = node + 1; c < end; c += tree.size[c]) {
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

/**
 * Mark nodes whose frame name matches `re` and sum the weight under them like flamegraph.pl
 * (each sample once). `total` defaults to the tree's (a differential graph passes its side's).
 */
export function searchTree(tree: CallTree, re: RegExp, total: Float64Array = tree.total): SearchResult {
  const fm = new Int8Array(tree.frames.length).fill(-1);
  const hit = new Uint8Array(tree.count);
  let matched = 0;
  let nodes = 0;
  // covered[i]: the node or an ancestor matched (preorder: parents come first)
  const covered = new Uint8Array(tree.count);
  for (let i = 1; i < tree.count; i++) {
    const f = tree.frame[i];
    if (fm[f] === -1) {
      re.lastIndex = 0;
      fm[f] = re.test(tree.frames[f].name) ? 1 : 0;
    }
    if (covered[tree.parent[i]]) covered[i] = 1;
    if (fm[f] === 1) {
      hit[i] = 1;
      nodes++;
      if (!covered[i]) matched += total[i];
      covered[i] = 1;
    }
  }
  const rootTotal = total[0];
  return { hit, matched, nodes, share: rootTotal > 0 ? matched / rootTotal : 0 };
}

/** Frame names from the root's first child down to the node. */
export function nodePath(tree: CallTree, node: number): string[] {
  const out: string[] = [];
  for (let i = node; i > 0; i = tree.parent[i]) out.push(tree.frames[tree.frame[i]].name);
  return out.reverse();
}

/** Nested object form ({name, kind, value, self, children}) e.g. for d3-hierarchy / d3-flame-graph. */
export interface HierarchyNode {
  name: string;
  kind: FrameKind | 'root';
  value: number;
  self: number;
  waker: boolean;
  children: HierarchyNode[];
}

export function toHierarchy(tree: CallTree, node = 0): HierarchyNode {
  const mk = (i: number): HierarchyNode => ({
    name: nodeName(tree, i),
    kind: nodeKind(tree, i),
    value: tree.total[i],
    self: tree.self[i],
    waker: tree.waker[i] === 1,
    children: [],
  });
  const out: HierarchyNode[] = new Array(tree.count);
  const end = node + tree.size[node];
  out[node] = mk(node);
  for (let i = node + 1; i < end; i++) {
    out[i] = mk(i);
    out[tree.parent[i]].children.push(out[i]);
  }
  return out[node];
}

/**
 * Sort stack indices lexicographically by their rank sequences (a shorter prefix first), in place.
 * Multikey quicksort (Bentley & Sedgewick): partition on the rank at depth d, recurse into the
 * equal part at d + 1, so common prefixes are not compared again and again.
 */
export function sortStacks(idx: Int32Array, start: Int32Array, flat: Int32Array): void {
  const key = (i: number, d: number) => (d < start[i + 1] - start[i] ? flat[start[i] + d] : -1);
  // explicit work stack of (lo, hi, d)
  const work: number[] = [0, idx.length, 0];
  while (work.length) {
    const d = work.pop()!;
    let hi = work.pop()!;
    const lo = work.pop()!;
    for (;;) {
      const len = hi - lo;
      if (len <= 1) break;
      if (len < 12) {
        // insertion sort comparing from depth d
        for (let i = lo + 1; i < hi; i++) {
          const v = idx[i];
          const va = start[v],
            vl = start[v + 1] - va;
          let j = i - 1;
          while (j >= lo) {
            const u = idx[j];
            const ua = start[u],
              ul = start[u + 1] - ua;
            let e = d;
            const lim = Math.min(ul, vl);
            while (e < lim && flat[ua + e] === flat[va + e]) e++;
            const cmp = e < lim ? flat[ua + e] - flat[va + e] : ul - vl;
            if (cmp <= 0) break;
            idx[j + 1] = u;
            j--;
          }
          idx[j + 1] = v;
        }
        break;
      }
      // median of three pivot
      const a = key(idx[lo], d),
        b = key(idx[lo + (len >> 1)], d),
        c = key(idx[hi - 1], d);
      const pivot = a < b ? (b < c ? b : Math.max(a, c)) : a < c ? a : Math.max(b, c);
      // 3-way partition: [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot
      let lt = lo,
        gt = hi,
        i = lo;
      while (i < gt) {
        const k = key(idx[i], d);
        if (k < pivot) {
          const t = idx[lt];
          idx[lt] = idx[i];
          idx[i] = t;
          lt++;
          i++;
        } else if (k > pivot) {
          gt--;
          const t = idx[gt];
          idx[gt] = idx[i];
          idx[i] = t;
        } else i++;
      }
      if (pivot >= 0 && gt - lt > 1) work.push(lt, gt, d + 1);
      if (gt < hi) work.push(gt, hi, d);
      hi = lt; // continue with the "<" part
    }
  }
}

/**
 * Frames ranked by (name, kind): the order of siblings in the call tree. `order[r]` is the frame of
 * rank r, `rank[f]` the rank of frame f.
 */
export function frameRanks(frames: readonly Frame[]): { order: Int32Array; rank: Int32Array } {
  const n = frames.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const kindOrder = (k: FrameKind) => k;
  order.sort((a, b) => {
    const fa = frames[a],
      fb = frames[b];
    if (fa.name !== fb.name) return fa.name < fb.name ? -1 : 1;
    const ka = kindOrder(fa.kind),
      kb = kindOrder(fb.kind);
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]] = i;
  return { order, rank };
}

/**
 * Stack indices of a profile in call tree order: lexicographically by the frames' (name, kind)
 * ranks, a shorter prefix first. Neighbours share long prefixes (what the codec's prefix
 * compression wants), and buildTree reads stacks in this order without sorting them again.
 */
export function stackOrderForTree(p: Profile): Int32Array {
  const n = p.stacks.length;
  const { rank } = frameRanks(p.frames);
  let refs = 0;
  for (const s of p.stacks) refs += s.frames.length;
  const start = new Int32Array(n + 1);
  const flat = new Int32Array(refs);
  let fi = 0;
  for (let i = 0; i < n; i++) {
    start[i] = fi;
    const fr = p.stacks[i].frames;
    for (let j = 0; j < fr.length; j++) flat[fi++] = rank[fr[j]];
  }
  start[n] = fi;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  sortStacks(idx, start, flat);
  return idx;
}
