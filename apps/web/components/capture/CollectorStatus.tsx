'use client';
/**
 * The hosts the hub knows (static collectors and hosts that joined), with labels, health and last
 * seen; errors in words. Refreshes every 10 s. Pick one host, several, or every host with a label
 * (a fleet capture); filter the list by label; remove a joined host.
 */
import { useEffect, useState } from 'react';
import { api } from '../../lib/api';
import { parseSelector } from '../../lib/tools';
import { useCapture, useCaptureStore } from '../providers';

function healthLine(h: Record<string, unknown> | null): string {
  if (!h) return '';
  const parts: string[] = [];
  const host = h.hostname ?? h.host;
  if (typeof host === 'string') parts.push(host);
  if (typeof h.kernel === 'string') parts.push(`Linux ${h.kernel}`);
  if (typeof h.cpus === 'number') parts.push(`${h.cpus} CPUs`);
  if (h.btf === false) parts.push('no BTF');
  if (h.privileged === false) parts.push('not privileged: BPF will fail (run the collector as root)');
  const running = h.activeCaptures ?? h.captures;
  if (typeof running === 'number' && running > 0) parts.push(`${running} capture${running === 1 ? '' : 's'} running`);
  return parts.join(' · ');
}

export function CollectorStatus() {
  const store = useCaptureStore();
  const collectors = useCapture((s) => s.collectors);
  const loaded = useCapture((s) => s.collectorsLoaded);
  const error = useCapture((s) => s.collectorsError);
  const selected = useCapture((s) => s.form.collector);
  const target = useCapture((s) => s.form.target);
  const picked = useCapture((s) => s.form.hosts);
  const selector = useCapture((s) => s.form.selector);
  const [filter, setFilter] = useState('');
  const [removeError, setRemoveError] = useState<string | null>(null);
  const set = store.getState().setForm;
  // the label filter (key=value[,…]) narrows the list; in "by label" mode the selector is the filter
  const filterText = target === 'label' ? selector : filter;
  let sel: Record<string, string> | null = null;
  try {
    sel = filterText.trim() ? parseSelector(filterText) : null;
  } catch {
    sel = null;
  }
  const shown = sel ? collectors.filter((c) => Object.entries(sel!).every(([k, v]) => c.labels?.[k] === v)) : collectors;
  const remove = async (id: string) => {
    setRemoveError(null);
    try {
      await api.removeCollector(id);
      set({ hosts: picked.filter((h) => h !== id) });
      await store.getState().loadCollectors();
    } catch (e) {
      setRemoveError((e as Error).message);
    }
  };

  useEffect(() => {
    void store.getState().loadCollectors();
    const t = setInterval(() => void store.getState().loadCollectors(), 10_000);
    return () => clearInterval(t);
  }, [store]);

  return (
    <section className="card" data-testid="collector-status" aria-label="Collectors" data-state={!loaded ? 'loading' : error ? 'error' : 'ready'}>
      <div className="row">
        <h2 style={{ margin: 0 }}>Hosts</h2>
        <button type="button" className="btn small" onClick={() => void store.getState().loadCollectors()}>
          Refresh
        </button>
      </div>
      <div className="row small" role="radiogroup" aria-label="Capture on">
        {(
          [
            ['one', 'one host'],
            ['hosts', 'several hosts'],
            ['label', 'hosts with a label'],
          ] as const
        ).map(([v, label]) => (
          <label key={v} className="check">
            <input type="radio" name="target" data-testid={`target-${v}`} checked={target === v} onChange={() => set({ target: v })} /> {label}
          </label>
        ))}
      </div>
      <label className="small" style={{ display: 'block', marginTop: 6 }}>
        {target === 'label' ? 'Capture on every host with the label ' : 'Filter by label '}
        <input
          type="text"
          className="mono"
          data-testid={target === 'label' ? 'target-selector' : 'host-filter'}
          placeholder="key=value"
          value={filterText}
          onChange={(e) => (target === 'label' ? set({ selector: e.target.value }) : setFilter(e.target.value))}
          style={{ width: 160 }}
        />
      </label>
      {removeError && <div className="error small">{removeError}</div>}
      {!loaded && <p className="muted">Contacting collectors…</p>}
      {error && <div className="error">{error}</div>}
      {loaded && !error && collectors.length === 0 && <p className="muted">No collector is configured (BPFSCOPE_COLLECTOR_URL / BPFSCOPE_COLLECTORS).</p>}
      <ul style={{ listStyle: 'none', padding: 0, margin: '8px 0 0' }}>
        {shown.map((c) => (
          <li key={c.id} style={{ marginBottom: 6 }} data-collector={c.id} data-healthy={c.healthy ? 'true' : 'false'}>
            <div className="check">
              {target === 'one' && (
                <input
                  type="radio"
                  name="collector"
                  aria-label={`Capture on ${c.name || c.id}`}
                  checked={selected === c.id}
                  onChange={() => store.getState().setForm({ collector: c.id, pids: [], tids: [] })}
                />
              )}
              {target === 'hosts' && (
                <input
                  type="checkbox"
                  data-testid={`pick-${c.id}`}
                  aria-label={`Include ${c.name || c.id}`}
                  checked={picked.includes(c.id)}
                  onChange={(e) => set({ hosts: e.target.checked ? [...picked, c.id] : picked.filter((h) => h !== c.id) })}
                />
              )}
              <span className={`status-dot ${c.healthy ? 'ok' : 'bad'}`} aria-hidden="true" />
              <strong>{c.name || c.id}</strong>
              <span className="muted small mono">{c.joined ? 'joined' : c.url}</span>
              <span className="small">{c.healthy ? 'healthy' : 'unavailable'}</span>
              {c.joined && (
                <button
                  type="button"
                  className="btn small"
                  data-testid={`remove-${c.id}`}
                  onClick={() => void remove(c.id)}
                  title="Forget this host (it does not rejoin until restarted)"
                >
                  Remove
                </button>
              )}
            </div>
            {(Object.keys(c.labels ?? {}).length > 0 || c.lastSeen) && (
              <div className="small muted" style={{ marginLeft: 22 }}>
                {Object.entries(c.labels ?? {}).map(([k, v]) => (
                  <span key={k} className="mono" data-label={`${k}=${v}`} style={{ marginRight: 6 }}>
                    {k}={v}
                  </span>
                ))}
                {c.lastSeen ? <span>last seen {new Date(c.lastSeen).toLocaleTimeString()}</span> : null}
              </div>
            )}
            {c.healthy && (
              <div className="small muted" style={{ marginLeft: 22 }}>
                {healthLine(c.health)}
              </div>
            )}
            {!c.healthy && (
              <div className="error small" style={{ marginLeft: 22, marginTop: 4 }}>
                {c.error || `Collector at ${c.url} is not reachable.`}
                {!/bpfscope serve/.test(c.error ?? '') && (
                  <>
                    {' '}
                    Start it with <code>sudo npx bpfscope serve</code> (or <code>npm start</code>, which starts both).
                  </>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
