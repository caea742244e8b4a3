'use client';
/** Search box, match share, reset zoom and flame/icicle toggle, bound to the view store. */
import { useEffect, useRef, useState } from 'react';
import { useView, useViewStore } from '../providers';
import { useViewShortcuts } from '../use-shortcuts';
import { fmtPct } from '../../lib/format';

export function FlameToolbar({ children }: { children?: React.ReactNode }) {
  const store = useViewStore();
  const q = useView((s) => s.q);
  const match = useView((s) => s.match);
  const zoom = useView((s) => s.zoom);
  const orientation = useView((s) => s.orientation);
  const searchRef = useRef<HTMLInputElement>(null);
  useViewShortcuts(store, searchRef);
  // local text so typing stays smooth; the store (and URL) follow after a short pause
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (text === store.getState().q) return;
    const t = setTimeout(() => store.getState().setQuery(text), 150);
    return () => clearTimeout(t);
  }, [text, store]);

  return (
    <div className="toolbar">
      <input
        ref={searchRef}
        type="search"
        placeholder="Search frames (regex)  /"
        aria-label="Search frames (regular expression)"
        data-testid="search-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') store.getState().setQuery(text);
        }}
        style={{ width: '18em' }}
      />
      <span data-testid="search-match" className="small" aria-live="polite" style={{ minWidth: '10em', color: 'rgb(190,0,190)' }}>
        {match ? `Matched: ${fmtPct(match.share)}` : ''}
      </span>
      <button
        type="button"
        className="btn small"
        data-testid="reset-zoom"
        disabled={zoom.length === 0}
        onClick={() => store.getState().resetZoom()}
        title="Reset zoom (Esc)"
      >
        Reset zoom
      </button>
      <button
        type="button"
        className="btn small"
        data-testid="orientation-toggle"
        aria-pressed={orientation === 'icicle'}
        onClick={() => store.getState().toggleOrientation()}
        title="Flame (root at the bottom) or icicle (root at the top)"
      >
        {orientation === 'icicle' ? 'Icicle' : 'Flame'}
      </button>
      <button
        type="button"
        className="btn small"
        onClick={() => store.getState().resetView()}
        title="Reset zoom, search, range, orientation, view and transforms (r)"
      >
        Reset view
      </button>
      {zoom.length > 0 && (
        <span
          className="small muted mono"
          title={zoom.join(' → ')}
          style={{ maxWidth: '28em', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}
        >
          zoomed: {zoom[zoom.length - 1]}
        </span>
      )}
      {children}
    </div>
  );
}
