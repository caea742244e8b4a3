'use client';
/**
 * Sortable top-functions table (self / total) beside a flame graph. Clicking a name searches for it
 * (in the sandwich view: shows its sandwich); a row's ⋯ button opens the function's menu.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { topFunctions, type FunctionRow, type Profile } from '@bpfscope/viz';
import { fmtPct, fmtValue } from '../../lib/format';
import { DataTable, EmptyRow, FunctionCell } from '../table';

type Key = 'name' | 'self' | 'total';
const MAX_ROWS = 300;

export function TopFunctions({
  profile,
  onMenu,
  selected,
}: {
  profile: Profile;
  /** the ⋯ button of a row: open the function's menu at a viewport point. */
  onMenu?: (name: string, at: { x: number; y: number }) => void;
  /** the function shown in the sandwich view (its row is marked). */
  selected?: string;
}) {
  // computed after the first paint so the flame graph is never kept waiting by the table
  // (about 1 s for a 200k-stack profile on a slow machine)
  // and, for live profiles that change 4×/s, spaced out by twice the last computation's cost
  const [rows, setRows] = useState<FunctionRow[] | null>(null);
  const cost = useRef(0);
  const latest = useRef(profile);
  latest.current = profile;
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const done = useRef<Profile | null>(null);
  useEffect(() => {
    function schedule() {
      if (pending.current) return; // the pending run will pick up the latest profile
      pending.current = setTimeout(
        () => {
          pending.current = null;
          const p = latest.current;
          const t0 = performance.now();
          setRows(topFunctions(p));
          cost.current = performance.now() - t0;
          done.current = p;
          if (latest.current !== p) schedule();
        },
        Math.min(2000, cost.current * 2),
      );
    }
    if (done.current !== profile) schedule();
  }, [profile]);
  useEffect(
    () => () => {
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    },
    [],
  );
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'self', desc: true });
  const sorted = useMemo(() => {
    if (!rows) return [];
    const r = rows.slice();
    const dir = sort.desc ? -1 : 1;
    r.sort((a, b) => {
      if (sort.key === 'name') return dir * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      return dir * (a[sort.key] - b[sort.key]) || b.total - a.total;
    });
    return r.slice(0, MAX_ROWS);
  }, [rows, sort]);
  const total = profile.total;

  function header(key: Key, label: string, num: boolean) {
    const active = sort.key === key;
    return (
      <th className={num ? 'num' : undefined} aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
        <button type="button" onClick={() => setSort({ key, desc: active ? !sort.desc : key !== 'name' })} data-testid={`top-sort-${key}`}>
          {label}
          {active ? (sort.desc ? ' ▾' : ' ▴') : ''}
        </button>
      </th>
    );
  }

  return (
    <section aria-label="Top functions">
      <h3>
        Top functions <span className="muted small">{rows ? `(${rows.length.toLocaleString('en-US')})` : '(computing…)'}</span>
      </h3>
      <DataTable
        data-testid="top-functions"
        data-state={rows ? 'ready' : 'loading'}
        head={
          <>
            {header('name', 'Function', false)}
            {header('self', 'Self', true)}
            {header('total', 'Total', true)}
            {onMenu && (
              <th>
                <span className="sr-only">Actions</span>
              </th>
            )}
          </>
        }
      >
        {sorted.map((r) => (
          <tr key={`${r.kind}:${r.name}`} aria-selected={selected !== undefined ? r.name === selected : undefined}>
            <FunctionCell name={r.name} />
            <td className="num" title={fmtValue(r.self, profile.unit)}>
              {fmtPct(total ? r.self / total : 0)}
            </td>
            <td className="num" title={fmtValue(r.total, profile.unit)}>
              {fmtPct(total ? r.total / total : 0)}
            </td>
            {onMenu && (
              <td className="act">
                <button
                  type="button"
                  aria-haspopup="menu"
                  aria-label={`Actions for ${r.name}`}
                  title="Focus, exclude, sandwich…"
                  data-testid="top-menu"
                  onClick={(e) => {
                    const b = e.currentTarget.getBoundingClientRect();
                    onMenu(r.name, { x: b.left, y: b.bottom });
                  }}
                >
                  ⋯
                </button>
              </td>
            )}
          </tr>
        ))}
        {rows && sorted.length === 0 && <EmptyRow colSpan={onMenu ? 4 : 3}>No samples yet.</EmptyRow>}
      </DataTable>
    </section>
  );
}
