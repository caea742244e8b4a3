'use client';
/**
 * The menu of one frame (right-click on a flame graph, the ContextMenu key or Shift+F10 on a focused
 * graph, or a row's ⋯ button in Top functions): focus, exclude, merge, collapse recursion, sandwich,
 * copy the name. A WAI-ARIA menu: arrow keys move, Enter/Space pick, Esc or a click elsewhere closes
 * and gives the focus back. The frame name is untrusted: it is rendered as React text only.
 */
import { useEffect, useRef } from 'react';

export interface MenuItem {
  id: string;
  label: string;
  disabled?: boolean;
  /** a separator line before this item */
  separated?: boolean;
  run(): void;
}

export function FrameMenu({ title, x, y, items, onClose }: { title: string; x: number; y: number; items: MenuItem[]; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    opener.current = document.activeElement;
    const el = ref.current;
    if (!el) return;
    // keep it inside the viewport
    const r = el.getBoundingClientRect();
    el.style.left = `${Math.max(4, Math.min(x, window.innerWidth - r.width - 4))}px`;
    el.style.top = `${Math.max(4, Math.min(y, window.innerHeight - r.height - 4))}px`;
    el.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
    const onDown = (e: PointerEvent) => {
      if (!el.contains(e.target as Node)) onClose();
    };
    const onScroll = (e: Event) => {
      if (!el.contains(e.target as Node)) onClose();
    };
    window.addEventListener('pointerdown', onDown, true);
    window.addEventListener('scroll', onScroll, true);
    window.addEventListener('resize', onClose);
    return () => {
      window.removeEventListener('pointerdown', onDown, true);
      window.removeEventListener('scroll', onScroll, true);
      window.removeEventListener('resize', onClose);
      const o = opener.current as HTMLElement | null;
      if (o && typeof o.focus === 'function' && document.contains(o)) o.focus();
    };
    // placed once per opening; a new target mounts a new menu (key)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function onKeyDown(e: React.KeyboardEvent) {
    // the view's own shortcuts (Esc unzooms, r resets, /) must not fire behind the menu
    e.stopPropagation();
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      onClose();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      buttons[(i + 1) % buttons.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      buttons[0]?.focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      buttons[buttons.length - 1]?.focus();
    }
  }

  return (
    <div
      ref={ref}
      className="frame-menu"
      role="menu"
      aria-label={`Actions for ${title}`}
      data-testid="frame-menu"
      style={{ left: x, top: y }}
      onKeyDown={onKeyDown}
    >
      <div className="frame-menu-title" title={title} data-testid="frame-menu-title">
        {title}
      </div>
      {items.map((it) => (
        <div key={it.id} role="none">
          {it.separated && <hr />}
          <button
            type="button"
            role="menuitem"
            data-testid={`menu-${it.id}`}
            disabled={it.disabled}
            onClick={() => {
              onClose();
              it.run();
            }}
          >
            {it.label}
          </button>
        </div>
      ))}
    </div>
  );
}

/** Copy text to the clipboard; falls back to a hidden text area where the Clipboard API is missing (plain http). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}
