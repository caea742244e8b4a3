'use client';
/** /snapshots: search by name/host/tool, open, compare, delete (with confirmation), import. */
import { useEffect, useRef, useState } from 'react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { SnapshotsStoreProvider, useSnapshots, useSnapshotsStore } from '../providers';
import type { SnapshotSummary } from '../../lib/api';
import { ImportDrop } from './ImportDrop';
import { fmtDate } from '../../lib/format';
import { toolLabel } from '../../lib/tools';
import { totalText } from './SnapshotMetaPanel';
import { DataTable, EmptyRow } from '../table';

function Rows() {
  const store = useSnapshotsStore();
  const router = useRouter();
  const items = useSnapshots((s) => s.items);
  const loading = useSnapshots((s) => s.loading);
  const loaded = useSnapshots((s) => s.loaded);
  const error = useSnapshots((s) => s.error);
  const deleting = useSnapshots((s) => s.deleting);
  const deleteError = useSnapshots((s) => s.deleteError);
  const q = useSnapshots((s) => s.q);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const searchRef = useRef<HTMLInputElement>(null);

  // search as you type (debounced)
  const first = useRef(true);
  useEffect(() => {
    if (first.current && loaded) {
      first.current = false;
      return;
    }
    first.current = false;
    const t = setTimeout(() => void store.getState().load(), 200);
    return () => clearTimeout(t);
  }, [q, store, loaded]);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const tag = (e.target as HTMLElement | null)?.tagName;
      if (e.key === '/' && tag !== 'INPUT' && tag !== 'TEXTAREA' && tag !== 'SELECT') {
        e.preventDefault();
        searchRef.current?.focus();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  function toggle(id: string) {
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  }

  return (
    <section className="stack-v">
      <div className="row">
        <input
          ref={searchRef}
          type="search"
          placeholder="Search by name, host or tool (tool:profile host:web1)  /"
          value={q}
          onChange={(e) => store.getState().setQuery(e.target.value)}
          data-testid="snapshot-search"
          aria-label="Search snapshots"
          style={{ width: '32em', maxWidth: '100%' }}
        />
        {loading && <span className="small muted">searching…</span>}
        <span className="grow" />
        <button
          type="button"
          className="btn small"
          disabled={picked.length !== 2}
          data-testid="compare-selected"
          onClick={() => router.push(`/compare/${encodeURIComponent(picked[0])}/${encodeURIComponent(picked[1])}`)}
          title="Tick two snapshots: the first ticked is the base (before), the second the target (after)"
        >
          Compare the two ticked
        </button>
      </div>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {deleteError && (
        <div className="error" role="alert" data-testid="delete-error">
          {deleteError}
        </div>
      )}
      <DataTable
        style={{ maxHeight: 'none' }}
        head={
          <>
            <th aria-label="Pick for comparison" />
            <th>Name</th>
            <th>Tool</th>
            <th>Host</th>
            <th>Created</th>
            <th className="num">Total</th>
            <th />
          </>
        }
      >
        {items.map((s: SnapshotSummary) => (
          <tr key={s.id} data-testid="snapshot-row" data-id={s.id}>
            <td>
              <input type="checkbox" checked={picked.includes(s.id)} onChange={() => toggle(s.id)} aria-label={`Pick ${s.name} for comparison`} />
            </td>
            <td className="name">
              <Link href={`/s/${encodeURIComponent(s.id)}`}>{s.name}</Link>
            </td>
            <td>{toolLabel(s.tool)}</td>
            <td className="name">{s.host || '–'}</td>
            <td className="small">{fmtDate(s.createdAt)}</td>
            <td className="num">{totalText(s)}</td>
            <td className="num">
              {confirm === s.id ? (
                <span className="row" style={{ gap: 4, justifyContent: 'flex-end' }}>
                  <span className="small">Delete for good?</span>
                  <button
                    type="button"
                    className="btn small danger"
                    data-testid="confirm-delete"
                    disabled={deleting === s.id}
                    onClick={async () => {
                      await store.getState().remove(s.id);
                      setConfirm(null);
                      setPicked((p) => p.filter((x) => x !== s.id));
                    }}
                  >
                    Delete
                  </button>
                  <button type="button" className="btn small" onClick={() => setConfirm(null)}>
                    Keep
                  </button>
                </span>
              ) : (
                <button
                  type="button"
                  className="btn small danger"
                  data-testid="delete-snapshot"
                  onClick={() => setConfirm(s.id)}
                  aria-label={`Delete ${s.name}`}
                >
                  Delete
                </button>
              )}
            </td>
          </tr>
        ))}
        {loaded && items.length === 0 && !error && (
          <EmptyRow colSpan={7}>
            {q ? 'No snapshot matches this search.' : 'No snapshots yet. Capture on the console and save, or import a file above.'}
          </EmptyRow>
        )}
      </DataTable>
    </section>
  );
}

export function SnapshotList({ initial, initialError }: { initial?: SnapshotSummary[]; initialError?: string }) {
  return (
    <SnapshotsStoreProvider initial={initial}>
      <div className="stack-v">
        <ImportDrop />
        {initialError && <div className="error">{initialError}</div>}
        <Rows />
      </div>
    </SnapshotsStoreProvider>
  );
}
