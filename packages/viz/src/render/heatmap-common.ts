/**
 * Shared pieces of the two heat maps: the layered root (canvas for cells, SVG for axes and
 * overlays, a text tooltip) and the colour scale. Cells are painted on canvas (thousands of cells
 * stay cheap); axes, selection outlines and percentile lines are d3-drawn SVG.
 */
import { interpolateOrRd, select, type Selection } from 'd3';
import { el, sizeCanvas, TOOLTIP_STYLE } from './dom.js';

export interface HeatmapLayout {
  root: HTMLElement;
  plot: HTMLDivElement;
  canvas: HTMLCanvasElement;
  svg: Selection<SVGSVGElement, unknown, null, undefined>;
  tooltip: HTMLDivElement;
  details: HTMLDivElement;
}

export const MARGIN = { top: 8, right: 12, bottom: 32, left: 64 };

export function makeHeatmapLayout(container: HTMLElement, testid: string, title?: string): HeatmapLayout {
  const root = el(
    'div',
    { 'data-testid': testid, 'data-state': 'empty' },
    {
      position: 'relative',
      fontFamily: 'system-ui, sans-serif',
      fontSize: '12px',
      color: '#222',
    },
  );
  if (title) root.append(el('div', { 'data-testid': `${testid}-title` }, { fontWeight: '600', padding: '4px 0' }, title));
  const plot = el('div', {}, { position: 'relative', width: '100%' });
  const canvas = el(
    'canvas',
    { role: 'img', 'aria-label': title ?? testid },
    { position: 'absolute', left: `${MARGIN.left}px`, top: `${MARGIN.top}px`, cursor: 'crosshair' },
  );
  const svgEl = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svgEl.style.position = 'absolute';
  svgEl.style.left = '0';
  svgEl.style.top = '0';
  svgEl.style.pointerEvents = 'none';
  svgEl.style.overflow = 'visible';
  const tooltip = el(
    'div',
    { 'data-testid': `${testid}-tooltip`, role: 'tooltip' },
    {
      ...TOOLTIP_STYLE,
      padding: '3px 6px',
      whiteSpace: 'pre',
      zIndex: '10',
    },
  );
  const details = el('div', { 'data-testid': `${testid}-details` }, { minHeight: '1.4em', padding: '2px 0 2px 64px' }, '\u00a0');
  plot.append(canvas, svgEl, tooltip);
  root.append(plot, details);
  container.appendChild(root);
  return { root, plot, canvas, svg: select(svgEl as SVGSVGElement), tooltip, details };
}

/** counts → colour: empty cells light grey, then white-orange-red by sqrt(count / max) (FlameScope-like). */
export function heatColor(count: number, max: number): string {
  if (!(count > 0) || !(max > 0)) return '#f4f4f4';
  const t = Math.sqrt(Math.min(1, count / max));
  return interpolateOrRd(0.12 + 0.88 * t);
}

/** The width the plot may take: `fixed` (the width option), else what the container leaves beside the axes (≥ 200 px). */
export function plotWidth(l: HeatmapLayout, container: HTMLElement, fixed: number | undefined): number {
  return fixed ?? Math.max(200, (l.plot.clientWidth || container.clientWidth || 800) - MARGIN.left - MARGIN.right);
}

type SvgGroup = Selection<SVGGElement, unknown, null, undefined>;

/** What one redraw of a heat map draws on. */
export interface PlotSurface {
  /** the canvas of the cells, sized to the plot and cleared. */
  ctx: CanvasRenderingContext2D;
  /** the SVG group of the x axis, under the plot. */
  xAxis: SvgGroup;
  /** the SVG group of the y axis, left of the plot. */
  yAxis: SvgGroup;
  /** names the x axis, centred under its tick labels. */
  xTitle(text: string): void;
  /** a new SVG group over the plot (its origin at the plot's top-left corner), for overlays. */
  overlay(): SvgGroup;
}

/** Sizes the plot (plotW × plotH px, and the margins for the axes) and starts a redraw: cleared canvas, emptied SVG. */
export function sizePlot(l: HeatmapLayout, plotW: number, plotH: number): PlotSurface {
  l.plot.style.height = `${plotH + MARGIN.top + MARGIN.bottom}px`;
  l.svg.attr('width', plotW + MARGIN.left + MARGIN.right).attr('height', plotH + MARGIN.top + MARGIN.bottom);
  const ctx = sizeCanvas(l.canvas, plotW, plotH);
  ctx.clearRect(0, 0, plotW, plotH);
  l.svg.selectAll('*').remove();
  const overlay = (): SvgGroup => l.svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
  return {
    ctx,
    xAxis: l.svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top + plotH})`),
    yAxis: overlay(),
    xTitle(text: string): void {
      l.svg
        .append('text')
        .attr('x', MARGIN.left + plotW / 2)
        .attr('y', MARGIN.top + plotH + 28)
        .attr('text-anchor', 'middle')
        .attr('font-size', 11)
        .text(text);
    },
    overlay,
  };
}

export function showTooltip(l: HeatmapLayout, text: string, px: number, py: number): void {
  l.tooltip.textContent = text;
  l.tooltip.style.display = 'block';
  const pw = l.plot.clientWidth || 800;
  const tw = l.tooltip.offsetWidth;
  const x = MARGIN.left + px + 14;
  l.tooltip.style.left = `${x + tw > pw ? Math.max(0, MARGIN.left + px - tw - 8) : x}px`;
  l.tooltip.style.top = `${MARGIN.top + py + 14}px`;
  l.details.textContent = text.replace(/\n/g, ' · ');
}

/** Redraw when the plot's width changes, unless the width is fixed; disconnect the observer on destroy. */
export function redrawOnResize(l: HeatmapLayout, fixedWidth: number | undefined, draw: () => void): ResizeObserver | undefined {
  if (fixedWidth !== undefined || typeof ResizeObserver === 'undefined') return undefined;
  let lastW = -1;
  const ro = new ResizeObserver(() => {
    const w = l.plot.clientWidth;
    if (w !== lastW) {
      lastW = w;
      draw();
    }
  });
  ro.observe(l.plot);
  return ro;
}

/** The viewport rectangle of the cell at column `col`, row `row` (from the top) of cells w × h. */
export function cellClientRect(l: HeatmapLayout, col: number, row: number, w: number, h: number): { x: number; y: number; width: number; height: number } {
  const r = l.canvas.getBoundingClientRect();
  return { x: r.left + col * w, y: r.top + row * h, width: w, height: h };
}

/** A heat map's teardown: no more resize redraws, no listeners, its elements gone. */
export function removeHeatmap(l: HeatmapLayout, ro: ResizeObserver | undefined, emitter: { clear(): void }): void {
  ro?.disconnect();
  emitter.clear();
  l.root.remove();
}

export function hideTooltip(l: HeatmapLayout): void {
  l.tooltip.style.display = 'none';
  l.details.textContent = '\u00a0';
}
