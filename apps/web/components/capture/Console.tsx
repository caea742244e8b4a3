'use client';
/** The console: hosts, tool tabs with options, the running capture and its live view. */
import { CaptureStoreProvider, ViewStoreProvider, useCapture } from '../providers';
import { CollectorStatus } from './CollectorStatus';
import { CaptureForm } from './CaptureForm';
import { CaptureRun } from './CaptureRun';
import { ProfileView } from '../flame-graph/ProfileView';
import { fmtValue } from '../../lib/format';
import { FleetBreakdown, FleetViewSwitch } from '../fleet/FleetView';

function LiveView() {
  const profile = useCapture((s) => s.profile);
  const phase = useCapture((s) => s.phase);
  const captureId = useCapture((s) => s.captureId);
  const fleet = useCapture((s) => s.fleet);
  const hostStates = useCapture((s) => s.hostStates);
  const fleetHosts = useCapture((s) => s.fleetHosts);
  if (phase === 'idle') return null;
  if (!profile) {
    if (phase === 'failed') return null;
    return <div className="placeholder">Waiting for the first data from the collector…</div>;
  }
  const live = phase === 'running' || phase === 'starting' || phase === 'stopping';
  // a capture that failed before gathering anything has nothing to show (its error is above)
  if (phase === 'failed' && profile.total === 0 && profile.stacks.length === 0) return null;
  return (
    <section aria-label="Live view" data-live={live ? 'true' : 'false'}>
      <div className="row small muted" style={{ marginBottom: 6 }}>
        <span data-testid="snapshot-total">
          {profile.meta.tool === 'biolatency' ? `${profile.total.toLocaleString('en-US')} I/O` : fmtValue(profile.total, profile.unit)}
        </span>
        {profile.meta.tool !== 'biolatency' && <span>{profile.stacks.length.toLocaleString('en-US')} unique stacks</span>}
      </div>
      {fleet && (
        <FleetBreakdown
          profile={profile}
          hosts={[
            // hosts asked for that have not ended yet are running (or starting)
            ...fleetHosts.filter((n) => !hostStates[n]).map((name) => ({ name, state: 'running' as const })),
            ...Object.entries(hostStates).map(([name, h]) => ({ name, state: h.state, message: h.message })),
          ]}
        />
      )}
      {/* a fresh view (zoom/search) per capture */}
      <ViewStoreProvider key={captureId ?? 'none'}>
        {fleet ? (
          <FleetViewSwitch profile={profile}>{(p) => <ProfileView profile={p} live={live} />}</FleetViewSwitch>
        ) : (
          <ProfileView profile={profile} live={live} />
        )}
      </ViewStoreProvider>
    </section>
  );
}

export function Console() {
  return (
    <CaptureStoreProvider>
      <div className="stack-v">
        <div style={{ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(280px, 380px)', gap: 12, alignItems: 'start' }} className="console-top">
          <CaptureForm />
          <CollectorStatus />
        </div>
        <CaptureRun />
        <LiveView />
      </div>
    </CaptureStoreProvider>
  );
}
