'use client';
/**
 * A multi-host profile: the per-host breakdown (weight per host, done/failed with the reason) and
 * the choice between the merged flame graph and the one grouped by host (host as root frame).
 * Host names come from collectors: shown as React text (escaped), never as markup.
 */
import { useMemo, useState, type ReactNode } from 'react';
import type { Profile } from '@bpfscope/viz';
import { mergeHosts, weightByHost } from '../../lib/fleet';
import { fmtValue } from '../../lib/format';

export interface HostStatus {
  name: string;
  state: 'running' | 'done' | 'failed';
  message?: string;
}

/** `snapshotId`: a stored snapshot, whose hosts can be compared (one against another or the rest). */
export function FleetBreakdown({ profile, hosts, snapshotId }: { profile: Profile; hosts: HostStatus[]; snapshotId?: string }) {
  const weights = useMemo(() => weightByHost(profile), [profile]);
  const names = [...new Set([...hosts.map((h) => h.name), ...weights.keys()])];
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const done = hosts.filter((h) => h.state === 'done').length;
  const failed = hosts.filter((h) => h.state === 'failed').length;
  return (
    <section className="card small" data-testid="fleet-hosts" aria-label="Hosts in this capture">
      <div className="row">
        <strong>
          {names.length} host{names.length === 1 ? '' : 's'}
        </strong>
        <span className="muted" data-testid="fleet-counts">
          {done} done · {failed} failed
        </span>
      </div>
      <table className="table" style={{ marginTop: 4 }}>
        <thead>
          <tr>
            <th>host</th>
            <th style={{ textAlign: 'right' }}>{profile.unit}</th>
            <th>state</th>
            {snapshotId && <th>compare</th>}
          </tr>
        </thead>
        <tbody>
          {names.map((n) => {
            const h = byName.get(n);
            return (
              <tr key={n} data-host={n} data-state={h?.state ?? 'running'}>
                <td className="mono">{n}</td>
                <td style={{ textAlign: 'right' }}>{fmtValue(weights.get(n) ?? 0, profile.unit)}</td>
                <td style={h?.state === 'failed' ? { color: 'var(--err)' } : undefined}>
                  {h?.state ?? 'running'}
                  {h?.state === 'failed' && h.message ? `: ${h.message}` : ''}
                </td>
                {snapshotId && (
                  <td>
                    <a href={`/compare/${snapshotId}/${snapshotId}?host=${encodeURIComponent(n)}&vs=rest`} data-testid={`compare-rest-${n}`}>
                      vs the rest
                    </a>
                    {names
                      .filter((o) => o !== n)
                      .slice(0, 5)
                      .map((o) => (
                        <a
                          key={o}
                          style={{ marginLeft: 8 }}
                          href={`/compare/${snapshotId}/${snapshotId}?host=${encodeURIComponent(n)}&vs=${encodeURIComponent(o)}`}
                        >
                          vs {o}
                        </a>
                      ))}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Merged / by host switch; renders `children(profileToShow)`. */
export function FleetViewSwitch({ profile, children }: { profile: Profile; children: (p: Profile) => ReactNode }) {
  const [byHost, setByHost] = useState(false);
  const shown = useMemo(() => (byHost ? profile : mergeHosts(profile)), [byHost, profile]);
  return (
    <>
      <div className="row small" role="group" aria-label="Hosts in the flame graph">
        <label className="check">
          <input type="radio" name="fleet-view" checked={!byHost} onChange={() => setByHost(false)} data-testid="fleet-merged" /> merged
        </label>
        <label className="check">
          <input type="radio" name="fleet-view" checked={byHost} onChange={() => setByHost(true)} data-testid="fleet-by-host" /> grouped by host
        </label>
      </div>
      {children(shown)}
    </>
  );
}
