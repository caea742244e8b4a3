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
            {publicToken ? ' · shared by public link' : <> · id <span className="mono">{meta.id}</span></>}
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
      {data && (
        <ViewStoreProvider syncUrl>
          <ProfileView profile={data.profile} />
        </ViewStoreProvider>
      )}
    </div>
  );
}
