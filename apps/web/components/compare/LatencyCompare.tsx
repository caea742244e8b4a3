'use client';
/** Two biolatency distributions side by side (as bcc prints them) and their difference per bucket. */
import { useMemo } from 'react';
import type { Profile } from '@bpfscope/viz';
import type { SnapshotMeta } from '../../lib/api';
import { Histogram, sumHistograms } from '../heatmap/Histogram';
import { LatencyHeatmap } from '../heatmap/LatencyView';
import { fmtPct, slotRange } from '../../lib/format';
import { useView, useViewStore } from '../providers';

function percentile(slots: number[], p: number): string {
  const total = slots.reduce((a, b) => a + b, 0);
  if (!total) return '–';
  let acc = 0;
  for (let i = 0; i < slots.length; i++) {
    acc += slots[i] ?? 0;
    if (acc >= total * p) {
      const [lo, hi] = slotRange(i);
      return `${lo}–${hi}`;
    }
  }
  return '–';
}

export function LatencyCompare({ base, target, baseMeta, targetMeta }: { base: Profile; target: Profile; baseMeta: SnapshotMeta; targetMeta: SnapshotMeta }) {
  const store = useViewStore();
  const absolute = useView((s) => s.absolute);
  const bs = useMemo(() => sumHistograms(base.histograms?.intervals ?? []), [base]);
  const ts = useMemo(() => sumHistograms(target.histograms?.intervals ?? []), [target]);
  const unit = target.histograms?.unit ?? 'usecs';
  const unitMismatch = (base.histograms?.unit ?? 'usecs') !== unit;
  const bt = bs.reduce((a, b) => a + b, 0);
  const tt = ts.reduce((a, b) => a + b, 0);
  const n = Math.max(bs.length, ts.length);
  const diff: { slot: number; b: number; t: number; d: number }[] = [];
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const b = bs[i] ?? 0;
    const t = ts[i] ?? 0;
    if (!b && !t) continue;
    const d = absolute ? t - b : (tt ? t / tt : 0) - (bt ? b / bt : 0);
    maxAbs = Math.max(maxAbs, Math.abs(d));
    diff.push({ slot: i, b, t, d });
  }
  return (
    <div className="stack-v">
      {unitMismatch && <div className="warning">The two captures use different units (µs vs ms); buckets are compared as they are.</div>}
      <div className="row">
        <button
          type="button"
          className="btn small"
          data-testid="compare-normalize"
          aria-pressed={!absolute}
          onClick={() => store.getState().setAbsolute(!absolute)}
        >
          {absolute ? 'Absolute counts' : 'Normalized (share of I/O)'}
        </button>
        <span className="small muted">
          before: {bt.toLocaleString('en-US')} I/O · after: {tt.toLocaleString('en-US')} I/O · p50 {percentile(bs, 0.5)} → {percentile(ts, 0.5)} · p99{' '}
          {percentile(bs, 0.99)} → {percentile(ts, 0.99)} {unit}
        </span>
      </div>
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <div className="card grow" style={{ minWidth: 320 }}>
          <a href={`/s/${encodeURIComponent(baseMeta.id)}`}>{baseMeta.name}</a> <span className="muted small">(before)</span>
          <Histogram slots={bs} unit={unit} testid="compare-hist-base" />
        </div>
        <div className="card grow" style={{ minWidth: 320 }}>
          <a href={`/s/${encodeURIComponent(targetMeta.id)}`}>{targetMeta.name}</a> <span className="muted small">(after)</span>
          <Histogram slots={ts} unit={unit} testid="compare-hist-target" />
        </div>
        <div className="card grow" style={{ minWidth: 320 }} data-testid="compare-hist-diff">
          <h3>Difference (after − before{absolute ? '' : ', share of I/O'})</h3>
          <div className="stack-v" style={{ gap: 1 }}>
            {diff.map((r) => {
              const [lo, hi] = slotRange(r.slot);
              const w = maxAbs ? (Math.abs(r.d) / maxAbs) * 50 : 0;
              return (
                <div className="hist-bar" key={r.slot}>
                  <span style={{ textAlign: 'right' }}>
                    {lo} -&gt; {hi}
                  </span>
                  <span style={{ textAlign: 'right' }} className={r.d > 0 ? 'grew' : r.d < 0 ? 'shrank' : ''}>
                    {r.d > 0 ? '+' : ''}
                    {absolute ? r.d.toLocaleString('en-US') : fmtPct(r.d)}
                  </span>
                  <span style={{ position: 'relative', height: 11 }}>
                    <span style={{ position: 'absolute', left: '50%', top: 0, bottom: 0, borderLeft: '1px solid var(--border)' }} />
                    <span
                      style={{
                        position: 'absolute',
                        top: 0,
                        height: 11,
                        width: `${w}%`,
                        left: r.d >= 0 ? '50%' : `${50 - w}%`,
                        background: r.d >= 0 ? 'var(--grow)' : 'var(--shrink)',
                        borderRadius: 2,
                      }}
                    />
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      <div className="row" style={{ alignItems: 'flex-start' }}>
        {base.histograms && base.histograms.intervals.length > 0 && (
          <div className="grow" style={{ minWidth: 400 }}>
            <h3>Before over time</h3>
            <LatencyHeatmap series={base.histograms} keyName={undefined} />
          </div>
        )}
        {target.histograms && target.histograms.intervals.length > 0 && (
          <div className="grow" style={{ minWidth: 400 }}>
            <h3>After over time</h3>
            <LatencyHeatmap series={target.histograms} keyName={undefined} />
          </div>
        )}
      </div>
    </div>
  );
}
