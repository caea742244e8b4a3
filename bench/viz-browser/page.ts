/**
 * Browser side of bench/viz-browser: measures our flame graph (decode → tree → first draw → zooms)
 * and, as the alternative we did not choose, d3-flame-graph on a pruned tree. Driven by run.ts.
 */
import { buildTree, decodeProfile, nodePath, prune, toHierarchy, type Profile } from '@bpfscope/viz';
import { createFlameGraph, type FlameGraph } from '@bpfscope/viz/render';
import { flamegraph } from 'd3-flame-graph';
import { select } from 'd3';

const nextFrame = () => new Promise<number>((ok) => requestAnimationFrame(() => ok(performance.now())));

function responseEnd(url: string): number {
  const e = performance.getEntriesByType('resource').filter((r) => r.name.endsWith(url));
  return e.length ? (e[e.length - 1] as PerformanceResourceTiming).responseEnd : NaN;
}

function quantile(a: number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

/** Zoom targets: along the heaviest path and across siblings, deterministic. */
function zoomTargets(fg: FlameGraph, n: number): string[][] {
  const t = fg.layout!;
  const out: string[][] = [];
  const names = (node: number) => nodePath(t.tree, node);
  // children of the root and of the heaviest frames at a few depths
  const level: number[] = [0];
  while (out.length < n && level.length) {
    const next: number[] = [];
    for (const p of level) {
      const kids: number[] = [];
      for (let c = t.firstChild[p]; c !== -1; c = t.nextSibling[c]) kids.push(c);
      kids.sort((a, b) => t.total[b] - t.total[a]);
      for (const c of kids.slice(0, 3)) {
        if (out.length < n) out.push(names(c));
        next.push(c);
      }
    }
    level.splice(0, level.length, ...next.slice(0, 6));
  }
  return out;
}

let current: FlameGraph | null = null;

/** Fetch the compact profile, decode, build the tree and draw; resolves at the first frame after. */
async function loadOurs(url: string) {
  const app = document.getElementById('app')!;
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const arrived = responseEnd(url);
  const tText = performance.now();
  const profile: Profile = decodeProfile(text);
  const tDecode = performance.now();
  const fg = createFlameGraph(app, { title: 'bench' });
  fg.setData(profile);
  const tDraw = performance.now();
  const painted = await nextFrame();
  if (app.querySelector('[data-testid="flamegraph"]')!.getAttribute('data-state') !== 'ready') throw new Error('flame graph not ready');
  current = fg;
  return {
    fetchMs: arrived - t0,
    bytes: text.length,
    textMs: tText - arrived,
    decodeMs: tDecode - tText,
    treeAndDrawMs: tDraw - tDecode,
    firstPaintMs: painted - arrived,
    nodes: fg.layout!.tree.count,
    stacks: profile.stacks.length,
    framesDrawn: Number(app.querySelector('[data-testid="flamegraph"]')!.getAttribute('data-frames')),
  };
}

/** Zoom into `zooms` frames and back; each zoom and each reset is one measured frame (call → next frame). */
async function zoomOurs(zooms: number) {
  const fg = current!;
  const zoomMs: number[] = [];
  const drawMs: number[] = [];
  const off = fg.on('draw', (d) => drawMs.push(d.ms));
  for (const path of zoomTargets(fg, zooms)) {
    for (const target of [path, []]) {
      const a = performance.now();
      if (!fg.zoomTo(target)) throw new Error(`zoom target missing: ${target.join(';')}`);
      const b = await nextFrame();
      zoomMs.push(b - a);
    }
  }
  off();
  return {
    zooms: zoomMs.length,
    zoomMedianMs: quantile(zoomMs, 0.5),
    zoomP95Ms: quantile(zoomMs, 0.95),
    zoomMaxMs: Math.max(...zoomMs),
    zoomDrawMedianMs: quantile(drawMs, 0.5),
    zoomDrawP95Ms: quantile(drawMs, 0.95),
  };
}

/** The alternative: d3-flame-graph (one SVG element per frame) fed a tree pruned to `maxNodes`. */
async function runD3(url: string, maxNodes: number, zooms: number) {
  const app = document.getElementById('app')!;
  const res = await fetch(url);
  const text = await res.text();
  const arrived = responseEnd(url);
  const profile = decodeProfile(text);
  const tDecode = performance.now();
  const pruned = buildTree(prune(profile, { maxNodes }));
  const h = toHierarchy(pruned);
  const tPrune = performance.now();
  const chart = flamegraph().width(1200).cellHeight(17).transitionDuration(0).minFrameSize(1).sort(true);
  select(app).datum(h).call(chart);
  const painted = await nextFrame();
  const svgNodes = app.querySelectorAll('svg g').length;
  const zoomMs: number[] = [];
  // zoom into the widest children of the root, then reset (transitionDuration 0: applied on the next timer frame)
  const kids = [...app.querySelectorAll('svg g.frame')].slice(1, 1 + zooms) as SVGGElement[];
  for (const g of kids) {
    const d = select(g).datum() as any;
    for (const act of [() => (chart as any).zoomTo(d), () => (chart as any).resetZoom()]) {
      const a = performance.now();
      act();
      await nextFrame();
      const b = await nextFrame();
      zoomMs.push(b - a);
    }
  }
  return {
    decodeMs: tDecode - arrived,
    pruneMs: tPrune - tDecode,
    keptNodes: pruned.count,
    firstPaintMs: painted - arrived,
    svgGroups: svgNodes,
    zooms: zoomMs.length,
    zoomMedianMs: zoomMs.length ? quantile(zoomMs, 0.5) : NaN,
    zoomP95Ms: zoomMs.length ? quantile(zoomMs, 0.95) : NaN,
  };
}

Object.assign(window, { __name: (f: unknown) => f, loadOurs, zoomOurs, runD3, benchReady: true });
