'use client';
/**
 * The view of one profile, whatever its kind: biolatency → latency heat map + histogram; stacks →
 * flame graph + top functions, with the subsecond heat map above when the profile has a
 * timeline (the selected range narrows the flame graph). Used live on the console and read-only
 * on /s/<id>.
 */
import { useMemo } from 'react';
import { selectRange, type Profile } from '@bpfscope/viz';
import { FlameView } from './FlameView';
import { SubsecondHeatmap } from '../heatmap/SubsecondHeatmap';
import { LatencyView } from '../heatmap/LatencyView';
import { useView } from '../providers';
import { isHistogramTool, paletteFor } from '../../lib/tools';

export function isLatencyProfile(p: Profile): boolean {
  return isHistogramTool(p.meta.tool) || (!!p.histograms && p.stacks.length === 0);
}

function emptyText(tool: string | undefined): string {
  if (tool === 'offcputime' || tool === 'offwaketime' || tool === 'wakeuptime')
    return 'No stacks were recorded. Blocked time is counted when a thread runs again: the traced threads did not block and wake up during the capture (or all blocks were outside the min/max block time).';
  if (tool === 'profile') return 'No samples were recorded: the traced processes did not run on a CPU during the capture.';
  return 'This profile has no stacks.';
}

export function ProfileView({ profile, live = false, toolbarExtra }: { profile: Profile; live?: boolean; toolbarExtra?: React.ReactNode }) {
  const range = useView((s) => s.range);
  const ranged = useMemo(() => (range && profile.timeline && range[1] > range[0] ? selectRange(profile, range[0], range[1]) : profile), [profile, range]);
  if (isLatencyProfile(profile) && profile.histograms) return <LatencyView series={profile.histograms} live={live} />;
  const hasTimeline = !!profile.timeline && profile.timeline.offsetMs.length > 0;
  return (
    <div className="stack-v">
      {hasTimeline && <SubsecondHeatmap timeline={profile.timeline!} />}
      {profile.stacks.length === 0 ? (
        <div className="placeholder" data-testid="no-stacks">
          {live ? 'Waiting for the first samples…' : emptyText(profile.meta.tool)}
        </div>
      ) : (
        <FlameView profile={ranged} palette={paletteFor(profile.meta.tool)} toolbarExtra={toolbarExtra} />
      )}
    </div>
  );
}
