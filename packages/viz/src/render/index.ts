/**
 * @bpfscope/viz/render — the DOM renderers (browser only). Small imperative API for React
 * components: create in an effect with a container ref, feed data, destroy in the cleanup.
 *
 * Flame graph (canvas; see flamegraph.ts for why not one SVG element per frame):
 *   const fg = createFlameGraph(container, { palette?: 'auto'|'cpu'|'offcpu'|'wakeup'|'diff',
 *     orientation?: 'flame'|'icicle', sort?: 'name'|'weight', toolbar?: boolean, title?: string,
 *     rowHeight?: number, minFrameWidth?: number, diffColorBy?: 'self'|'total', width?: number });
 *   fg.setData(profile, { baseline?: Profile, normalize?: boolean, keepView?: boolean });  // or a FlameLayout
 *   fg.zoomTo(['node', 'main', 'work']) → boolean;  fg.resetZoom();  fg.zoomPath() → string[]
 *   fg.search(/re/ | 're' | null) → { matched, share, nodes }     // share 0..1, "Matched: x%"
 *   fg.setOrientation('flame'|'icicle');  fg.setSort('name'|'weight');  fg.setPalette(p)
 *   fg.on('zoom'|'hover'|'click'|'draw'|'search', cb) → unsubscribe  // zoom/hover: FrameInfo | null;
 *     click: FrameInfo; draw: {ms, frames}; search: {pattern, matched, share, nodes} (for URL state)
 *   fg.frameAt(clientX, clientY) → FrameInfo | null;  fg.frameRect(path) → client rect | null
 *   fg.redraw();  fg.destroy()
 *   FrameInfo = { path, name, kind, depth, value, self, share, unit, baseValue?, delta? }
 *   DOM: root div data-testid="flamegraph" data-state="empty|loading|drawing|ready", data-zoom (JSON
 *   path), data-frames (drawn), data-draw-ms, data-match-share; toolbar: data-testid="search-input",
 *   "search-match" ("Matched: 12.3%"), "reset-zoom"; "flamegraph-tooltip", "flamegraph-details".
 *
 * Subsecond (FlameScope) heat map:
 *   const hm = createSubsecondHeatmap(container, { seconds, rows, counts /* [s*rows+r] *\/, startTime? },
 *     { onSelect(range), onHover(cell|null), cellHeight?, title?, width? });
 *   range = { startMs, endMs, start: {second,row}, end: {second,row}, samples } (ms from grid start,
 *   end exclusive). Select by clicking a start cell then an end cell, or by dragging. Escape clears.
 *   hm.setGrid(grid); hm.select({start,end}|null); hm.selection(); hm.cellRect(s, r); hm.on('select'|'hover', cb)
 *   DOM: data-testid="subsecond-heatmap" data-state, data-selection (JSON range), data-pending.
 *
 * Latency heat map (biolatency):
 *   const lh = createLatencyHeatmap(container, HistogramSeries | { unit, starts, ends, slots, counts },
 *     { onHover(h|null), onColumnClick(column), percentiles?: [50, 99], key?, rowHeight?, title?, width? });
 *   h = { column, slot, start, end, low, high, count }; column = { index, start, end, slots[], total }
 *   lh.setGrid(g); lh.setPercentiles([..]); lh.percentile(p) → value per column; lh.cellRect(c, slot)
 *   DOM: data-testid="latency-heatmap" data-state; percentile paths have data-percentile="p".
 *
 * Pure helpers (usable in Node): buildFlameLayout / layoutTree (positions over the call tree of
 * model/tree.ts), nodeColor / frameColor / diffColor / paletteForTool (the palette the SVG export
 * uses too), percentilePosition, positionValue, latencyGridFromSeries, formatValue.
 *
 * Every string from traced processes (frame names, comm) is drawn with canvas fillText or set with
 * textContent / setAttribute — never as HTML.
 */
export { buildFlameLayout, layoutTree, type FlameLayout, type FlameLayoutOptions, type SortOrder } from './flametree.js';
export { diffColor, frameColor, nameHash, nodeColor, paletteForTool, ROOT_COLOR, SEARCH_COLOR, type PaletteName } from '../palette.js';
export {
  createFlameGraph,
  type FlameGraph,
  type FlameGraphEvents,
  type FlameGraphOptions,
  type FrameInfo,
  type MatchInfo,
  type Orientation,
  type SetDataOptions,
} from './flamegraph.js';
export {
  checkSubsecondGrid,
  createSubsecondHeatmap,
  toSubsecondGrid,
  type Cell,
  type SubsecondGridInput,
  type SubsecondGridLike,
  type SubsecondHeatmap,
  type SubsecondHeatmapEvents,
  type SubsecondHeatmapOptions,
  type SubsecondRange,
} from './heatmap-subsecond.js';
export {
  checkLatencyGrid,
  createLatencyHeatmap,
  latencyGridFromSeries,
  percentilePosition,
  positionValue,
  slotBounds,
  type LatencyColumn,
  type LatencyData,
  type LatencyGridInput,
  type LatencyGridLike,
  type LatencyHeatmap,
  type LatencyHeatmapEvents,
  type LatencyHeatmapOptions,
  type LatencyHover,
  type LatencyUnit,
} from './heatmap-latency.js';
export { formatValue, formatTime, formatPercent } from '../format.js';
