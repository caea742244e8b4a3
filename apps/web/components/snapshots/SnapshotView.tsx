'use client';
/** /s/<id>: read-only snapshot view. View state (zoom, search, range, orientation) is in the URL. */
import { ViewStoreProvider } from '../providers';
import { ProfileView, isLatencyProfile } from '../flame-graph/ProfileView';
import { SnapshotMetaPanel } from './SnapshotMetaPanel';
import { ExportButtons } from './ExportButtons';
import { ComparePicker } from './ComparePicker';
import { useSnapshot } from '../../lib/use-snapshot';
import type { SnapshotMeta } from '../../lib/api';
import { isHistogramTool, toolLabel } from '../../lib/tools';

export function SnapshotView({ id, meta }: { id: string; meta: SnapshotMeta }) {
  const { data, error } = useSnapshot(id);
  const latency = isHistogramTool(meta.tool) || (data ? isLatencyProfile(data.profile) : false);
  return (
    <div className="stack-v">
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <div className="grow">
          <h1 style={{ marginBottom: 2 }} data-testid="snapshot-title">
            {meta.name}
          </h1>
          <div className="muted small">
            {toolLabel(meta.tool)} snapshot · read-only · id <span className="mono">{meta.id}</span>
          </div>
        </div>
        <div className="stack-v" style={{ alignItems: 'flex-end', gap: 6 }}>
          <ExportButtons id={id} latency={latency} />
          <ComparePicker id={id} tool={meta.tool} />
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
