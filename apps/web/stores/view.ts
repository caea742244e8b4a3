/**
 * View store: zoom, search, selected time range, orientation (and compare/latency toggles) —
 * the part of a view that lives in the URL — plus transient state (hovered frame, search
 * matches). One per view provider. The provider mirrors it to the URL (lib/view-url.ts).
 */
import { createStore } from 'zustand/vanilla';
import { DEFAULT_VIEW, type Orientation, type ViewState } from '../lib/view-url';
import { pushTransform, type Transform, type ViewMode } from '../lib/transforms';

export interface HoverInfo {
  name: string;
  /** value of the frame in the profile's unit */
  value: number;
  /** self value, when known */
  self?: number;
  /** share of the visible root (0..1) */
  share: number;
  /** compare views: change vs. the baseline, in the same unit (after normalization). */
  delta?: number;
}

export interface ViewStoreState extends ViewState {
  hovered: HoverInfo | null;
  /** search matches: total value and share of all, from the renderer (null when no search). */
  match: { value: number; share: number; count?: number } | null;
  /** bumped by "reset view" so components can react even when state was already default. */
  resetSeq: number;

  setZoom(path: string[]): void;
  setQuery(q: string): void;
  setRange(r: [number, number] | null): void;
  setOrientation(o: Orientation): void;
  toggleOrientation(): void;
  setAbsolute(a: boolean): void;
  setReversed(r: boolean): void;
  setKey(k: string): void;
  setColumn(c: number | null): void;
  /** flame graph | inverted | sandwich (the zoom of one mode means nothing in another: reset). */
  setMode(m: ViewMode): void;
  /** the sandwich view of a function. */
  showSandwich(fn: string): void;
  /** apply a transform on top of the others (zoom reset: the zoomed frame may be gone). */
  addTransform(t: Transform): void;
  /** remove the transform at `index` (a chip's ×). */
  removeTransform(index: number): void;
  clearTransforms(): void;
  setHovered(h: HoverInfo | null): void;
  setMatch(m: ViewStoreState['match']): void;
  /** Esc: unzoom only. */
  resetZoom(): void;
  /** r: zoom, search, range, orientation, view mode and transforms back to defaults. */
  resetView(): void;
}

export function createViewStore(initial: Partial<ViewState> = {}) {
  return createStore<ViewStoreState>()((set, get) => ({
    ...DEFAULT_VIEW,
    ...initial,
    hovered: null,
    match: null,
    resetSeq: 0,
    setZoom: (zoom) => set({ zoom }),
    setQuery: (q) => set({ q }),
    setRange: (range) => set({ range, zoom: [] }),
    setOrientation: (orientation) => set({ orientation }),
    toggleOrientation: () => set({ orientation: get().orientation === 'flame' ? 'icicle' : 'flame' }),
    setAbsolute: (absolute) => set({ absolute }),
    setReversed: (reversed) => set({ reversed, zoom: [] }),
    setKey: (key) => set({ key, column: null }),
    setColumn: (column) => set({ column }),
    setMode: (mode) => set(mode === get().mode ? {} : { mode, zoom: [] }),
    showSandwich: (fn) => set({ mode: 'sandwich', fn, zoom: [] }),
    addTransform: (t) => set({ transforms: pushTransform(get().transforms, t), zoom: [] }),
    removeTransform: (i) => set({ transforms: get().transforms.filter((_, k) => k !== i), zoom: [] }),
    clearTransforms: () => set({ transforms: [], zoom: [] }),
    setHovered: (hovered) => set({ hovered }),
    setMatch: (match) => set({ match }),
    resetZoom: () => set({ zoom: [] }),
    resetView: () =>
      set({ zoom: [], q: '', range: null, orientation: 'flame', mode: 'flame', fn: '', transforms: [], match: null, resetSeq: get().resetSeq + 1 }),
  }));
}

export type ViewStore = ReturnType<typeof createViewStore>;

/** The URL part of a view store's state. */
export function pickView(s: ViewStoreState): ViewState {
  return {
    zoom: s.zoom,
    q: s.q,
    range: s.range,
    orientation: s.orientation,
    absolute: s.absolute,
    reversed: s.reversed,
    key: s.key,
    column: s.column,
    mode: s.mode,
    fn: s.fn,
    transforms: s.transforms,
  };
}
