'use client';
/**
 * React wrapper around the viz flame graph renderer (@bpfscope/viz/render createFlameGraph).
 * Zoom, search and orientation come from the view store (and so from the URL); zooming by
 * clicking in the graph writes back to the store. The renderer draws frame names on a canvas and
 * sets its tooltip and details line with textContent: traced strings are never parsed as HTML.
 * A right-click on a frame asks the parent for the frame's menu (onFrameMenu). Keyboard: on the
 * focused graph the arrow keys move a frame cursor (outlined, announced in a live region), Enter
 * zooms to it, and the ContextMenu key or Shift+F10 opens its menu. The cursor moves by the
 * renderer's public hit test (frameRect/frameAt), so it follows whatever the renderer draws.
 * With `bindView={false}` (the two graphs of a sandwich view) zoom stays local to the graph and
 * the orientation is the `orientation` prop; the search still follows the store.
 */
import { useEffect, useRef, useState } from 'react';
import { createFlameGraph, type FlameGraph as Renderer, type FrameInfo } from '@bpfscope/viz/render';
import type { Profile } from '@bpfscope/viz';
import { useView, useViewStore } from '../providers';
import { searchRegex } from '../../lib/search';
import { fmtPct, fmtValue } from '../../lib/format';

export interface FlameGraphProps {
  profile: Profile;
  /** differential: colour from the change against this profile. */
  baseline?: Profile;
  normalize?: boolean;
  palette?: 'cpu' | 'offcpu' | 'wakeup' | 'diff' | 'auto';
  title?: string;
  /** zoom and orientation from/to the view store (default true). */
  bindView?: boolean;
  /** fixed orientation when bindView is false. */
  orientation?: 'flame' | 'icicle';
  /** differential colour from the self (default) or the total change; fixed when the graph is created (key the component to change it). */
  diffColorBy?: 'self' | 'total';
  /** a frame's menu was asked for, at a viewport point. */
  onFrameMenu?: (frame: FrameInfo, at: { x: number; y: number }) => void;
  'data-testid'?: string;
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function FlameGraph({
  profile,
  baseline,
  normalize,
  palette = 'auto',
  title,
  bindView = true,
  orientation: fixedOrientation = 'flame',
  diffColorBy,
  onFrameMenu,
  'data-testid': testId,
}: FlameGraphProps) {
  const host = useRef<HTMLDivElement>(null);
  const fg = useRef<Renderer | null>(null);
  const store = useViewStore();
  const storeZoom = useView((s) => s.zoom);
  const q = useView((s) => s.q);
  const storeOrientation = useView((s) => s.orientation);
  const orientation = bindView ? storeOrientation : fixedOrientation;
  const zoom = bindView ? storeZoom : null;
  const menuRef = useRef(onFrameMenu);
  menuRef.current = onFrameMenu;
  // keyboard frame cursor: its path (null: none yet), the outline box and the announcement
  const cursor = useRef<string[] | null>(null);
  const outline = useRef<HTMLDivElement>(null);
  const [announce, setAnnounce] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [dataSeq, setDataSeq] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  // deep graphs scroll inside their box; in flame orientation keep the root (bottom) in view
  // until the user scrolls themselves
  const userScrolled = useRef(false);

  // create once
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let r: Renderer;
    try {
      r = createFlameGraph(el, {
        toolbar: false,
        orientation: bindView ? store.getState().orientation : fixedOrientation,
        palette,
        title,
        ...(diffColorBy ? { diffColorBy } : {}),
      });
    } catch (e) {
      setError(`The flame graph could not be created: ${(e as Error).message}`);
      return;
    }
    // This page draws its own toolbar (search, reset, orientation) with the same test ids;
    // drop the renderer's hidden one so each id exists once.
    r.element.querySelector('.bpfs-fg-toolbar')?.remove();
    fg.current = r;
    const offZoom = r.on('zoom', (info) => {
      // a click zooms: the keyboard cursor (once used) follows to the zoomed frame
      if (cursor.current) cursor.current = info ? info.path : [];
      if (!bindView) return;
      const path = info ? info.path : [];
      if (!samePath(path, store.getState().zoom)) store.getState().setZoom(path);
    });
    // frames move on every draw (zoom, data, resize): put the cursor's outline back on its frame
    const offDraw = r.on('draw', () => placeOutline());
    const offHover = r.on('hover', (info) =>
      store.getState().setHovered(info ? { name: info.name, value: info.value, self: info.self, share: info.share, delta: info.delta } : null),
    );
    return () => {
      offZoom();
      offDraw();
      offHover();
      r.destroy();
      fg.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    fg.current?.setPalette(palette);
  }, [palette]);

  // data
  useEffect(() => {
    const r = fg.current;
    if (!r) return;
    try {
      r.setData(profile, { baseline, normalize, keepView: true });
      setError(null);
    } catch (e) {
      setError(`The flame graph could not be drawn: ${(e as Error).message}`);
    }
    setDataSeq((n) => n + 1);
  }, [profile, baseline, normalize]);

  useEffect(() => {
    const sc = scroller.current;
    if (!sc || userScrolled.current) return;
    sc.scrollTop = orientation === 'flame' ? sc.scrollHeight : 0;
  }, [dataSeq, orientation]);

  // zoom from the store (URL, reset keys)
  useEffect(() => {
    const r = fg.current;
    if (!r?.layout || zoom === null) return;
    if (samePath(r.zoomPath(), zoom)) return;
    if (!r.zoomTo(zoom.length ? zoom : null) && zoom.length) {
      // the frame is not in this profile (yet): keep the URL's zoom for a live profile, show all
    }
  }, [zoom, dataSeq]);

  // search
  useEffect(() => {
    const r = fg.current;
    if (!r?.layout) return;
    const re = searchRegex(q);
    const m = r.search(re);
    if (bindView) store.getState().setMatch(re ? { value: m.matched, share: m.share, count: m.nodes } : null);
  }, [q, dataSeq, store, bindView]);

  useEffect(() => {
    fg.current?.setOrientation(orientation);
  }, [orientation]);

  function openMenuAt(e: React.MouseEvent) {
    const r = fg.current;
    if (!r || !menuRef.current) return;
    const fi = r.frameAt(e.clientX, e.clientY);
    if (!fi) return;
    e.preventDefault();
    menuRef.current(fi, { x: e.clientX, y: e.clientY });
  }

  /** the cursor's frame (the zoomed frame when there is no cursor yet), or null. */
  function cursorFrame(): { fi: FrameInfo; rect: { x: number; y: number; width: number; height: number } } | null {
    const r = fg.current;
    if (!r?.layout) return null;
    let rect = cursor.current ? r.frameRect(cursor.current) : null;
    if (!rect) rect = r.frameRect(r.zoomPath());
    if (!rect) return null;
    const fi = r.frameAt(rect.x + rect.width / 2, rect.y + rect.height / 2);
    return fi ? { fi, rect } : null;
  }

  function placeOutline() {
    const box = outline.current;
    const sc = scroller.current;
    const r = fg.current;
    if (!box || !sc) return;
    const rect = r && cursor.current ? r.frameRect(cursor.current) : null;
    if (!rect) {
      box.style.display = 'none';
      return;
    }
    const s = sc.getBoundingClientRect();
    box.style.left = `${rect.x - s.left + sc.scrollLeft}px`;
    box.style.top = `${rect.y - s.top + sc.scrollTop}px`;
    box.style.width = `${Math.max(2, rect.width)}px`;
    box.style.height = `${rect.height}px`;
    box.style.display = 'block';
  }

  function moveCursor(fi: FrameInfo) {
    cursor.current = fi.path;
    placeOutline();
    outline.current?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    setAnnounce(fi.path.length ? `${fi.name}: ${fmtValue(fi.value, fi.unit)}, ${fmtPct(fi.share)}` : `all: ${fmtValue(fi.value, fi.unit)}`);
  }

  function onKeyDown(e: React.KeyboardEvent) {
    userScrolled.current = true;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const r = fg.current;
    if (!r?.layout) return;
    const menu = e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10');
    const arrow = e.key === 'ArrowUp' || e.key === 'ArrowDown' || e.key === 'ArrowLeft' || e.key === 'ArrowRight';
    if (!menu && !arrow && e.key !== 'Enter') return;
    const cur = cursorFrame();
    if (!cur) return;
    e.preventDefault();
    const { fi, rect } = cur;
    if (menu) {
      if (menuRef.current) menuRef.current(fi, { x: rect.x + Math.min(rect.width / 2, 40), y: rect.y + rect.height });
      return;
    }
    if (e.key === 'Enter') {
      if (fi.path.length) r.zoomTo(fi.path);
      else r.resetZoom();
      moveCursor(fi);
      return;
    }
    if (cursor.current === null) {
      // the first arrow shows where the cursor starts (the zoomed frame)
      moveCursor(fi);
      return;
    }
    const cy = rect.y + rect.height / 2;
    const row = rect.height + 1;
    const probes: [number, number][] =
      e.key === 'ArrowLeft'
        ? [[rect.x - 2, cy]]
        : e.key === 'ArrowRight'
          ? [[rect.x + rect.width + 2, cy]]
          : // up/down: the frame above/below, under the middle, else under the left edge
            [e.key === 'ArrowUp' ? -row : row].flatMap((dy): [number, number][] => [
              [rect.x + rect.width / 2, cy + dy],
              [rect.x + 2, cy + dy],
            ]);
    for (const [x, y] of probes) {
      const next = r.frameAt(x, y);
      if (next && !samePath(next.path, fi.path)) {
        moveCursor(next);
        return;
      }
    }
  }

  return (
    <div className="graph-host" data-testid={testId} onContextMenu={openMenuAt}>
      {error && <div className="error">{error}</div>}
      <div
        ref={scroller}
        className="graph-scroll"
        onWheel={() => (userScrolled.current = true)}
        onKeyDown={onKeyDown}
        onBlur={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null) && outline.current) outline.current.style.display = 'none';
        }}
        onFocus={() => placeOutline()}
        onPointerDown={(e) => {
          // the scrollbar, not a frame
          if (e.target === scroller.current) userScrolled.current = true;
        }}
      >
        <div ref={host} />
        <div ref={outline} className="frame-cursor" data-testid="frame-cursor" aria-hidden="true" />
      </div>
      <span className="sr-only" aria-live="polite" data-testid="frame-cursor-text">
        {announce}
      </span>
    </div>
  );
}
