'use client';
/** Snapshot metadata: tool, host, kernel, time, duration, total, loss, options, notes. All as text. */
import type { SnapshotMeta } from '../../lib/api.js';
import { fmtDate, fmtMs, fmtValue } from '../../lib/format.js';
import { describeLoss } from '../../lib/live.js';
import { toolLabel } from '../../lib/tools.js';
import type { LossStats, Unit } from '@bpfscope/viz';

function optionsText(o: Record<string, unknown> | undefined): string {
  if (!o) return '';
  const parts = Object.entries(o)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => (v === true ? k : `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`));
  return parts.join(' ');
}

export function totalText(meta: Pick<SnapshotMeta, 'total' | 'unit' | 'tool'>): string {
  if (meta.tool === 'biolatency') return `${Math.round(meta.total).toLocaleString('en-US')} I/O`;
  return fmtValue(meta.total, meta.unit as Unit);
}

export function SnapshotMetaPanel({ meta }: { meta: SnapshotMeta }) {
  const loss = describeLoss(meta.loss as LossStats | undefined);
  const opts = optionsText(meta.options);
  return (
    <dl className="meta-grid" data-testid="snapshot-meta">
      <dt>Tool</dt>
      <dd>{toolLabel(meta.tool)}</dd>
      <dt>Host</dt>
      <dd>{meta.host || '–'}</dd>
      {meta.kernel && (
        <>
          <dt>Kernel</dt>
          <dd>{meta.kernel}</dd>
        </>
      )}
      <dt>Taken</dt>
      <dd>{fmtDate((meta as { startTime?: number }).startTime ?? meta.createdAt)}</dd>
      {typeof meta.durationMs === 'number' && (
        <>
          <dt>Duration</dt>
          <dd>{fmtMs(meta.durationMs)}</dd>
        </>
      )}
      <dt>Total</dt>
      <dd data-testid="snapshot-total" data-value={meta.total}>
        {totalText(meta)}
      </dd>
      {opts && (
        <>
          <dt>Options</dt>
          <dd className="mono">{opts}</dd>
        </>
      )}
      <dt>Loss</dt>
      <dd data-testid="snapshot-loss">{loss.length ? <span style={{ color: 'var(--warn)' }}>{loss.join(' · ')}</span> : 'none recorded'}</dd>
      {meta.notes && (
        <>
          <dt>Notes</dt>
          <dd style={{ whiteSpace: 'pre-wrap' }}>{meta.notes}</dd>
        </>
      )}
    </dl>
  );
}
