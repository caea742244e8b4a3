/**
 * FlameScope-style subsecond offset heat map: one column per second, one row per 1/rows of a
 * second (row 0 at the top = the first ms of each second), colour = samples. The user selects a
 * time range by clicking a start cell then an end cell, or by dragging from one to the other; the
 * range goes to `onSelect` (and the 'select' event) in ms from the grid's start.
 */
import { axisBottom, axisLeft, scaleLinear } from 'd3';
import { checkContainer, el, Emitter } from './dom.js';
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

export interface SubsecondGridInput {
  /** number of columns (whole seconds). */
  seconds: number;
  /** rows per second (FlameScope default 50, i.e. 20 ms per row). */
  rows: number;
  /** samples per cell, column-major: counts[second * rows + row]. */
  counts: ArrayLike<number>;
  /** epoch ms of the grid's first second (optional; shown in the tooltip). */
  startTime?: number;
}

/** The ops module's SubsecondGrid (subsecondGrid(profile)) is accepted as is. */
export interface SubsecondGridLike {
  columns: number;
  rows: number;
  values: ArrayLike<number>;
  startTime?: number;
}

/** Either grid shape → SubsecondGridInput. */
export function toSubsecondGrid(g: SubsecondGridInput | SubsecondGridLike): SubsecondGridInput {
  if (g && typeof g === 'object' && 'values' in g && 'columns' in g && !('counts' in g)) {
    return { seconds: g.columns, rows: g.rows, counts: g.values, startTime: g.startTime };
  }
  return g as SubsecondGridInput;
}

export interface Cell {
  second: number;
  row: number;
}

export interface SubsecondRange {
  /** offset of the range start in ms from the grid start (start of the earlier cell). */
  startMs: number;
  /** offset of the range end in ms (end of the later cell, exclusive). */
  endMs: number;
  /** the two cells, in time order. */
  start: Cell;
  end: Cell;
  /** samples inside the range. */
  samples: number;
}

export interface SubsecondHeatmapOptions {
  onSelect?: (range: SubsecondRange) => void;
  onHover?: (cell: (Cell & { count: number; startMs: number }) | null) => void;
  /** cell height in CSS px (default 8). */
  cellHeight?: number;
  title?: string;
  /** fixed plot width in CSS px; default fills the container. */
  width?: number;
}

export interface SubsecondHeatmapEvents extends Record<string, unknown> {
  select: SubsecondRange;
  hover: (Cell & { count: number; startMs: number }) | null;
}

export interface SubsecondHeatmap {
  readonly element: HTMLElement;
  setGrid(grid: SubsecondGridInput | SubsecondGridLike): void;
  /** set (or clear with null) the highlighted selection programmatically; does not fire onSelect. */
  select(range: { start: Cell; end: Cell } | null): void;
  selection(): SubsecondRange | null;
  /** a cell's rectangle in client (viewport) coordinates. */
  cellRect(second: number, row: number): { x: number; y: number; width: number; height: number };
  on<K extends keyof SubsecondHeatmapEvents>(ev: K, cb: (v: SubsecondHeatmapEvents[K]) => void): () => void;
  redraw(): void;
  destroy(): void;
}

export function checkSubsecondGrid(g: SubsecondGridInput): void {
  if (!g || typeof g !== 'object') throw new TypeError('subsecond heat map: expected a grid { seconds, rows, counts } or subsecondGrid(profile)');
  if (!Number.isInteger(g.seconds) || g.seconds < 0)
    throw new RangeError(`subsecond heat map: seconds must be a non-negative integer, got ${String(g.seconds)}`);
  if (!Number.isInteger(g.rows) || g.rows < 1 || g.rows > 1000)
    throw new RangeError(`subsecond heat map: rows must be an integer 1..1000, got ${String(g.rows)}`);
  if (!g.counts || g.counts.length !== g.seconds * g.rows) {
    throw new RangeError(
      `subsecond heat map: counts must have seconds × rows = ${g.seconds * g.rows} entries (column-major), got ${g.counts ? g.counts.length : 'none'}`,
    );
  }
}

export function createSubsecondHeatmap(
  container: HTMLElement,
  grid: SubsecondGridInput | SubsecondGridLike,
  options: SubsecondHeatmapOptions = {},
): SubsecondHeatmap {
  checkContainer(container, 'createSubsecondHeatmap');
  const l = makeHeatmapLayout(container, 'subsecond-heatmap', options.title);
  const status = el(
    'div',
    { 'data-testid': 'subsecond-heatmap-status', 'aria-live': 'polite' },
    { padding: '2px 0 2px 64px', color: '#1a4fd6' },
    'Click a start cell and an end cell, or drag, to select a time range.',
  );
  l.root.append(status);
  const emitter = new Emitter<SubsecondHeatmapEvents>();
  const cellH = options.cellHeight ?? 8;
  let g: SubsecondGridInput = toSubsecondGrid(grid);
  let max = 0;
  let cellW = 10;
  let plotW = 0;
  let sel: { a: number; b: number } | null = null; // cell indices (time order)
  let pending: number | null = null; // first click of a click-click selection
  let down: number | null = null;
  let dragTo: number | null = null;
  let destroyed = false;

  const rowMs = () => 1000 / g.rows;
  const cellStartMs = (i: number) => Math.floor(i / g.rows) * 1000 + (i % g.rows) * rowMs();
  const cellOf = (i: number): Cell => ({ second: Math.floor(i / g.rows), row: i % g.rows });

  function rangeOf(a: number, b: number): SubsecondRange {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    let samples = 0;
    for (let i = lo; i <= hi; i++) samples += g.counts[i];
    return { startMs: cellStartMs(lo), endMs: cellStartMs(hi) + rowMs(), start: cellOf(lo), end: cellOf(hi), samples };
  }

  function draw() {
    if (destroyed) return;
    l.root.setAttribute('data-state', 'drawing');
    const cols = Math.max(1, g.seconds);
    cellW = Math.max(2, Math.min(40, plotWidth(l, container, options.width) / cols));
    plotW = cellW * cols;
    const plotH = cellH * g.rows;
    const { ctx, xAxis, yAxis, xTitle } = sizePlot(l, plotW, plotH);
    max = 0;
    for (let i = 0; i < g.counts.length; i++) if (g.counts[i] > max) max = g.counts[i];
    for (let s = 0; s < g.seconds; s++) {
      for (let r = 0; r < g.rows; r++) {
        ctx.fillStyle = heatColor(g.counts[s * g.rows + r], max);
        ctx.fillRect(s * cellW, r * cellH, cellW - (cellW > 4 ? 1 : 0), cellH - 1);
      }
    }
    // selection / pending / drag overlay
    const lo = sel ? Math.min(sel.a, sel.b) : down !== null && dragTo !== null ? Math.min(down, dragTo) : pending;
    const hi = sel ? Math.max(sel.a, sel.b) : down !== null && dragTo !== null ? Math.max(down, dragTo) : pending;
    if (lo !== null && hi !== null) {
      ctx.fillStyle = 'rgba(30,90,255,0.45)';
      for (let i = lo; i <= hi; i++) {
        const c = cellOf(i);
        ctx.fillRect(c.second * cellW, c.row * cellH, cellW - (cellW > 4 ? 1 : 0), cellH - 1);
      }
    }
    // axes
    const x = scaleLinear().domain([0, cols]).range([0, plotW]);
    const y = scaleLinear().domain([0, 1000]).range([0, plotH]);
    xAxis.call(
      axisBottom(x)
        .ticks(Math.min(cols, Math.floor(plotW / 50)))
        .tickFormat((d) => `${d}s`),
    );
    yAxis.call(
      axisLeft(y)
        .ticks(5)
        .tickFormat((d) => `${d} ms`),
    );
    xTitle('seconds');
    l.root.setAttribute('data-cells', String(g.seconds * g.rows));
    l.root.setAttribute('data-max', String(max));
    const secs = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    if (sel) {
      const r = rangeOf(sel.a, sel.b);
      l.root.setAttribute('data-selection', JSON.stringify(r));
      status.textContent = `Selected ${secs(r.startMs)} – ${secs(r.endMs)} (${Math.round(r.endMs - r.startMs)} ms): ${r.samples} samples. Esc clears.`;
    } else {
      l.root.removeAttribute('data-selection');
      status.textContent =
        pending !== null
          ? `Start at ${secs(cellStartMs(pending))}: click an end cell.`
          : 'Click a start cell and an end cell, or drag, to select a time range.';
    }
    if (pending !== null) l.root.setAttribute('data-pending', JSON.stringify(cellOf(pending)));
    else l.root.removeAttribute('data-pending');
    l.root.setAttribute('data-state', 'ready');
  }

  function cellAt(ev: MouseEvent): number | null {
    const r = l.canvas.getBoundingClientRect();
    const px = ev.clientX - r.left;
    const py = ev.clientY - r.top;
    const s = Math.floor(px / cellW);
    const row = Math.floor(py / cellH);
    if (s < 0 || s >= g.seconds || row < 0 || row >= g.rows) return null;
    return s * g.rows + row;
  }

  function fireSelect(a: number, b: number) {
    sel = { a, b };
    pending = null;
    draw();
    const range = rangeOf(a, b);
    options.onSelect?.(range);
    emitter.emit('select', range);
  }

  const onDown = (ev: MouseEvent) => {
    if (ev.button !== 0) return;
    const c = cellAt(ev);
    if (c === null) return;
    ev.preventDefault();
    down = c;
    dragTo = null;
  };
  const onMove = (ev: MouseEvent) => {
    const c = cellAt(ev);
    if (c === null) {
      hideTooltip(l);
      return;
    }
    const cell = cellOf(c);
    const count = g.counts[c];
    const startMs = cellStartMs(c);
    // wall-clock time only for epoch start times (perf script timelines count from boot)
    const when = g.startTime !== undefined && g.startTime > 1e11 ? ` (${new Date(g.startTime + startMs).toISOString().slice(11, 23)})` : '';
    const r = l.canvas.getBoundingClientRect();
    showTooltip(
      l,
      `${(startMs / 1000).toFixed(3)} s – ${((startMs + rowMs()) / 1000).toFixed(3)} s${when}\n${count} ${count === 1 ? 'sample' : 'samples'}`,
      ev.clientX - r.left,
      ev.clientY - r.top,
    );
    options.onHover?.({ ...cell, count, startMs });
    emitter.emit('hover', { ...cell, count, startMs });
    if (down !== null && ev.buttons & 1 && c !== down && c !== dragTo) {
      dragTo = c;
      sel = null;
      draw();
    }
  };
  const onUp = (ev: MouseEvent) => {
    if (down === null) return;
    const c = cellAt(ev) ?? dragTo;
    const d = down;
    down = null;
    dragTo = null;
    if (c === null) return;
    if (c !== d) {
      fireSelect(d, c);
    } else if (pending === null) {
      pending = c;
      sel = null;
      draw();
    } else {
      fireSelect(pending, c);
    }
  };
  const onLeave = () => {
    hideTooltip(l);
    options.onHover?.(null);
    emitter.emit('hover', null);
  };
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === 'Escape' && (pending !== null || sel)) {
      pending = null;
      sel = null;
      draw();
    }
  };
  l.canvas.addEventListener('mousedown', onDown);
  l.canvas.addEventListener('mousemove', onMove);
  window.addEventListener('mouseup', onUp);
  l.canvas.addEventListener('mouseleave', onLeave);
  l.root.tabIndex = 0;
  l.root.addEventListener('keydown', onKey);

  const ro = redrawOnResize(l, options.width, draw);

  checkSubsecondGrid(g);
  draw();

  return {
    element: l.root,
    setGrid(next) {
      const gg = toSubsecondGrid(next);
      checkSubsecondGrid(gg);
      g = gg;
      sel = null;
      pending = null;
      draw();
    },
    select(range) {
      if (!range) {
        sel = null;
      } else {
        const idx = (c: Cell) => {
          if (!(c.second >= 0 && c.second < g.seconds && c.row >= 0 && c.row < g.rows)) {
            throw new RangeError(`select: cell (${c.second}, ${c.row}) is outside the grid (${g.seconds} s × ${g.rows} rows)`);
          }
          return c.second * g.rows + c.row;
        };
        sel = { a: idx(range.start), b: idx(range.end) };
      }
      pending = null;
      draw();
    },
    selection() {
      return sel ? rangeOf(sel.a, sel.b) : null;
    },
    cellRect(second, row) {
      return cellClientRect(l, second, row, cellW, cellH);
    },
    on(ev, cb) {
      return emitter.on(ev, cb);
    },
    redraw: draw,
    destroy() {
      destroyed = true;
      window.removeEventListener('mouseup', onUp);
      removeHeatmap(l, ro, emitter);
    },
  };
}
