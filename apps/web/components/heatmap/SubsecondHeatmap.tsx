'use client';
/**
 * FlameScope-style subsecond heat map (viz renderer createSubsecondHeatmap). Selecting a start and
 * an end cell sets the view's range (in the URL), which narrows the flame graph beside it.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { createSubsecondHeatmap, type SubsecondHeatmap as Renderer } from '@bpfscope/viz/render';
import { subsecondGrid, type Timeline } from '@bpfscope/viz';
import { useView, useViewStore } from '../providers';
import { fmtMs } from '../../lib/format';

export function SubsecondHeatmap({ timeline }: { timeline: Timeline }) {
  const host = useRef<HTMLDivElement>(null);
  const hm = useRef<Renderer | null>(null);
  const store = useViewStore();
  const range = useView((s) => s.range);
  const grid = useMemo(() => subsecondGrid({ timeline }), [timeline]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let r: Renderer;
    try {
      r = createSubsecondHeatmap(el, grid, {
        cellHeight: 4,
        title: 'Subsecond offset heat map — click a start cell and an end cell (or drag) to see that range',
        onSelect: (sel) => store.getState().setRange([sel.startMs, sel.endMs]),
      });
    } catch (e) {
      setError(`The heat map could not be drawn: ${(e as Error).message}`);
      return;
    }
    hm.current = r;
    return () => {
      r.destroy();
      hm.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    try {
      hm.current?.setGrid(grid);
      setError(null);
    } catch (e) {
      setError(`The heat map could not be drawn: ${(e as Error).message}`);
    }
  }, [grid]);

  // reflect the URL's range (and its reset) in the drawing
  useEffect(() => {
    const r = hm.current;
    if (!r) return;
    if (!range) {
      if (r.selection()) r.select(null);
      return;
    }
    const rowMs = 1000 / grid.rows;
    const cell = (ms: number) => ({ second: Math.floor(ms / 1000), row: Math.floor((ms % 1000) / rowMs) });
    const cur = r.selection();
    if (cur && Math.abs(cur.startMs - range[0]) < 1e-6 && Math.abs(cur.endMs - range[1]) < 1e-6) return;
    r.select({ start: cell(range[0]), end: cell(Math.max(range[0], range[1] - 1e-3)) });
  }, [range, grid]);

  return (
    <section aria-label="Subsecond heat map">
      {error && <div className="error">{error}</div>}
      <div ref={host} />
      <div className="row small muted" style={{ marginTop: 2 }}>
        {range ? (
          <>
            <span data-testid="selected-range">
              Showing {fmtMs(range[0])} – {fmtMs(range[1])} ({fmtMs(range[1] - range[0])})
            </span>
            <button type="button" className="btn small" onClick={() => store.getState().setRange(null)} data-testid="clear-range">
              Show the whole capture
            </button>
          </>
        ) : (
          <span>Showing the whole capture. Columns are seconds, rows are {Math.round(1000 / grid.rows)} ms slices of each second.</span>
        )}
      </div>
    </section>
  );
}
