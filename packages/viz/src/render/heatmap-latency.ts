/**
 * Latency heat map (biolatency over time): one column per interval, one row per log2 latency
 * bucket (low latencies at the bottom), colour = count. Hover shows the interval, the bucket range
 * and the count; optional percentile lines (computed per column from the histogram, interpolated
 * inside the bucket in log space); clicking a column reports it.
 */
import { axisBottom, axisLeft, line, scaleLinear, scaleUtc, utcFormat } from 'd3';
import type { HistogramSeries } from '../model/types.js';
import { checkContainer, Emitter } from './dom.js';
import {
  cellClientRect,
  heatColor,
  hideTooltip,
  makeHeatmapLayout,
  plotWidth,
  redrawOnResize,
  removeHeatmap,
  showTooltip,
  sizePlot,
} from './heatmap-common.js';

export type LatencyUnit = 'nsecs' | 'usecs' | 'msecs';

export interface LatencyGridInput {
  unit: LatencyUnit;
  /** epoch ms: start and end of each column's interval. */
  starts: readonly number[];
  ends: readonly number[];
  /** number of log2 slots per column; slot i covers [2^i, 2^(i+1) − 1] (slot 0: [0, 1]). */
  slots: number;
  /** counts, column-major: counts[column * slots + slot]. */
  counts: ArrayLike<number>;
}

/** The ops module's LatencyGrid (latencyGrid(series)) is accepted as is. */
export interface LatencyGridLike {
  unit: 'usecs' | 'msecs';
  columns: readonly { start: number; end: number }[];
  buckets: number;
  values: ArrayLike<number>;
}

export type LatencyData = LatencyGridInput | LatencyGridLike | HistogramSeries;

export interface LatencyColumn {
  index: number;
  start: number;
  end: number;
  /** counts per slot of this column. */
  slots: number[];
  total: number;
}

export interface LatencyHover {
  column: number;
  slot: number;
  start: number;
  end: number;
  /** bucket bounds in the grid's unit. */
  low: number;
  high: number;
  count: number;
}

export interface LatencyHeatmapOptions {
  onHover?: (h: LatencyHover | null) => void;
  onColumnClick?: (c: LatencyColumn) => void;
  /** percentile lines to draw, e.g. [50, 90, 99]. */
  percentiles?: number[];
  /** for a HistogramSeries with several keys (disks/flags): which key; default: all keys summed. */
  key?: string;
  /** row height in CSS px (default 14). */
  rowHeight?: number;
  title?: string;
  width?: number;
}

export interface LatencyHeatmapEvents extends Record<string, unknown> {
  hover: LatencyHover | null;
  columnClick: LatencyColumn;
}

export interface LatencyHeatmap {
  readonly element: HTMLElement;
  setGrid(grid: LatencyData): void;
  setPercentiles(p: number[]): void;
  /** the grid as drawn (after converting a HistogramSeries). */
  grid(): LatencyGridInput;
  /** percentile value per column (in the grid's unit), NaN for empty columns. */
  percentile(p: number): number[];
  cellRect(column: number, slot: number): { x: number; y: number; width: number; height: number } | null;
  on<K extends keyof LatencyHeatmapEvents>(ev: K, cb: (v: LatencyHeatmapEvents[K]) => void): () => void;
  redraw(): void;
  destroy(): void;
}

const UNIT_LABEL: Record<LatencyUnit, string> = { nsecs: 'ns', usecs: 'µs', msecs: 'ms' };

export function slotBounds(slot: number): [number, number] {
  if (slot === 0) return [0, 1];
  return [2 ** slot, 2 ** (slot + 1) - 1];
}

/** A HistogramSeries (bcc log2 histograms per interval) → a grid, one column per interval start. */
export function latencyGridFromSeries(series: HistogramSeries, key?: string): LatencyGridInput {
  if (!series || !Array.isArray(series.intervals))
    throw new TypeError('latency heat map: expected a HistogramSeries { unit, keyKind, intervals[] } or a grid { unit, starts, ends, slots, counts }');
  const cols = new Map<number, { end: number; slots: number[] }>();
  let slots = 0;
  for (const iv of series.intervals) {
    if (key !== undefined && iv.key !== key) continue;
    let c = cols.get(iv.start);
    if (!c) cols.set(iv.start, (c = { end: iv.end, slots: [] }));
    c.end = Math.max(c.end, iv.end);
    iv.slots.forEach((v: number, i: number) => {
      c!.slots[i] = (c!.slots[i] ?? 0) + v;
    });
    slots = Math.max(slots, iv.slots.length);
  }
  const starts = [...cols.keys()].sort((a, b) => a - b);
  const counts = new Float64Array(starts.length * slots);
  starts.forEach((s, ci) => {
    const c = cols.get(s)!;
    for (let i = 0; i < slots; i++) counts[ci * slots + i] = c.slots[i] ?? 0;
  });
  return { unit: series.unit, starts, ends: starts.map((s) => cols.get(s)!.end), slots, counts };
}

export function checkLatencyGrid(g: LatencyGridInput): void {
  if (!g || typeof g !== 'object') throw new TypeError('latency heat map: expected a grid');
  if (!(g.unit in UNIT_LABEL)) throw new RangeError(`latency heat map: unit must be nsecs, usecs or msecs, got ${String(g.unit)}`);
  if (!Number.isInteger(g.slots) || g.slots < 0 || g.slots > 64)
    throw new RangeError(`latency heat map: slots must be an integer 0..64, got ${String(g.slots)}`);
  if (!Array.isArray(g.starts) || !Array.isArray(g.ends) || g.starts.length !== g.ends.length)
    throw new RangeError('latency heat map: starts and ends must be arrays of the same length');
  if (!g.counts || g.counts.length !== g.starts.length * g.slots)
    throw new RangeError(
      `latency heat map: counts must have columns × slots = ${g.starts.length * g.slots} entries (column-major), got ${g.counts ? g.counts.length : 'none'}`,
    );
}

/**
 * The p-th percentile of one log2 histogram column, in slot units (fractional position: slot i +
 * fraction, 0 = bottom of slot 0), or NaN when the column is empty.
 */
export function percentilePosition(counts: ArrayLike<number>, offset: number, slots: number, p: number): number {
  let total = 0;
  for (let i = 0; i < slots; i++) total += counts[offset + i];
  if (!(total > 0)) return NaN;
  const target = (p / 100) * total;
  let cum = 0;
  for (let i = 0; i < slots; i++) {
    const c = counts[offset + i];
    if (c > 0 && cum + c >= target) return i + Math.max(0, Math.min(1, (target - cum) / c));
    cum += c;
  }
  return slots;
}

/** value at a fractional slot position (log-space interpolation inside the bucket). */
export function positionValue(pos: number): number {
  if (!Number.isFinite(pos)) return NaN;
  const i = Math.floor(pos);
  const f = pos - i;
  if (i === 0) return f * 2;
  return 2 ** i * 2 ** f;
}

const P_COLORS = ['#1a7f37', '#0550ae', '#8250df', '#000000'];

export function createLatencyHeatmap(container: HTMLElement, grid: LatencyData, options: LatencyHeatmapOptions = {}): LatencyHeatmap {
  checkContainer(container, 'createLatencyHeatmap');
  const l = makeHeatmapLayout(container, 'latency-heatmap', options.title);
  const emitter = new Emitter<LatencyHeatmapEvents>();
  const rowH = options.rowHeight ?? 14;
  let percentiles = (options.percentiles ?? []).slice();
  let g!: LatencyGridInput;
  let lo = 0; // lowest slot drawn
  let hi = 0; // highest slot drawn
  let cellW = 10;
  let destroyed = false;

  function toGrid(x: LatencyData): LatencyGridInput {
    if (!x || typeof x !== 'object')
      throw new TypeError('latency heat map: expected a HistogramSeries, latencyGrid(series) or { unit, starts, ends, slots, counts }');
    let gg: LatencyGridInput;
    if ('intervals' in x) gg = latencyGridFromSeries(x, options.key);
    else if ('buckets' in x && 'values' in x) {
      gg = { unit: x.unit, starts: x.columns.map((c) => c.start), ends: x.columns.map((c) => c.end), slots: x.buckets, counts: x.values };
    } else gg = x;
    checkLatencyGrid(gg);
    return gg;
  }

  function checkPercentiles(p: number[]) {
    for (const v of p) if (!(v > 0 && v < 100)) throw new RangeError(`percentiles must be numbers between 0 and 100 (exclusive), got ${String(v)}`);
  }

  const cols = () => g.starts.length;
  const slotY = (slotPos: number) => (hi + 1 - slotPos) * rowH; // slot position → y (px) from plot top

  function draw() {
    if (destroyed) return;
    l.root.setAttribute('data-state', 'drawing');
    // rows: the slots that have data (at least one row)
    lo = g.slots;
    hi = -1;
    let max = 0;
    for (let c = 0; c < cols(); c++) {
      for (let s = 0; s < g.slots; s++) {
        const v = g.counts[c * g.slots + s];
        if (v > 0) {
          if (s < lo) lo = s;
          if (s > hi) hi = s;
          if (v > max) max = v;
        }
      }
    }
    if (hi < 0) {
      lo = 0;
      hi = Math.max(0, Math.min(g.slots - 1, 9));
    }
    const nCols = Math.max(1, cols());
    cellW = Math.max(2, Math.min(40, plotWidth(l, container, options.width) / nCols));
    const plotW = cellW * nCols;
    const plotH = (hi - lo + 1) * rowH;
    const { ctx, xAxis, yAxis, xTitle, overlay } = sizePlot(l, plotW, plotH);
    for (let c = 0; c < cols(); c++) {
      for (let s = lo; s <= hi; s++) {
        ctx.fillStyle = heatColor(g.counts[c * g.slots + s], max);
        ctx.fillRect(c * cellW, (hi - s) * rowH, cellW - (cellW > 4 ? 1 : 0), rowH - 1);
      }
    }
    // axes
    const unit = UNIT_LABEL[g.unit];
    const y = scaleLinear()
      .domain([lo, hi + 1])
      .range([plotH, 0]);
    const ticks: number[] = [];
    const step = Math.max(1, Math.ceil((hi - lo + 1) / Math.max(1, Math.floor(plotH / 18))));
    for (let s = lo; s <= hi + 1; s += step) ticks.push(s);
    yAxis.call(
      axisLeft(y)
        .tickValues(ticks)
        .tickFormat((d) => fmtLatency(slotBounds(+d)[0], unit)),
    );
    if (cols() > 0) {
      const t0 = g.starts[0];
      const t1 = g.ends[cols() - 1];
      const x = scaleUtc()
        .domain([new Date(t0), new Date(t1)])
        .range([0, plotW]);
      const fmt = utcFormat('%H:%M:%S');
      xAxis.call(
        axisBottom(x)
          .ticks(Math.max(2, Math.floor(plotW / 90)))
          .tickFormat((d) => fmt(d as Date)),
      );
      xTitle('time (UTC)');
    }
    // percentile lines
    const plot = overlay().attr('data-testid', 'percentiles');
    percentiles.forEach((p, k) => {
      const pts: [number, number][] = [];
      for (let c = 0; c < cols(); c++) {
        const pos = percentilePosition(g.counts, c * g.slots, g.slots, p);
        if (Number.isFinite(pos)) pts.push([c * cellW + cellW / 2, slotY(Math.max(lo, Math.min(hi + 1, pos)))]);
      }
      const color = P_COLORS[k % P_COLORS.length];
      plot
        .append('path')
        .attr('d', line()(pts) ?? '')
        .attr('fill', 'none')
        .attr('stroke', color)
        .attr('stroke-width', 1.5)
        .attr('data-percentile', String(p));
      plot
        .append('text')
        .attr('x', plotW + 2)
        .attr('y', pts.length ? pts[pts.length - 1][1] : 0)
        .attr('fill', color)
        .attr('font-size', 10)
        .attr('dominant-baseline', 'middle')
        .text(`p${p}`);
    });
    l.root.setAttribute('data-columns', String(cols()));
    l.root.setAttribute('data-rows', `${lo}-${hi}`);
    l.root.setAttribute('data-max', String(max));
    l.root.setAttribute('data-state', 'ready');
  }

  function cellAt(ev: MouseEvent): { c: number; s: number } | null {
    const r = l.canvas.getBoundingClientRect();
    const c = Math.floor((ev.clientX - r.left) / cellW);
    const s = hi - Math.floor((ev.clientY - r.top) / rowH);
    if (c < 0 || c >= cols() || s < lo || s > hi) return null;
    return { c, s };
  }

  function column(c: number): LatencyColumn {
    const slots = Array.from({ length: g.slots }, (_, i) => g.counts[c * g.slots + i]);
    return { index: c, start: g.starts[c], end: g.ends[c], slots, total: slots.reduce((a, b) => a + b, 0) };
  }

  const onMove = (ev: MouseEvent) => {
    const h = cellAt(ev);
    if (!h) {
      hideTooltip(l);
      return;
    }
    const [low, high] = slotBounds(h.s);
    const count = g.counts[h.c * g.slots + h.s];
    const unit = UNIT_LABEL[g.unit];
    const iso = (t: number) => new Date(t).toISOString().slice(11, 23);
    const r = l.canvas.getBoundingClientRect();
    showTooltip(
      l,
      `interval ${iso(g.starts[h.c])} – ${iso(g.ends[h.c])}\nbucket ${low} – ${high} ${unit}\ncount ${count}`,
      ev.clientX - r.left,
      ev.clientY - r.top,
    );
    const hv: LatencyHover = { column: h.c, slot: h.s, start: g.starts[h.c], end: g.ends[h.c], low, high, count };
    options.onHover?.(hv);
    emitter.emit('hover', hv);
  };
  const onLeave = () => {
    hideTooltip(l);
    options.onHover?.(null);
    emitter.emit('hover', null);
  };
  const onClick = (ev: MouseEvent) => {
    const r = l.canvas.getBoundingClientRect();
    const c = Math.floor((ev.clientX - r.left) / cellW);
    if (c < 0 || c >= cols()) return;
    const col = column(c);
    options.onColumnClick?.(col);
    emitter.emit('columnClick', col);
  };
  l.canvas.addEventListener('mousemove', onMove);
  l.canvas.addEventListener('mouseleave', onLeave);
  l.canvas.addEventListener('click', onClick);

  const ro = redrawOnResize(l, options.width, draw);

  checkPercentiles(percentiles);
  g = toGrid(grid);
  draw();

  return {
    element: l.root,
    setGrid(next) {
      g = toGrid(next);
      draw();
    },
    setPercentiles(p) {
      checkPercentiles(p);
      percentiles = p.slice();
      draw();
    },
    grid: () => g,
    percentile(p) {
      return Array.from({ length: cols() }, (_, c) => positionValue(percentilePosition(g.counts, c * g.slots, g.slots, p)));
    },
    cellRect(c, s) {
      if (c < 0 || c >= cols() || s < lo || s > hi) return null;
      return cellClientRect(l, c, hi - s, cellW, rowH);
    },
    on(ev, cb) {
      return emitter.on(ev, cb);
    },
    redraw: draw,
    destroy() {
      destroyed = true;
      removeHeatmap(l, ro, emitter);
    },
  };
}

/** a bucket bound as a readable duration: 512µs, 1.02ms, 2.1s */
function fmtLatency(v: number, unit: string): string {
  const ns = unit === 'ns' ? v : unit === 'µs' ? v * 1e3 : v * 1e6;
  const p = (x: number) => String(Number(x.toPrecision(3)));
  if (ns >= 1e9) return `${p(ns / 1e9)}s`;
  if (ns >= 1e6) return `${p(ns / 1e6)}ms`;
  if (ns >= 1e3) return `${p(ns / 1e3)}µs`;
  return `${p(ns)}ns`;
}
