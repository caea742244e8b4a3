'use client';
/** The collectors the hub knows, with their health; errors in words. Refreshes every 10 s. */
import { useEffect } from 'react';
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
      {!loaded && <p className="muted">Contacting collectors…</p>}
      {error && <div className="error">{error}</div>}
      {loaded && !error && collectors.length === 0 && <p className="muted">No collector is configured (BPFSCOPE_COLLECTOR_URL / BPFSCOPE_COLLECTORS).</p>}
      <ul style={{ listStyle: 'none', padding: 0, margin: '8px 0 0' }}>
        {collectors.map((c) => (
          <li key={c.id} style={{ marginBottom: 6 }} data-collector={c.id} data-healthy={c.healthy ? 'true' : 'false'}>
            <label className="check">
              <input
                type="radio"
                name="collector"
                checked={selected === c.id}
                onChange={() => store.getState().setForm({ collector: c.id, pids: [], tids: [] })}
              />
              <span className={`status-dot ${c.healthy ? 'ok' : 'bad'}`} aria-hidden="true" />
              <strong>{c.name || c.id}</strong>
              <span className="muted small mono">{c.url}</span>
              <span className="small">{c.healthy ? 'healthy' : 'unavailable'}</span>
            </label>
            {c.healthy && <div className="small muted" style={{ marginLeft: 22 }}>{healthLine(c.health)}</div>}
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
