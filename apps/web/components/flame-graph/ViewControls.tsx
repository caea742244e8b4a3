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
import { frameActions, transformLabel, transformTitle, type MenuTarget, type Transform, type ViewMode } from '../../lib/transforms';
import type { ViewStore } from '../../stores/view';

const MODE_LABEL: Record<ViewMode, string> = { flame: 'Flame graph', inverted: 'Inverted', sandwich: 'Sandwich' };
const MODE_TITLE: Record<ViewMode, string> = {
  flame: 'Call tree from the roots (callers below callees)',
  inverted: 'Bottom-up: the functions that were running (leaves) at the root, their callers above',
  sandwich: 'One function: its callers above it and its callees below it',
};

/** A menu asked for, where. */
interface OpenMenu extends MenuTarget {
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
  return frameActions(target, mode, transforms, { sandwich }).map((a): MenuItem => {
    const base = { id: a.id, label: a.label, disabled: 'disabled' in a ? a.disabled : undefined, separated: 'separated' in a ? a.separated : undefined };
    if ('transform' in a) return { ...base, run: () => store.getState().addTransform(a.transform) };
    if ('sandwich' in a) return { ...base, run: () => store.getState().showSandwich(a.sandwich) };
    return { ...base, run: () => void copyText(a.copy).then((ok) => onCopied(ok, a.copy)) };
  });
}

/**
 * The frame menu of a view: `openFrame` for a graph's right-click (inSandwich: no subtree focus),
 * `openRow` for a table row's ⋯ button; render `element` once; `status` says what Copy did.
 */
export function useFrameMenu({ sandwich = true }: { sandwich?: boolean } = {}) {
  const store = useViewStore();
  const mode = useView((s) => s.mode);
  const transforms = useView((s) => s.transforms);
  const [menu, setMenu] = useState<OpenMenu | null>(null);
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
