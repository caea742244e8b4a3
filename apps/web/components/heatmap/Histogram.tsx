'use client';
/** A bcc-style log2 histogram ("usecs : count  distribution") drawn with bars. */
import { slotRange } from '../../lib/format';

export function Histogram({ slots, unit, title, testid }: { slots: readonly number[]; unit: 'usecs' | 'msecs' | 'nsecs'; title?: string; testid?: string }) {
  let last = -1;
  let max = 0;
  let total = 0;
  slots.forEach((v, i) => {
    if (v > 0) last = i;
    if (v > max) max = v;
    total += v;
  });
  const rows = slots.slice(0, last + 1);
  return (
    <div data-testid={testid} role="group" aria-label={title}>
      {title && <h3>{title}</h3>}
      {total === 0 ? (
        <p className="muted small">No I/O in this range.</p>
      ) : (
        <div className="stack-v" style={{ gap: 1 }}>
          <div className="hist-bar muted">
            <span style={{ textAlign: 'right' }}>{unit}</span>
            <span style={{ textAlign: 'right' }}>count</span>
            <span>distribution</span>
          </div>
          {rows.map((v, i) => {
            const [lo, hi] = slotRange(i);
            return (
              <div className="hist-bar" key={i} data-slot={i} data-count={v}>
                <span style={{ textAlign: 'right' }}>
                  {lo} -&gt; {hi}
                </span>
                <span style={{ textAlign: 'right' }}>{v.toLocaleString('en-US')}</span>
                <span>
                  <span className="bar" style={{ display: 'block', width: `${max ? (v / max) * 100 : 0}%`, minWidth: v ? 2 : 0 }} />
                </span>
              </div>
            );
          })}
          <div className="small muted">{total.toLocaleString('en-US')} I/O in total</div>
        </div>
      )}
    </div>
  );
}

export function sumHistograms(list: readonly { slots: readonly number[] }[]): number[] {
  const out: number[] = [];
  for (const h of list) h.slots.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return out;
}
