'use client';
/**
 * PID picker: type PIDs, or filter the host's processes by name/command line and click to add.
 * Process names come from traced hosts: rendered as text only.
 */
import { useMemo, useState } from 'react';
import { useCapture, useCaptureStore } from '../providers';
import { parseIdList } from '../../lib/tools';
import { ScrollRows } from '../table';

export function PidPicker({ field = 'pids', label = 'Processes (PID)' }: { field?: 'pids' | 'tids'; label?: string }) {
  const store = useCaptureStore();
  const ids = useCapture((s) => s.form[field]);
  const processes = useCapture((s) => s.processes);
  const loading = useCapture((s) => s.processesLoading);
  const error = useCapture((s) => s.processesError);
  const [text, setText] = useState(ids.join(', '));
  const [textError, setTextError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState(false);

  const byPid = useMemo(() => new Map(processes.map((p) => [p.pid, p])), [processes]);
  const matches = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const list = f
      ? processes.filter((p) => String(p.pid).startsWith(f) || p.comm.toLowerCase().includes(f) || p.cmdline.toLowerCase().includes(f))
      : processes;
    return list.slice(0, 200);
  }, [processes, filter]);

  function commit(v: string) {
    setText(v);
    try {
      const list = parseIdList(v, field === 'pids' ? 'PID' : 'Thread id');
      setTextError(null);
      store.getState().setForm({ [field]: list });
    } catch (e) {
      setTextError((e as Error).message);
    }
  }

  function add(pid: number) {
    if (ids.includes(pid)) return;
    const next = [...ids, pid];
    setText(next.join(', '));
    setTextError(null);
    store.getState().setForm({ [field]: next });
  }

  return (
    <div className="field" style={{ gridColumn: 'span 2' }}>
      <span>{label}</span>
      <div className="row" style={{ gap: 6 }}>
        <input
          type="text"
          className="grow"
          placeholder={field === 'pids' ? 'all processes' : 'all threads'}
          value={text}
          aria-invalid={!!textError}
          data-testid={field === 'pids' ? 'pid-input' : 'tid-input'}
          onChange={(e) => commit(e.target.value)}
        />
        {field === 'pids' && (
          <button
            type="button"
            className="btn small"
            onClick={() => {
              setOpen(!open);
              if (!open) void store.getState().loadProcesses();
            }}
            aria-expanded={open}
          >
            Pick…
          </button>
        )}
      </div>
      {textError && <span className="error small">{textError}</span>}
      {ids.length > 0 && byPid.size > 0 && (
        <span className="small muted">{ids.map((p) => (byPid.get(p) ? `${p} ${byPid.get(p)!.comm}` : String(p))).join(' · ')}</span>
      )}
      {open && (
        <div className="card" style={{ marginTop: 4, padding: 8 }}>
          <input
            type="search"
            placeholder="Filter by name, command or PID"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            style={{ width: '100%' }}
            data-testid="pid-filter"
          />
          {loading && <p className="muted small">Listing processes…</p>}
          {error && <div className="error small">{error}</div>}
          <ScrollRows style={{ marginTop: 6 }}>
            {matches.map((p) => (
              <tr key={p.pid}>
                <td className="num">{p.pid}</td>
                <td className="name">
                  <button type="button" className="btn small" onClick={() => add(p.pid)} title={p.cmdline} data-testid="pid-option">
                    {p.comm}
                  </button>
                </td>
                <td className="name muted" style={{ maxWidth: 320, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                  {p.cmdline}
                </td>
              </tr>
            ))}
          </ScrollRows>
        </div>
      )}
    </div>
  );
}
