'use client';
/**
 * A flame graph with its toolbar and the top-functions table beside it, plus the view switch
 * (flame graph | inverted | sandwich), the transforms applied from a frame's menu (shown as
 * removable chips) and the menu itself. Transforms apply first (in order), then the view mode; the
 * top-functions table shows the transformed profile. All of it lives in the view store and so in
 * the URL (lib/view-url.ts, lib/transforms.ts).
 */
import { useCallback, useMemo, useState } from 'react';
import { toFolded, type Profile } from '@bpfscope/viz';
import type { FrameInfo } from '@bpfscope/viz/render';
import { FlameGraph } from './FlameGraph';
import { FlameToolbar } from './FlameToolbar';
import { TopFunctions } from './TopFunctions';
import { FrameMenu, copyText, type MenuItem } from './FrameMenu';
import { useView, useViewStore } from '../providers';
import { applyTransforms, profileForMode, sandwich, transformLabel, transformTitle, VIEW_MODES, type Transform, type ViewMode } from '../../lib/transforms';
import type { ViewStore } from '../../stores/view';

type Palette = 'cpu' | 'offcpu' | 'wakeup' | 'auto';

const MODE_LABEL: Record<ViewMode, string> = { flame: 'Flame graph', inverted: 'Inverted', sandwich: 'Sandwich' };
const MODE_TITLE: Record<ViewMode, string> = {
  flame: 'Call tree from the roots (callers below callees)',
  inverted: 'Bottom-up: the functions that were running (leaves) at the root, their callers above',
  sandwich: 'One function: its callers above it and its callees below it',
};

/** A menu asked for: a frame of a graph (with its path, unless it is in a sandwich) or a row of the table. */
interface MenuTarget {
  name: string;
  /** path of the frame in the drawn graph (flame or inverted view); absent for table rows and sandwich graphs. */
  path?: string[];
  root?: boolean;
  x: number;
  y: number;
  seq: number;
}

function menuItems(target: MenuTarget, mode: ViewMode, transforms: readonly Transform[], store: ViewStore, onCopied: (ok: boolean, name: string) => void): MenuItem[] {
  const add = (t: Transform) => () => store.getState().addTransform(t);
  const merged = transforms.some((t) => t.kind === 'merge-function');
  const mergeItem: MenuItem = { id: 'merge', label: merged ? 'Merged by function' : 'Merge by function (all frames)', disabled: merged, separated: true, run: add({ kind: 'merge-function' }) };
  if (target.root) return [{ ...mergeItem, separated: false }];
  const name = target.name;
  const items: MenuItem[] = [];
  if (target.path && target.path.length > 0 && mode !== 'sandwich')
    items.push({ id: 'focus-subtree', label: 'Focus on this frame (subtree)', run: add({ kind: 'focus-subtree', path: target.path, ...(mode === 'inverted' ? { inverted: true } : {}) }) });
  items.push(
    { id: 'focus-function', label: 'Focus on function (all its calls merged)', run: add({ kind: 'focus-function', name }) },
    { id: 'exclude', label: 'Exclude function (drop its stacks)', run: add({ kind: 'exclude', name }) },
    { id: 'collapse-recursion', label: 'Collapse recursion', run: add({ kind: 'collapse-recursion', name }) },
    { id: 'sandwich', label: 'Sandwich: callers and callees', separated: true, run: () => store.getState().showSandwich(name) },
    mergeItem,
    { id: 'copy', label: 'Copy name', run: () => void copyText(name).then((ok) => onCopied(ok, name)) },
  );
  return items;
}

function downloadText(text: string, fileName: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function FlameView({ profile, palette = 'auto', title, toolbarExtra }: { profile: Profile; palette?: Palette; title?: string; toolbarExtra?: React.ReactNode }) {
  const store = useViewStore();
  const mode = useView((s) => s.mode);
  const fn = useView((s) => s.fn);
  const transforms = useView((s) => s.transforms);
  const [menu, setMenu] = useState<MenuTarget | null>(null);
  const [status, setStatus] = useState('');

  const transformed = useMemo((): { p: Profile; error?: string } => {
    try {
      return { p: applyTransforms(profile, transforms) };
    } catch (e) {
      return { p: profile, error: `The transforms could not be applied (${(e as Error).message}); showing the whole profile. Remove them above.` };
    }
  }, [profile, transforms]);
  const drawn = useMemo(() => (mode === 'sandwich' ? null : profileForMode(transformed.p, mode)), [transformed, mode]);

  const openFrame = useCallback(
    (fi: FrameInfo, at: { x: number; y: number }, inSandwich: boolean) =>
      setMenu((m) => ({ name: fi.name, path: inSandwich ? undefined : fi.path, root: fi.path.length === 0, x: at.x, y: at.y, seq: (m?.seq ?? 0) + 1 })),
    [],
  );
  const onMain = useCallback((fi: FrameInfo, at: { x: number; y: number }) => openFrame(fi, at, false), [openFrame]);
  const onSandwich = useCallback((fi: FrameInfo, at: { x: number; y: number }) => openFrame(fi, at, true), [openFrame]);
  const onRow = useCallback((name: string, at: { x: number; y: number }) => setMenu((m) => ({ name, x: at.x, y: at.y, seq: (m?.seq ?? 0) + 1 })), []);
  const onCopied = useCallback((ok: boolean, name: string) => setStatus(ok ? `Copied “${name}”` : 'The browser did not allow copying; select the name in the table instead.'), []);

  return (
    <div className="viewer">
      <div style={{ minWidth: 0 }}>
        <div className="toolbar" data-testid="view-controls">
          <div className="segmented" role="group" aria-label="View">
            {VIEW_MODES.map((m) => (
              <button
                key={m}
                type="button"
                className="btn small"
                aria-pressed={mode === m}
                data-testid={`view-${m}`}
                title={MODE_TITLE[m]}
                onClick={() => store.getState().setMode(m)}
              >
                {MODE_LABEL[m]}
              </button>
            ))}
          </div>
          {transforms.map((t, i) => (
            <span key={`${i}:${transformLabel(t)}`} className="chip" data-testid="transform-chip" title={transformTitle(t)}>
              <span>{transformLabel(t)}</span>
              <button type="button" aria-label={`Remove ${transformLabel(t)}`} data-testid="transform-remove" onClick={() => store.getState().removeTransform(i)}>
                ×
              </button>
            </span>
          ))}
          {transforms.length > 1 && (
            <button type="button" className="btn small" data-testid="transforms-clear" onClick={() => store.getState().clearTransforms()}>
              Clear transforms
            </button>
          )}
          {transforms.length > 0 && (
            <button
              type="button"
              className="btn small"
              data-testid="export-view-folded"
              title="Download the stacks after these transforms as folded text (the Export links above download the whole snapshot)"
              onClick={() => downloadText(toFolded(transformed.p), 'bpfscope-view.folded.txt')}
            >
              Folded (this view)
            </button>
          )}
          <span className="small muted" role="status" data-testid="view-status">
            {status}
          </span>
        </div>
        {transformed.error && (
          <div className="error" role="alert">
            {transformed.error}
          </div>
        )}
        <FlameToolbar>{toolbarExtra}</FlameToolbar>
        {drawn ? (
          <FlameGraph profile={drawn} palette={palette} title={title} onFrameMenu={onMain} data-testid={`graph-${mode}`} />
        ) : (
          <SandwichView profile={transformed.p} fn={fn} palette={palette} onFrameMenu={onSandwich} />
        )}
      </div>
      <TopFunctions profile={transformed.p} onMenu={onRow} selected={mode === 'sandwich' ? fn : undefined} />
      {menu && (
        <FrameMenu
          key={menu.seq}
          title={menu.root ? 'all (the whole profile)' : menu.name}
          x={menu.x}
          y={menu.y}
          items={menuItems(menu, mode, transforms, store, onCopied)}
          onClose={() => setMenu(null)}
        />
      )}
    </div>
  );
}

/** speedscope's sandwich: the callers of `fn` above it (fn at the bottom), its callees below (fn at the top). */
function SandwichView({ profile, fn, palette, onFrameMenu }: { profile: Profile; fn: string; palette: Palette; onFrameMenu: (fi: FrameInfo, at: { x: number; y: number }) => void }) {
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
        <span className="mono">{fn}</span> is not in this profile{profile.stacks.length ? ' (after the transforms and the time range)' : ''}. Pick another function in Top functions.
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
    </div>
  );
}
