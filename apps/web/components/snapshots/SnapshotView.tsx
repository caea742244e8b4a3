'use client';
/** /s/<id>: read-only snapshot view. View state (zoom, search, range, orientation) is in the URL. */
import { ViewStoreProvider } from '../providers';
import { ProfileView, isLatencyProfile } from '../flame-graph/ProfileView';
import { SnapshotMetaPanel } from './SnapshotMetaPanel';
import { ExportButtons } from './ExportButtons';
import { ComparePicker } from './ComparePicker';
import { ShareButton } from './ShareButton';
import { useSnapshot } from '../../lib/use-snapshot';
import type { SnapshotMeta } from '../../lib/api';
import { isHistogramTool, toolLabel } from '../../lib/tools';
import { isFleetProfile } from '../../lib/fleet';
import { FleetBreakdown, FleetViewSwitch } from '../fleet/FleetView';

/** `publicToken`: opened through a public link (/p/<token>): data and exports come from /api/public. */
export function SnapshotView({ id, meta, publicToken }: { id: string; meta: SnapshotMeta; publicToken?: string }) {
  const { data, error } = useSnapshot(id, publicToken);
  const latency = isHistogramTool(meta.tool) || (data ? isLatencyProfile(data.profile) : false);
  return (
    <div className="stack-v">
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <div className="grow">
          <h1 style={{ marginBottom: 2 }} data-testid="snapshot-title">
            {meta.name}
          </h1>
          <div className="muted small">
            {toolLabel(meta.tool)} snapshot · read-only
            {publicToken ? (
              ' · shared by public link'
            ) : (
              <>
                {' '}
                · id <span className="mono">{meta.id}</span>
              </>
            )}
          </div>
        </div>
        <div className="stack-v" style={{ alignItems: 'flex-end', gap: 6 }}>
          <ExportButtons id={id} latency={latency} publicToken={publicToken} />
          {!publicToken && <ComparePicker id={id} tool={meta.tool} />}
          {!publicToken && <ShareButton id={id} initialToken={meta.publicToken ?? null} />}
        </div>
      </div>
      <div className="card">
        <SnapshotMetaPanel meta={meta} />
      </div>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {!data && !error && <div className="placeholder">Loading the profile…</div>}
      {data && isFleetProfile(data.profile) && (
        <>
          {data.profile.meta.partial && (
            <div className="error" role="status" data-testid="fleet-partial">
              Partial: some hosts failed; their data is what arrived before the failure.
            </div>
          )}
          <FleetBreakdown
            snapshotId={id}
            profile={data.profile}
            hosts={(data.profile.meta.hosts ?? []).map((h) => ({ name: h.name, state: h.state, message: h.error }))}
          />
        </>
      )}
      {data && (
        <ViewStoreProvider syncUrl>
          {isFleetProfile(data.profile) ? (
            <FleetViewSwitch profile={data.profile}>{(p) => <ProfileView profile={p} />}</FleetViewSwitch>
          ) : (
            <ProfileView profile={data.profile} />
          )}
        </ViewStoreProvider>
      )}
    </div>
  );
}
