'use client';
/** "Compare with…": pick another snapshot and open /compare/<this>/<other>. */
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { api, type SnapshotSummary } from '../../lib/api';
import { toolLabel } from '../../lib/tools';
import { fmtDate } from '../../lib/format';

export function ComparePicker({ id, tool }: { id: string; tool: string }) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<SnapshotSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [other, setOther] = useState('');

  useEffect(() => {
    if (!open || items) return;
    api
      .snapshots('')
      .then((r) => setItems(r.snapshots.filter((s) => s.id !== id)))
      .catch((e: Error) => setError(e.message));
  }, [open, items, id]);

  // same kind first: comparing a CPU profile with a latency capture makes no sense
  const sorted = (items ?? []).slice().sort((a, b) => Number(b.tool === tool) - Number(a.tool === tool));

  return (
    <div className="row" style={{ gap: 6 }}>
      {!open ? (
        <button type="button" className="btn small" onClick={() => setOpen(true)} data-testid="compare-open">
          Compare with…
        </button>
      ) : (
        <>
          <select value={other} onChange={(e) => setOther(e.target.value)} data-testid="compare-picker" aria-label="Snapshot to compare with">
            <option value="">{items ? 'choose a snapshot' : 'loading…'}</option>
            {sorted.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} — {toolLabel(s.tool)}, {s.host || 'unknown host'}, {fmtDate(s.createdAt)}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn small primary"
            disabled={!other}
            data-testid="compare-go"
            onClick={() => router.push(`/compare/${encodeURIComponent(id)}/${encodeURIComponent(other)}`)}
            title="This snapshot is the base (before), the chosen one the target (after)"
          >
            Compare
          </button>
        </>
      )}
      {error && <span className="error small">{error}</span>}
    </div>
  );
}
