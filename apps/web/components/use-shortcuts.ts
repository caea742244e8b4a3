'use client';
/**
 * Keyboard shortcuts of every view: `/` focuses the search box, `Esc` resets the zoom (and leaves
 * the search box), `r` resets the whole view. Keys typed into form fields are left alone.
 */
import { useEffect } from 'react';
import type { ViewStore } from '../stores/view';

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el?.tagName) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

export function useViewShortcuts(store: ViewStore, searchRef: React.RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Escape') {
        if (typing(e.target)) (e.target as HTMLElement).blur();
        store.getState().resetZoom();
        return;
      }
      if (typing(e.target)) return;
      if (e.key === '/') {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (e.key === 'r' || e.key === 'R') {
        e.preventDefault();
        store.getState().resetView();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, searchRef]);
}
