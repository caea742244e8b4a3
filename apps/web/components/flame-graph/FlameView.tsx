'use client';
/**
 * A flame graph with its toolbar and the top-functions table beside it, plus the view switch
 * (flame graph | inverted | sandwich), the transforms applied from a frame's menu (shown as
 * removable chips) and the menu itself (ViewControls.tsx). Transforms apply first (in order), then
 * the view mode; the top-functions table shows the transformed profile. All of it lives in the
 * view store and so in the URL (lib/view-url.ts, lib/transforms.ts).
 */
import { useCallback, useMemo } from 'react';
import type { Profile } from '@bpfscope/viz';
import type { FrameInfo } from '@bpfscope/viz/render';
import { FlameGraph } from './FlameGraph';
import { FlameToolbar } from './FlameToolbar';
import { TopFunctions } from './TopFunctions';
import { SourceLines } from './SourceLines';
import { ViewControls, useFrameMenu } from './ViewControls';
import { useView } from '../providers';
import { applyTransforms, profileForMode, sandwich, VIEW_MODES, type Transform } from '../../lib/transforms';

type Palette = 'cpu' | 'offcpu' | 'wakeup' | 'auto';

/** Apply the view's transforms; a failure shows the whole profile with an error instead of a blank view. */
export function useTransformed(profile: Profile, transforms: readonly Transform[]): { p: Profile; error?: string } {
  return useMemo(() => {
    try {
      return { p: applyTransforms(profile, transforms) };
    } catch (e) {
      return { p: profile, error: `The transforms could not be applied (${(e as Error).message}); showing the whole profile. Remove them above.` };
    }
  }, [profile, transforms]);
}

export function FlameView({
  profile,
  palette = 'auto',
  title,
  toolbarExtra,
}: {
  profile: Profile;
  palette?: Palette;
  title?: string;
  toolbarExtra?: React.ReactNode;
}) {
  const mode = useView((s) => s.mode);
  const fn = useView((s) => s.fn);
  const transforms = useView((s) => s.transforms);
  const menu = useFrameMenu();
  const transformed = useTransformed(profile, transforms);
  const drawn = useMemo(() => (mode === 'sandwich' ? null : profileForMode(transformed.p, mode)), [transformed, mode]);
  const { openFrame } = menu;
  const onSandwich = useCallback((fi: FrameInfo, at: { x: number; y: number }) => openFrame(fi, at, true), [openFrame]);

  return (
    <div className="viewer">
      <div style={{ minWidth: 0 }}>
        <ViewControls modes={VIEW_MODES} exportProfile={transformed.p} status={menu.status} />
        {transformed.error && (
          <div className="error" role="alert">
            {transformed.error}
          </div>
        )}
        <FlameToolbar>{toolbarExtra}</FlameToolbar>
        {drawn ? (
          <FlameGraph profile={drawn} palette={palette} title={title} onFrameMenu={openFrame} data-testid={`graph-${mode}`} />
        ) : (
          <SandwichView profile={transformed.p} fn={fn} palette={palette} onFrameMenu={onSandwich} />
        )}
      </div>
      <TopFunctions profile={transformed.p} onMenu={menu.openRow} selected={mode === 'sandwich' ? fn : undefined} />
      {menu.element}
    </div>
  );
}

/** speedscope's sandwich: the callers of `fn` above it (fn at the bottom), its callees below (fn at the top). */
function SandwichView({
  profile,
  fn,
  palette,
  onFrameMenu,
}: {
  profile: Profile;
  fn: string;
  palette: Palette;
  onFrameMenu: (fi: FrameInfo, at: { x: number; y: number }) => void;
}) {
  const sw = useMemo(() => (fn ? sandwich(profile, fn) : null), [profile, fn]);
  if (!sw) {
    return (
      <div className="placeholder" data-testid="sandwich-empty">
        Pick a function: click its name in Top functions, or right-click a frame and choose “Sandwich”.
      </div>
    );
  }
  if (sw.callees.total <= 0) {
    return (
      <div className="placeholder" data-testid="sandwich-empty">
        <span className="mono">{fn}</span> is not in this profile{profile.stacks.length ? ' (after the transforms and the time range)' : ''}. Pick another
        function in Top functions.
      </div>
    );
  }
  return (
    <div className="sandwich" data-testid="sandwich" data-fn={fn}>
      <h3>
        Callers of <span className="mono">{fn}</span>
      </h3>
      <FlameGraph profile={sw.callers} palette={palette} bindView={false} orientation="flame" onFrameMenu={onFrameMenu} data-testid="sandwich-callers" />
      <h3>
        Callees of <span className="mono">{fn}</span>
      </h3>
      <FlameGraph profile={sw.callees} palette={palette} bindView={false} orientation="icicle" onFrameMenu={onFrameMenu} data-testid="sandwich-callees" />
      <SourceLines profile={profile} fn={fn} />
    </div>
  );
}
