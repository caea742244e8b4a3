'use client';
/** A flame graph with its toolbar and the top-functions table beside it. */
import type { Profile } from '@bpfscope/viz';
import { FlameGraph } from './FlameGraph';
import { FlameToolbar } from './FlameToolbar';
import { TopFunctions } from './TopFunctions';

export function FlameView({
  profile,
  palette = 'auto',
  title,
  toolbarExtra,
}: {
  profile: Profile;
  palette?: 'cpu' | 'offcpu' | 'wakeup' | 'auto';
  title?: string;
  toolbarExtra?: React.ReactNode;
}) {
  return (
    <div className="viewer">
      <div style={{ minWidth: 0 }}>
        <FlameToolbar>{toolbarExtra}</FlameToolbar>
        <FlameGraph profile={profile} palette={palette} title={title} />
      </div>
      <TopFunctions profile={profile} />
    </div>
  );
}
