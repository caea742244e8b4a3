'use client';
/**
 * biolatency view: latency heat map (time × log2 latency, viz renderer createLatencyHeatmap), a
 * disk / read-write selector when the capture kept one histogram per key, and the histogram of
 * the clicked column (or of the whole capture).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { createLatencyHeatmap, latencyGridFromSeries, type LatencyHeatmap as Renderer } from '@bpfscope/viz/render';
import type { HistogramSeries } from '@bpfscope/viz';
import { useView, useViewStore } from '../providers';
import { Histogram, sumHistograms } from './Histogram';
import { fmtDate } from '../../lib/format';

export function keysOf(h: HistogramSeries): string[] {
  const s = new Set<string>();
  for (const iv of h.intervals) s.add(iv.key);
  return [...s].sort();
}

export function LatencyHeatmap({ series, keyName }: { series: HistogramSeries; keyName: string | undefined }) {
  const host = useRef<HTMLDivElement>(null);
  const lh = useRef<Renderer | null>(null);
  const store = useViewStore();
  const [error, setError] = useState<string | null>(null);
  const grid = useMemo(() => latencyGridFromSeries(series, keyName), [series, keyName]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let r: Renderer;
    try {
      r = createLatencyHeatmap(el, grid, {
        percentiles: [50, 99],
        title: 'Block I/O latency over time — click a column for its histogram',
        onColumnClick: (c) => store.getState().setColumn(c.index),
      });
    } catch (e) {
      setError(`The latency heat map could not be drawn: ${(e as Error).message}`);
      return;
    }
    lh.current = r;
    return () => {
      r.destroy();
      lh.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    try {
      lh.current?.setGrid(grid);
      setError(null);
    } catch (e) {
      setError(`The latency heat map could not be drawn: ${(e as Error).message}`);
    }
  }, [grid]);

  return (
    <>
      {error && <div className="error">{error}</div>}
      <div ref={host} />
    </>
  );
}

/** the key selector's label per kind of key (biolatency -D/-F, runqlat -P/-L) */
const KEY_LABEL: Record<HistogramSeries['keyKind'], string> = {
  none: '',
  disk: 'Disk',
  flags: 'Read/write flags',
  pid: 'Process (PID)',
  tid: 'Thread (TID)',
  function: 'Function',
};

export function LatencyView({ series, live = false }: { series: HistogramSeries; live?: boolean }) {
  const store = useViewStore();
  const key = useView((s) => s.key);
  const column = useView((s) => s.column);
  const keys = useMemo(() => keysOf(series), [series]);
  const keyed = series.keyKind !== 'none' && keys.some((k) => k !== '');
  const keyName = keyed && key ? key : undefined;
  const grid = useMemo(() => latencyGridFromSeries(series, keyName), [series, keyName]);
  const unit = series.unit;

  const selected = column !== null && column < grid.starts.length ? column : null;
  const slots = useMemo(() => {
    if (selected !== null) {
      const out: number[] = [];
      for (let i = 0; i < grid.slots; i++) out.push(grid.counts[selected * grid.slots + i]);
      return out;
    }
    return sumHistograms(series.intervals.filter((iv) => keyName === undefined || iv.key === keyName));
  }, [grid, selected, series, keyName]);

  return (
    <div className="viewer">
      <div style={{ minWidth: 0 }}>
        <div className="toolbar">
          {keyed && (
            <label className="check">
              {KEY_LABEL[series.keyKind]}
              <select value={key} onChange={(e) => store.getState().setKey(e.target.value)} data-testid="latency-key">
                <option value="">all</option>
                {keys.map((k) => (
                  <option key={k} value={k}>
                    {k || '(none)'}
                  </option>
                ))}
              </select>
            </label>
          )}
          <span className="small muted">
            {grid.starts.length} interval{grid.starts.length === 1 ? '' : 's'} · latency in {unit === 'msecs' ? 'ms' : 'µs'} (log2 buckets)
            {live ? ' · live' : ''}
          </span>
          {selected !== null && (
            <button type="button" className="btn small" onClick={() => store.getState().setColumn(null)}>
              Whole capture
            </button>
          )}
        </div>
        {grid.starts.length === 0 ? <div className="placeholder">Waiting for the first interval…</div> : <LatencyHeatmap series={series} keyName={keyName} />}
      </div>
      <div className="card">
        <Histogram
          slots={slots}
          unit={unit}
          testid="latency-histogram"
          title={selected !== null ? `Interval at ${fmtDate(grid.starts[selected])}` : `Whole capture${keyName ? ` — ${keyName}` : ''}`}
        />
      </div>
    </div>
  );
}
