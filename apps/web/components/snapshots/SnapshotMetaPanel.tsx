'use client';
/** Snapshot metadata: tool, host, kernel, time, duration, total, loss, options, notes. All as text. */
import type { SnapshotMeta } from '../../lib/api';
import { fmtDate, fmtMs, fmtValue } from '../../lib/format';
import { describeLoss } from '../../lib/live';
import { toolLabel } from '../../lib/tools';
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
  const item = (label: string, value: React.ReactNode, extra: Record<string, unknown> = {}, wide = false) => (
    <div className={wide ? 'wide' : undefined}>
      <dt>{label}</dt>
      <dd {...extra}>{value}</dd>
    </div>
  );
  return (
    <dl className="meta-grid" data-testid="snapshot-meta">
      {item('Tool', toolLabel(meta.tool))}
      {item('Host', meta.host || '–')}
      {meta.kernel ? item('Kernel', meta.kernel) : null}
      {item('Taken', fmtDate((meta as { startTime?: number | null }).startTime ?? meta.createdAt))}
      {typeof meta.durationMs === 'number' ? item('Duration', fmtMs(meta.durationMs)) : null}
      {item('Total', totalText(meta), { 'data-testid': 'snapshot-total', 'data-value': meta.total })}
      {item('Loss', loss.length ? <span style={{ color: 'var(--warn)' }}>{loss.join(' · ')}</span> : 'none recorded', { 'data-testid': 'snapshot-loss' })}
      {opts ? item('Options', <span className="mono">{opts}</span>, {}, true) : null}
      {meta.notes ? item('Notes', meta.notes, { style: { whiteSpace: 'pre-wrap' } }, true) : null}
    </dl>
  );
}
