/**
 * Flame graph renderer (canvas).
 *
 * Why canvas and not d3-flame-graph (chosen by measuring, bench/viz-browser): d3-flame-graph
 * creates one SVG <g><rect><text> per frame and lays out and paints all of them on every view.
 * At 200k unique stacks the call tree has ~650k nodes; fed a tree pruned to 2 000 nodes it took
 * 6.3 s to first paint and 321 ms per zoom (median) in software-rendered headless chromium on
 * this loaded 2-core machine, and every zoom into a pruned-away region would need a re-prune plus
 * a new SVG tree. Here the full call tree lives in typed arrays (model/tree.ts, laid out by
 * flametree.ts) and each draw walks only
 * the nodes at least `minFrameWidth` px wide in the current zoom — pruning on the fly, exact at
 * every zoom level — and paints them in one canvas pass: the draw cost depends on the pixels, not
 * on the profile size (same run: 2.1 s wall / 0.43 s main-thread CPU to first paint including
 * decode and tree build, 13 ms main-thread CPU per zoom frame).
 * Labels are drawn with fillText and the tooltip/details use textContent, so no frame name is
 * ever parsed as HTML (d3-flame-graph's tooltip uses .html(); we do not use it).
 */
import type { FrameKind, Profile, Unit } from '../model/types.js';
import { findNode, nodePath, searchTree, type SearchResult } from '../model/tree.js';
import { buildFlameLayout, type FlameLayout, type SortOrder } from './flametree.js';
import { diffColor, nodeColor, paletteForTool, SEARCH_COLOR, type PaletteName } from '../palette.js';
import { checkContainer, el, Emitter, sizeCanvas, TOOLTIP_STYLE } from './dom.js';
import { formatPercent, formatValue } from '../format.js';

export type Orientation = 'flame' | 'icicle';

export interface FlameGraphOptions {
  /** colour scheme; 'auto' (default): a baseline → diff, else paletteForTool(meta.tool) (offcputime → offcpu, wakeuptime/offwaketime → wakeup, else cpu). */
  palette?: PaletteName | 'auto';
  /** 'flame' (root at the bottom, default) or 'icicle' (root at the top). */
  orientation?: Orientation;
  /** children order: 'name' (default, like flamegraph.pl) or 'weight' (heaviest first). */
  sort?: SortOrder;
  /** frame row height in CSS px (default 17). */
  rowHeight?: number;
  /** frames narrower than this many CSS px at the current zoom are not drawn (default 0.5). */
  minFrameWidth?: number;
  /** built-in toolbar with search box, "Matched: x%", reset and details line (default true). */
  toolbar?: boolean;
  /** title shown in the toolbar (set as text). */
  title?: string;
  /** differential colour from the self (default, like flamegraph.pl) or the total delta. */
  diffColorBy?: 'self' | 'total';
  /** fixed width in CSS px; default: the container's width (tracked with a ResizeObserver). */
  width?: number;
}

export interface SetDataOptions {
  /** draw a differential flame graph: widths from the data, colour from the change vs this baseline. */
  baseline?: Profile;
  /** compare shares, not raw counts (the baseline is scaled to the data's total). */
  normalize?: boolean;
  /** keep the current zoom path and search when it still exists (live updates). Default true. */
  keepView?: boolean;
}

/** What the events and hit tests report about one frame. */
export interface FrameInfo {
  /** frame names from the root down to this frame (empty for the root "all"). */
  path: string[];
  name: string;
  kind: FrameKind;
  depth: number;
  /** inclusive weight (the frame and its descendants). */
  value: number;
  /** exclusive weight (samples whose leaf is this frame). */
  self: number;
  /** value / profile total, 0..1. */
  share: number;
  unit: Unit;
  /** for differential graphs: the baseline's value and value − baseline. */
  baseValue?: number;
  delta?: number;
}

export interface FlameGraphEvents extends Record<string, unknown> {
  /** the zoomed frame; null after a reset. */
  zoom: FrameInfo | null;
  /** the frame under the mouse; null when it leaves. */
  hover: FrameInfo | null;
  click: FrameInfo;
  /** after every draw: how long the draw took and how many frames it drew. */
  draw: { ms: number; frames: number };
  /** the search changed (from the toolbar box or search()): the pattern ('' when cleared) and its match. */
  search: MatchInfo & { pattern: string };
}

export interface MatchInfo {
  /** weight under matching frames (each sample once). */
  matched: number;
  /** matched / total, 0..1. */
  share: number;
  /** number of matching frames (tree nodes). */
  nodes: number;
}

export interface FlameGraph {
  /** the root element (data-testid="flamegraph", data-state="ready" once drawn). */
  readonly element: HTMLElement;
  /** the layout currently drawn (null before setData); its call tree is `layout.tree`. */
  readonly layout: FlameLayout | null;
  setData(data: Profile | FlameLayout, opts?: SetDataOptions): void;
  /** zoom to a frame by its path of names (root first); [] or null resets. Returns false when the path does not exist. */
  zoomTo(path: readonly string[] | null): boolean;
  resetZoom(): void;
  /** the current zoom path ([] when not zoomed). */
  zoomPath(): string[];
  /** highlight frames matching a regex (a string is compiled as a regex; null/'' clears). */
  search(re: RegExp | string | null): MatchInfo;
  setOrientation(o: Orientation): void;
  setSort(s: SortOrder): void;
  setPalette(p: PaletteName | 'auto'): void;
  /** the frame at a client (viewport) point, or null. */
  frameAt(clientX: number, clientY: number): FrameInfo | null;
  /** the frame's drawn rectangle in client (viewport) coordinates, or null when not drawn. */
  frameRect(path: readonly string[]): { x: number; y: number; width: number; height: number } | null;
  on<K extends keyof FlameGraphEvents>(ev: K, cb: (v: FlameGraphEvents[K]) => void): () => void;
  redraw(): void;
  destroy(): void;
}

function isFlameLayout(d: unknown): d is FlameLayout {
  return !!d && (d as FlameLayout).firstChild instanceof Int32Array && (d as FlameLayout).x0 instanceof Float64Array && !!(d as FlameLayout).tree;
}

const textColors = new Map<string, string>();
/** black text on light fills, white on dark ones (relative luminance of an rgb(...) colour). */
function textColor(fill: string): string {
  let c = textColors.get(fill);
  if (c === undefined) {
    const m = /(\d+),\s*(\d+),\s*(\d+)/.exec(fill);
    const lum = m ? (0.2126 * +m[1] + 0.7152 * +m[2] + 0.0722 * +m[3]) / 255 : 1;
    c = lum < 0.42 ? '#fff' : '#000';
    textColors.set(fill, c);
  }
  return c;
}

const FONT_PX = 12;
const FONT = `${FONT_PX}px "DejaVu Sans Mono", Menlo, Consolas, monospace`;

export function createFlameGraph(container: HTMLElement, options: FlameGraphOptions = {}): FlameGraph {
  checkContainer(container, 'createFlameGraph');
  const opts = {
    palette: options.palette ?? 'auto',
    orientation: options.orientation ?? 'flame',
    sort: options.sort ?? 'name',
    rowHeight: options.rowHeight ?? 17,
    minFrameWidth: options.minFrameWidth ?? 0.5,
    toolbar: options.toolbar ?? true,
    diffColorBy: options.diffColorBy ?? 'self',
  };
  if (opts.orientation !== 'flame' && opts.orientation !== 'icicle')
    throw new RangeError(`orientation must be 'flame' or 'icicle', got ${String(opts.orientation)}`);
  if (!(opts.rowHeight >= 8)) throw new RangeError('rowHeight must be a number >= 8 (CSS px)');

  const emitter = new Emitter<FlameGraphEvents>();
  const root = el(
    'div',
    { 'data-testid': 'flamegraph', 'data-state': 'empty', class: 'bpfs-flamegraph' },
    {
      position: 'relative',
      fontFamily: 'system-ui, sans-serif',
      fontSize: '12px',
      color: '#222',
    },
  );
  const toolbar = el(
    'div',
    { class: 'bpfs-fg-toolbar' },
    {
      display: opts.toolbar ? 'flex' : 'none',
      gap: '8px',
      alignItems: 'center',
      padding: '4px 0',
    },
  );
  const title = el('span', { 'data-testid': 'flamegraph-title' }, { fontWeight: '600', flex: '1' }, options.title ?? '');
  const resetBtn = el('button', { type: 'button', 'data-testid': 'reset-zoom', disabled: '' }, {}, 'Reset zoom');
  const searchInput = el(
    'input',
    { type: 'search', placeholder: 'Search (regex)', 'data-testid': 'search-input', 'aria-label': 'Search frames (regular expression)' },
    { width: '14em' },
  );
  const matchEl = el('span', { 'data-testid': 'search-match', 'aria-live': 'polite' }, { minWidth: '9em', color: '#a0a' });
  toolbar.append(title, searchInput, matchEl, resetBtn);
  const wrap = el('div', { class: 'bpfs-fg-canvas' }, { position: 'relative', width: '100%' });
  const canvas = el('canvas', { role: 'img', 'aria-label': 'Flame graph' }, { display: 'block', cursor: 'pointer' });
  const tooltip = el(
    'div',
    { 'data-testid': 'flamegraph-tooltip', role: 'tooltip' },
    {
      ...TOOLTIP_STYLE,
      padding: '4px 6px',
      maxWidth: '40em',
      whiteSpace: 'pre-wrap',
      wordBreak: 'break-all',
      boxShadow: '0 1px 4px rgba(0,0,0,0.25)',
      zIndex: '10',
    },
  );
  const details = el(
    'div',
    { 'data-testid': 'flamegraph-details' },
    { minHeight: '1.4em', padding: '2px 0', whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' },
    '\u00a0',
  );
  // hover outline: a positioned box over the frame, so hovering never redraws the canvas
  const hoverBox = el(
    'div',
    { 'data-testid': 'flamegraph-hover' },
    {
      position: 'absolute',
      display: 'none',
      pointerEvents: 'none',
      boxSizing: 'border-box',
      border: '1px solid rgba(0,0,0,0.8)',
    },
  );
  wrap.append(canvas, hoverBox, tooltip);
  // without the toolbar its elements stay detached, so a page with its own search box and reset
  // button (same test ids) has each id once
  if (opts.toolbar) root.append(toolbar);
  root.append(wrap, details);
  container.appendChild(root);

  let profile: Profile | null = null;
  let baseline: Profile | undefined;
  let normalize = false;
  let tree: FlameLayout | null = null;
  let zoom = 0;
  /** the node under the pointer (its outline follows redraws: live updates, zoom, resize), -1 for none */
  let hovered = -1;
  let searchRe: RegExp | null = null;
  let searchRes: SearchResult | null = null;
  let orientation: Orientation = opts.orientation;
  let sort: SortOrder = opts.sort;
  let palette: PaletteName | 'auto' = opts.palette;
  let colorCache: (string | undefined)[] = [];
  let width = 0;
  let destroyed = false;
  let charW = 7.2;

  const ctx0 = canvas.getContext('2d');
  if (ctx0) {
    ctx0.font = FONT;
    charW = ctx0.measureText('MMMMMMMMMM').width / 10 || 7.2;
  }

  const setState = (s: string) => root.setAttribute('data-state', s);

  function effectivePalette(): PaletteName {
    if (palette !== 'auto') return palette;
    return tree?.baseTotal ? 'diff' : paletteForTool(profile?.meta?.tool);
  }

  function info(node: number): FrameInfo {
    const t = tree!;
    const f = node === 0 ? { name: 'all', kind: 'unknown' as const } : t.tree.frames[t.tree.frame[node]];
    const grand = t.total[0];
    const fi: FrameInfo = {
      path: nodePath(t.tree, node),
      name: f.name,
      kind: f.kind,
      depth: t.tree.depth[node],
      value: t.total[node],
      self: t.self[node],
      share: grand > 0 ? t.total[node] / grand : 0,
      unit: t.unit,
    };
    if (t.baseTotal) {
      fi.baseValue = t.baseTotal[node];
      fi.delta = t.total[node] - t.baseTotal[node];
    }
    return fi;
  }

  function describe(fi: FrameInfo): string {
    // an inlined function (DWARF): it ran inside the frame below it, not as a call of its own
    // a Python function (CPython's frames, named `qualname (file)`)
    const tag = fi.kind === 'inline' ? ' [inlined]' : fi.kind === 'python' ? ' [Python]' : '';
    let s = `${fi.name}${tag} (${formatValue(fi.value, fi.unit)}, ${formatPercent(fi.share)})`;
    if (fi.self > 0 && fi.self !== fi.value) s += `, self ${formatValue(fi.self, fi.unit)}`;
    if (fi.delta !== undefined && fi.baseValue !== undefined) {
      const sign = fi.delta > 0 ? '+' : fi.delta < 0 ? '−' : '±';
      const rel = fi.baseValue > 0 ? ` (${sign}${formatPercent(Math.abs(fi.delta) / fi.baseValue)})` : fi.delta > 0 ? ' (new)' : '';
      s += `, ${sign}${formatValue(Math.abs(fi.delta), fi.unit)} vs baseline${rel}`;
    }
    return s;
  }

  function rowY(depth: number): number {
    const t = tree!;
    return orientation === 'icicle' ? depth * opts.rowHeight : (t.maxDepth - depth) * opts.rowHeight;
  }

  function currentWidth(): number {
    return options.width ?? (wrap.clientWidth || container.clientWidth || 800);
  }

  /** view transform: x in weight units → CSS px */
  function view() {
    const t = tree!;
    const zx = t.x0[zoom];
    const zt = t.total[zoom] || 1;
    const scale = width / zt;
    return { zx, scale };
  }

  // scratch buffers for a draw: node ids and x/w in px
  let visNodes = new Int32Array(4096);
  let visX = new Float64Array(4096);
  let visW = new Float64Array(4096);

  function colorOf(node: number, pal: PaletteName): string {
    const t = tree!;
    if (searchRes?.hit[node]) return SEARCH_COLOR;
    if (pal === 'diff' && t.baseTotal && t.baseSelf) {
      const bySelf = opts.diffColorBy === 'self';
      const d = bySelf ? t.self[node] - t.baseSelf[node] : t.total[node] - t.baseTotal[node];
      return diffColor(d, (bySelf ? t.maxAbsDeltaSelf : t.maxAbsDeltaTotal) ?? 0);
    }
    // one colour per (frame, waker part); the root's frame is -1
    const key = (t.tree.frame[node] + 1) * 2 + t.tree.waker[node];
    let c = colorCache[key];
    if (c === undefined) {
      c = nodeColor(t.tree, node, pal);
      colorCache[key] = c;
    }
    return c;
  }

  function draw(): void {
    if (destroyed) return;
    const t0 = performance.now();
    const t = tree;
    width = currentWidth();
    if (!t || t.total[0] <= 0) {
      hoverBox.style.display = 'none';
      const ctx = sizeCanvas(canvas, width, opts.rowHeight * 2);
      ctx.clearRect(0, 0, width, opts.rowHeight * 2);
      ctx.font = FONT;
      ctx.fillStyle = '#666';
      ctx.textBaseline = 'middle';
      ctx.fillText(t ? 'No samples in this profile' : '', 4, opts.rowHeight);
      root.setAttribute('data-frames', '0');
      if (t) setState('ready');
      return;
    }
    const rh = opts.rowHeight;
    const height = (t.maxDepth + 1) * rh;
    const ctx = sizeCanvas(canvas, width, height);
    ctx.clearRect(0, 0, width, height);
    const pal = effectivePalette();
    const { zx, scale } = view();
    const minW = opts.minFrameWidth;

    // 1. collect visible nodes: ancestors of the zoomed node (full width), then its subtree
    let n = 0;
    const depth = t.tree.depth;
    const push = (node: number, x: number, w: number) => {
      if (n === visNodes.length) {
        const cap = n * 2;
        const a = new Int32Array(cap);
        a.set(visNodes);
        visNodes = a;
        const b = new Float64Array(cap);
        b.set(visX);
        visX = b;
        const c = new Float64Array(cap);
        c.set(visW);
        visW = c;
      }
      visNodes[n] = node;
      visX[n] = x;
      visW[n] = w;
      n++;
    };
    {
      const anc: number[] = [];
      for (let a = t.tree.parent[zoom]; a !== -1; a = t.tree.parent[a]) anc.push(a);
      anc.reverse();
      for (const a of anc) push(a, 0, width);
    }
    const stackN: number[] = [zoom];
    while (stackN.length) {
      const node = stackN.pop()!;
      const w = t.total[node] * scale;
      const x = (t.x0[node] - zx) * scale;
      push(node, node === zoom ? 0 : x, node === zoom ? width : w);
      for (let c = t.firstChild[node]; c !== -1; c = t.nextSibling[c]) {
        if (t.total[c] * scale >= minW) stackN.push(c);
      }
    }

    // 2. rectangles (dim the ancestors of a zoomed node, as flamegraph.pl does)
    const zoomDepth = depth[zoom];
    let lastFill = '';
    for (let i = 0; i < n; i++) {
      const node = visNodes[i];
      const c = colorOf(node, pal);
      const dim = depth[node] < zoomDepth;
      const fill = dim ? c.replace('rgb(', 'rgba(').replace(')', ',0.55)') : c;
      if (fill !== lastFill) {
        ctx.fillStyle = fill;
        lastFill = fill;
      }
      const w = visW[i];
      ctx.fillRect(visX[i], rowY(depth[node]), w > 1.5 ? w - 0.5 : w, rh - 1);
    }

    // 3. labels: truncated to the frame width, drawn as text (white on dark frames)
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const minLabel = charW * 3 + 6;
    let lastText = '';
    for (let i = 0; i < n; i++) {
      const w = visW[i];
      if (w < minLabel) continue;
      const node = visNodes[i];
      const tc = textColor(colorOf(node, pal));
      if (tc !== lastText) {
        ctx.fillStyle = tc;
        lastText = tc;
      }
      const name = node === 0 ? 'all' : t.tree.frames[t.tree.frame[node]].name;
      const fit = Math.floor((w - 6) / charW);
      const label = name.length <= fit ? name : name.slice(0, Math.max(0, fit - 2)) + '..';
      ctx.fillText(label, visX[i] + 3, rowY(depth[node]) + rh / 2, w - 4);
    }

    const ms = performance.now() - t0;
    root.setAttribute('data-frames', String(n));
    root.setAttribute('data-draw-ms', ms.toFixed(1));
    canvas.setAttribute('aria-label', `Flame graph of ${formatValue(t.total[0], t.unit)}, ${n} frames drawn`);
    placeHover();
    setState('ready');
    emitter.emit('draw', { ms, frames: n });
  }

  /** node under a point in canvas CSS px */
  function hit(px: number, py: number): number {
    const t = tree;
    if (!t || t.total[0] <= 0) return -1;
    const rh = opts.rowHeight;
    const row = Math.floor(py / rh);
    const depth = orientation === 'icicle' ? row : t.maxDepth - row;
    if (depth < 0 || depth > t.maxDepth) return -1;
    const zd = t.tree.depth[zoom];
    if (depth <= zd) {
      let a = zoom;
      while (t.tree.depth[a] > depth) a = t.tree.parent[a];
      return px >= 0 && px <= width ? a : -1;
    }
    const { zx, scale } = view();
    const xu = px / scale + zx;
    let node = zoom;
    while (t.tree.depth[node] < depth) {
      let next = -1;
      for (let c = t.firstChild[node]; c !== -1; c = t.nextSibling[c]) {
        if (xu >= t.x0[c] && xu < t.x0[c] + t.total[c]) {
          next = c;
          break;
        }
      }
      if (next === -1) return -1;
      node = next;
    }
    if (t.total[node] * scale < opts.minFrameWidth) return -1;
    return node;
  }

  /** a node's drawn rectangle in canvas CSS px, or null when it is not drawn in the current view */
  /** The hover outline on the hovered node where it is drawn now (frames move on zoom, resize and
   * live updates), hidden when it is not drawn. */
  function placeHover(): void {
    const hr = hovered >= 0 ? nodeRect(hovered) : null;
    if (!hr) {
      hoverBox.style.display = 'none';
      return;
    }
    hoverBox.style.left = `${hr.x}px`;
    hoverBox.style.top = `${hr.y}px`;
    hoverBox.style.width = `${Math.max(1, hr.w)}px`;
    hoverBox.style.height = `${opts.rowHeight - 1}px`;
    hoverBox.style.display = 'block';
  }

  function nodeRect(node: number): { x: number; y: number; w: number } | null {
    const t = tree;
    if (!t) return null;
    const zd = t.tree.depth[zoom];
    if (t.tree.depth[node] <= zd) {
      let a = zoom;
      while (t.tree.depth[a] > t.tree.depth[node]) a = t.tree.parent[a];
      if (a !== node) return null;
      return { x: 0, y: rowY(t.tree.depth[node]), w: width };
    }
    let a = node;
    while (t.tree.depth[a] > zd) a = t.tree.parent[a];
    if (a !== zoom) return null;
    const { zx, scale } = view();
    const w = t.total[node] * scale;
    if (w < opts.minFrameWidth) return null;
    return { x: (t.x0[node] - zx) * scale, y: rowY(t.tree.depth[node]), w };
  }

  function localPoint(clientX: number, clientY: number) {
    const r = canvas.getBoundingClientRect();
    return { x: clientX - r.left, y: clientY - r.top };
  }

  function updateMatchText() {
    if (!searchRe || !searchRes) {
      matchEl.textContent = '';
      root.removeAttribute('data-match-share');
      return;
    }
    matchEl.textContent = `Matched: ${(searchRes.share * 100).toFixed(1)}%`;
    root.setAttribute('data-match-share', searchRes.share.toFixed(6));
  }

  function setZoomNode(node: number, emit: boolean) {
    zoom = node;
    if (tree) root.setAttribute('data-zoom', JSON.stringify(nodePath(tree.tree, node)));
    if (node === 0) resetBtn.setAttribute('disabled', '');
    else resetBtn.removeAttribute('disabled');
    draw();
    if (emit) emitter.emit('zoom', node === 0 ? null : info(node));
  }

  // --- events
  const onMove = (ev: MouseEvent) => {
    const p = localPoint(ev.clientX, ev.clientY);
    const node = hit(p.x, p.y);
    if (node < 0) {
      hovered = -1;
      tooltip.style.display = 'none';
      hoverBox.style.display = 'none';
      details.textContent = '\u00a0';
      emitter.emit('hover', null);
      return;
    }
    const fi = info(node);
    hovered = node;
    placeHover();
    const text = describe(fi);
    tooltip.textContent = text;
    tooltip.style.display = 'block';
    const tw = tooltip.offsetWidth;
    const left = p.x + 14 + tw > width ? Math.max(0, p.x - tw - 8) : p.x + 14;
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${p.y + 16}px`;
    details.textContent = text;
    emitter.emit('hover', fi);
  };
  const onLeave = () => {
    hovered = -1;
    tooltip.style.display = 'none';
    hoverBox.style.display = 'none';
    details.textContent = '\u00a0';
    emitter.emit('hover', null);
  };
  const onClick = (ev: MouseEvent) => {
    const p = localPoint(ev.clientX, ev.clientY);
    const node = hit(p.x, p.y);
    if (node < 0) return;
    const fi = info(node);
    emitter.emit('click', fi);
    if (node !== zoom) setZoomNode(node, true);
  };
  const onKey = (ev: KeyboardEvent) => {
    // Escape: clear the search first, then the zoom (keyboard users get both without the mouse)
    if (ev.key !== 'Escape') return;
    if (searchRe) api.search(null);
    else if (zoom !== 0) api.resetZoom();
  };
  canvas.addEventListener('mousemove', onMove);
  canvas.addEventListener('mouseleave', onLeave);
  canvas.addEventListener('click', onClick);
  root.addEventListener('keydown', onKey);
  canvas.tabIndex = 0;
  resetBtn.addEventListener('click', () => api.resetZoom());
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      try {
        api.search(searchInput.value || null);
        searchInput.setCustomValidity('');
        searchInput.title = '';
      } catch (err) {
        searchInput.setCustomValidity((err as Error).message);
        searchInput.title = (err as Error).message;
        matchEl.textContent = 'invalid regex';
      }
    }, 120);
  });

  let ro: ResizeObserver | undefined;
  if (options.width === undefined && typeof ResizeObserver !== 'undefined') {
    let lastW = -1;
    ro = new ResizeObserver(() => {
      const w = currentWidth();
      if (w !== lastW && tree) {
        lastW = w;
        draw();
      }
      lastW = w;
    });
    ro.observe(wrap);
  }

  /** Draw `next` from now on; with `keep`, the zoom path and the search carry over where they still exist. */
  function adopt(next: FlameLayout, keep: boolean) {
    const prevZoom = keep && tree ? nodePath(tree.tree, zoom) : [];
    tree = next;
    colorCache = [];
    zoom = 0;
    hovered = -1; // node ids of the new layout differ: the next mousemove places the outline again
    if (prevZoom.length) {
      const z = findNode(next.tree, prevZoom);
      if (z > 0) zoom = z;
    }
    searchRes = keep && searchRe ? searchTree(next.tree, searchRe, next.total) : null;
    if (!keep) {
      searchRe = null;
      searchInput.value = '';
    }
    updateMatchText();
  }

  function rebuild(keep: boolean) {
    if (profile) adopt(buildFlameLayout(profile, { sort, baseline, normalize }), keep);
  }

  const api: FlameGraph = {
    element: root,
    get layout() {
      return tree;
    },
    setData(data, o = {}) {
      if (destroyed) throw new Error('flame graph was destroyed');
      setState('loading');
      const keep = o.keepView ?? true;
      if (isFlameLayout(data)) {
        if (o.baseline) throw new TypeError('setData: pass a Profile (not a FlameLayout) together with a baseline');
        profile = null;
        baseline = undefined;
        sort = data.sort;
        adopt(data, keep);
      } else {
        if (!data || !Array.isArray((data as Profile).stacks)) {
          setState('error');
          throw new TypeError('setData: expected a Profile (frames, stacks, unit) or a FlameLayout from buildFlameLayout()');
        }
        profile = data;
        baseline = o.baseline;
        normalize = !!o.normalize;
        rebuild(keep);
      }
      setZoomNode(zoom, false);
    },
    zoomTo(path) {
      if (!tree) return false;
      if (!path || path.length === 0) {
        setZoomNode(0, true);
        return true;
      }
      const node = findNode(tree.tree, path);
      if (node < 0) return false;
      setState('drawing');
      setZoomNode(node, true);
      return true;
    },
    resetZoom() {
      if (!tree) return;
      setState('drawing');
      setZoomNode(0, true);
    },
    zoomPath() {
      return tree ? nodePath(tree.tree, zoom) : [];
    },
    search(re) {
      if (re === null || re === '') {
        searchRe = null;
        searchRes = null;
        if (searchInput.value) searchInput.value = '';
      } else {
        if (typeof re === 'string') {
          try {
            searchRe = new RegExp(re);
          } catch (err) {
            throw new SyntaxError(`search: invalid regular expression ${JSON.stringify(re)}: ${(err as Error).message}`);
          }
          if (searchInput.value !== re) searchInput.value = re;
        } else if (re instanceof RegExp) {
          searchRe = re;
          if (searchInput.value !== re.source) searchInput.value = re.source;
        } else {
          throw new TypeError('search: expected a RegExp, a string or null');
        }
        searchRes = tree ? searchTree(tree.tree, searchRe, tree.total) : null;
      }
      updateMatchText();
      if (tree) {
        setState('drawing');
        draw();
      }
      const mi: MatchInfo = searchRes ? { matched: searchRes.matched, share: searchRes.share, nodes: searchRes.nodes } : { matched: 0, share: 0, nodes: 0 };
      emitter.emit('search', { ...mi, pattern: searchRe ? searchRe.source : '' });
      return mi;
    },
    setOrientation(o) {
      if (o !== 'flame' && o !== 'icicle') throw new RangeError(`orientation must be 'flame' or 'icicle', got ${String(o)}`);
      orientation = o;
      root.setAttribute('data-orientation', o);
      if (tree) {
        setState('drawing');
        draw();
      }
    },
    setSort(s) {
      if (s !== 'name' && s !== 'weight') throw new RangeError(`sort must be 'name' or 'weight', got ${String(s)}`);
      if (s === sort) return;
      if (!profile && tree) throw new Error('setSort: the flame graph was given a FlameLayout; rebuild it with buildFlameLayout(profile, { sort }) instead');
      sort = s;
      root.setAttribute('data-sort', s);
      if (profile) {
        setState('drawing');
        rebuild(true);
        setZoomNode(zoom, false);
      }
    },
    setPalette(p) {
      palette = p;
      colorCache = [];
      if (tree) draw();
    },
    frameAt(clientX, clientY) {
      const p = localPoint(clientX, clientY);
      const node = hit(p.x, p.y);
      return node < 0 ? null : info(node);
    },
    frameRect(path) {
      const t = tree;
      if (!t) return null;
      const node = findNode(t.tree, path);
      if (node < 0) return null;
      const nr = nodeRect(node);
      if (!nr) return null;
      const r = canvas.getBoundingClientRect();
      return { x: r.left + nr.x, y: r.top + nr.y, width: nr.w, height: opts.rowHeight - 1 };
    },
    on(ev, cb) {
      return emitter.on(ev, cb);
    },
    redraw() {
      draw();
    },
    destroy() {
      destroyed = true;
      ro?.disconnect();
      clearTimeout(searchTimer);
      emitter.clear();
      root.remove();
      tree = null;
      profile = null;
    },
  };
  root.setAttribute('data-orientation', orientation);
  root.setAttribute('data-sort', sort);
  return api;
}
