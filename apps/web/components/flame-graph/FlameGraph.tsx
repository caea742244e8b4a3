'use client';
/**
 * React wrapper around the viz flame graph renderer (@bpfscope/viz/render createFlameGraph).
 * Zoom, search and orientation come from the view store (and so from the URL); zooming by
 * clicking in the graph writes back to the store. The renderer draws frame names on a canvas and
 * sets its tooltip and details line with textContent: traced strings are never parsed as HTML.
 * A right-click on a frame (or the ContextMenu key / Shift+F10 on the focused graph: the zoomed
 * frame) asks the parent for the frame's menu (onFrameMenu).
 * With `bindView={false}` (the two graphs of a sandwich view) zoom stays local to the graph and
 * the orientation is the `orientation` prop; the search still follows the store.
 */
import { useEffect, useRef, useState } from 'react';
import { createFlameGraph, type FlameGraph as Renderer, type FrameInfo } from '@bpfscope/viz/render';
import type { Profile } from '@bpfscope/viz';
import { useView, useViewStore } from '../providers';
import { searchRegex } from '../../lib/search';

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

export function FlameGraph({ profile, baseline, normalize, palette = 'auto', title, bindView = true, orientation: fixedOrientation = 'flame', diffColorBy, onFrameMenu, 'data-testid': testId }: FlameGraphProps) {
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
      r = createFlameGraph(el, { toolbar: false, orientation: bindView ? store.getState().orientation : fixedOrientation, palette, title, ...(diffColorBy ? { diffColorBy } : {}) });
    } catch (e) {
      setError(`The flame graph could not be created: ${(e as Error).message}`);
      return;
    }
    // This page draws its own toolbar (search, reset, orientation) with the same test ids;
    // drop the renderer's hidden one so each id exists once.
    r.element.querySelector('.bpfs-fg-toolbar')?.remove();
    fg.current = r;
    const offZoom = r.on('zoom', (info) => {
      if (!bindView) return;
      const path = info ? info.path : [];
      if (!samePath(path, store.getState().zoom)) store.getState().setZoom(path);
    });
    const offHover = r.on('hover', (info) =>
      store.getState().setHovered(info ? { name: info.name, value: info.value, self: info.self, share: info.share, delta: info.delta } : null),
    );
    return () => {
      offZoom();
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
    if (!r || !r.layout || zoom === null) return;
    if (samePath(r.zoomPath(), zoom)) return;
    if (!r.zoomTo(zoom.length ? zoom : null) && zoom.length) {
      // the frame is not in this profile (yet): keep the URL's zoom for a live profile, show all
    }
  }, [zoom, dataSeq]);

  // search
  useEffect(() => {
    const r = fg.current;
    if (!r || !r.layout) return;
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

  function openMenuByKey(e: React.KeyboardEvent) {
    userScrolled.current = true;
    if (!(e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) return;
    const r = fg.current;
    if (!r || !r.layout || !menuRef.current) return;
    // the keyboard's frame is the zoomed one (the root when not zoomed)
    const rect = r.frameRect(r.zoomPath());
    if (!rect) return;
    const fi = r.frameAt(rect.x + rect.width / 2, rect.y + rect.height / 2);
    if (!fi) return;
    e.preventDefault();
    menuRef.current(fi, { x: rect.x + Math.min(rect.width / 2, 40), y: rect.y + rect.height });
  }

  return (
    <div className="graph-host" data-testid={testId} onContextMenu={openMenuAt}>
      {error && <div className="error">{error}</div>}
      <div
        ref={scroller}
        className="graph-scroll"
        onWheel={() => (userScrolled.current = true)}
        onKeyDown={openMenuByKey}
        onPointerDown={(e) => {
          // the scrollbar, not a frame
          if (e.target === scroller.current) userScrolled.current = true;
        }}
      >
        <div ref={host} />
      </div>
    </div>
  );
}
