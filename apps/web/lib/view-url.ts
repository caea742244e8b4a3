/**
 * View state <-> URL query, so a copied link opens the same view:
 *   ?zoom=<frame path, names joined by ";">&q=<search>&range=<startMs>-<endMs>&o=icicle
 * plus, additively: abs=1 (compare: absolute), dir=rev (compare: target → base),
 * key=<disk or flags> and col=<interval index> (latency views), view=inverted|sandwich and fn=<function>
 * (flame graph views; lib/transforms.ts), and one t=<transform> per applied transform, in order
 * (t=fn:main&t=x:poll&t=merge). Pure (test/view-url.test.ts).
 */
import { parseTransform, serializeTransform, VIEW_MODES, type Transform, type ViewMode } from './transforms';

export type Orientation = 'flame' | 'icicle';

export interface ViewState {
  /** frame names from the root's first child down to the zoomed frame; empty: not zoomed. */
  zoom: string[];
  q: string;
  /** selected time range (ms since the profile's timeline start), or null. */
  range: [number, number] | null;
  orientation: Orientation;
  /** compare views: absolute counts instead of normalized shares. */
  absolute: boolean;
  /** compare views: target → base instead of base → target. */
  reversed: boolean;
  /** latency views: histogram key (disk or flags), '' for all. */
  key: string;
  /** latency views: clicked interval (column) index, or null. */
  column: number | null;
  /** flame graph views: flame graph, inverted (bottom-up) or sandwich of `fn`. */
  mode: ViewMode;
  /** sandwich view: the function whose callers and callees are shown ('' until one is picked). */
  fn: string;
  /** transforms applied to the profile before it is drawn, in order. */
  transforms: Transform[];
}

export const DEFAULT_VIEW: ViewState = {
  zoom: [],
  q: '',
  range: null,
  orientation: 'flame',
  absolute: false,
  reversed: false,
  key: '',
  column: null,
  mode: 'flame',
  fn: '',
  transforms: [],
};

export const ZOOM_SEPARATOR = ';';

export function parseView(search: string | URLSearchParams): ViewState {
  const p = typeof search === 'string' ? new URLSearchParams(search.startsWith('?') ? search.slice(1) : search) : search;
  const v: ViewState = { ...DEFAULT_VIEW, zoom: [], transforms: [] };
  const zoom = p.get('zoom');
  if (zoom) v.zoom = zoom.split(ZOOM_SEPARATOR);
  v.q = p.get('q') ?? '';
  const range = p.get('range');
  if (range) {
    const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(range);
    if (m) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (b > a) v.range = [a, b];
    }
  }
  if (p.get('o') === 'icicle') v.orientation = 'icicle';
  if (p.get('abs') === '1') v.absolute = true;
  if (p.get('dir') === 'rev') v.reversed = true;
  v.key = p.get('key') ?? '';
  const col = p.get('col');
  if (col !== null && /^\d+$/.test(col)) v.column = Number(col);
  const mode = p.get('view');
  if (mode && (VIEW_MODES as readonly string[]).includes(mode)) v.mode = mode as ViewMode;
  v.fn = p.get('fn') ?? '';
  for (const t of p.getAll('t')) {
    const tr = parseTransform(t);
    if (tr) v.transforms.push(tr);
  }
  return v;
}

/** The query string (without "?") for a view; defaults are left out so links stay short. */
export function serializeView(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.zoom.length) p.set('zoom', v.zoom.join(ZOOM_SEPARATOR));
  if (v.q) p.set('q', v.q);
  if (v.range) p.set('range', `${round(v.range[0])}-${round(v.range[1])}`);
  if (v.orientation === 'icicle') p.set('o', 'icicle');
  if (v.absolute) p.set('abs', '1');
  if (v.reversed) p.set('dir', 'rev');
  if (v.key) p.set('key', v.key);
  if (v.column !== null) p.set('col', String(v.column));
  if (v.mode !== 'flame') p.set('view', v.mode);
  if (v.fn) p.set('fn', v.fn);
  for (const t of v.transforms) p.append('t', serializeTransform(t));
  return p.toString();
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
