'use client';
/**
 * The controls every stack view shares: the view switch (flame graph | inverted | sandwich), the
 * applied transforms as removable chips, "Folded (this view)", and the frame menu (useFrameMenu).
 * Used by FlameView (live capture, /s/<id>) and the compare page (without the sandwich).
 */
import { useCallback, useState } from 'react';
import { toFolded, type Profile } from '@bpfscope/viz';
import type { FrameInfo } from '@bpfscope/viz/render';
import { FrameMenu, copyText, type MenuItem } from './FrameMenu';
import { useView, useViewStore } from '../providers';
import { transformLabel, transformTitle, type Transform, type ViewMode } from '../../lib/transforms';
import type { ViewStore } from '../../stores/view';

const MODE_LABEL: Record<ViewMode, string> = { flame: 'Flame graph', inverted: 'Inverted', sandwich: 'Sandwich' };
const MODE_TITLE: Record<ViewMode, string> = {
  flame: 'Call tree from the roots (callers below callees)',
  inverted: 'Bottom-up: the functions that were running (leaves) at the root, their callers above',
  sandwich: 'One function: its callers above it and its callees below it',
};

/** A menu asked for: a frame of a graph (with its path, unless it is in a sandwich) or a row of a table. */
interface MenuTarget {
  name: string;
  /** path of the frame in the drawn graph (flame or inverted view); absent for table rows and sandwich graphs. */
  path?: string[];
  root?: boolean;
  x: number;
  y: number;
  seq: number;
}

function menuItems(
  target: MenuTarget,
  mode: ViewMode,
  transforms: readonly Transform[],
  store: ViewStore,
  sandwich: boolean,
  onCopied: (ok: boolean, name: string) => void,
): MenuItem[] {
  const add = (t: Transform) => () => store.getState().addTransform(t);
  const merged = transforms.some((t) => t.kind === 'merge-function');
  const mergeItem: MenuItem = {
    id: 'merge',
    label: merged ? 'Merged by function' : 'Merge by function (all frames)',
    disabled: merged,
    separated: true,
    run: add({ kind: 'merge-function' }),
  };
  if (target.root) return [{ ...mergeItem, separated: false }];
  const name = target.name;
  const items: MenuItem[] = [];
  if (target.path && target.path.length > 0 && mode !== 'sandwich')
    items.push({
      id: 'focus-subtree',
      label: 'Focus on this frame (subtree)',
      run: add({ kind: 'focus-subtree', path: target.path, ...(mode === 'inverted' ? { inverted: true } : {}) }),
    });
  items.push(
    { id: 'focus-function', label: 'Focus on function (all its calls merged)', run: add({ kind: 'focus-function', name }) },
    { id: 'exclude', label: 'Exclude function (drop its stacks)', run: add({ kind: 'exclude', name }) },
    { id: 'collapse-recursion', label: 'Collapse recursion', run: add({ kind: 'collapse-recursion', name }) },
  );
  if (sandwich) items.push({ id: 'sandwich', label: 'Sandwich: callers and callees', separated: true, run: () => store.getState().showSandwich(name) });
  items.push(mergeItem, { id: 'copy', label: 'Copy name', run: () => void copyText(name).then((ok) => onCopied(ok, name)) });
  return items;
}

/**
 * The frame menu of a view: `openFrame` for a graph's right-click (inSandwich: no subtree focus),
 * `openRow` for a table row's ⋯ button; render `element` once; `status` says what Copy did.
 */
export function useFrameMenu({ sandwich = true }: { sandwich?: boolean } = {}) {
  const store = useViewStore();
  const mode = useView((s) => s.mode);
  const transforms = useView((s) => s.transforms);
  const [menu, setMenu] = useState<MenuTarget | null>(null);
  const [status, setStatus] = useState('');
  const openFrame = useCallback(
    (fi: FrameInfo, at: { x: number; y: number }, inSandwich = false) =>
      setMenu((m) => ({ name: fi.name, path: inSandwich ? undefined : fi.path, root: fi.path.length === 0, x: at.x, y: at.y, seq: (m?.seq ?? 0) + 1 })),
    [],
  );
  const openRow = useCallback((name: string, at: { x: number; y: number }) => setMenu((m) => ({ name, x: at.x, y: at.y, seq: (m?.seq ?? 0) + 1 })), []);
  const onCopied = useCallback(
    (ok: boolean, name: string) => setStatus(ok ? `Copied “${name}”` : 'The browser did not allow copying; select the name in the table instead.'),
    [],
  );
  const element = menu ? (
    <FrameMenu
      key={menu.seq}
      title={menu.root ? 'all (the whole profile)' : menu.name}
      x={menu.x}
      y={menu.y}
      items={menuItems(menu, mode, transforms, store, sandwich, onCopied)}
      onClose={() => setMenu(null)}
    />
  ) : null;
  return { openFrame, openRow, element, status };
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

/** View switch, transform chips, "Folded (this view)" (of `exportProfile`, when given) and the status line. */
export function ViewControls({ modes, exportProfile, status }: { modes: readonly ViewMode[]; exportProfile?: Profile; status?: string }) {
  const store = useViewStore();
  const current = useView((s) => s.mode);
  const mode = modes.includes(current) ? current : 'flame';
  const transforms = useView((s) => s.transforms);
  return (
    <div className="toolbar" data-testid="view-controls">
      <div className="segmented" role="group" aria-label="View">
        {modes.map((m) => (
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
      {transforms.length > 0 && exportProfile && (
        <button
          type="button"
          className="btn small"
          data-testid="export-view-folded"
          title="Download the stacks after these transforms as folded text (the Export links download the whole snapshot)"
          onClick={() => downloadText(toFolded(exportProfile), 'bpfscope-view.folded.txt')}
        >
          Folded (this view)
        </button>
      )}
      <span className="small muted" role="status" data-testid="view-status">
        {status}
      </span>
    </div>
  );
}
