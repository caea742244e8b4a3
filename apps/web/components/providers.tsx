'use client';
/**
 * Store providers: each creates its zustand store once per mounted provider (never module-global,
 * so server renders never share state), and hooks read it with a selector.
 */
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useSearchParams } from 'next/navigation';
import { createCaptureStore, type CaptureState, type CaptureStore } from '../stores/capture';
import { createViewStore, pickView, type ViewStore, type ViewStoreState } from '../stores/view';
import { createSnapshotsStore, type SnapshotsState, type SnapshotsStore } from '../stores/snapshots';
import { parseView, serializeView, type ViewState } from '../lib/view-url';
import type { SnapshotSummary } from '../lib/api';

const CaptureCtx = createContext<CaptureStore | null>(null);
const ViewCtx = createContext<ViewStore | null>(null);
const SnapshotsCtx = createContext<SnapshotsStore | null>(null);

export function CaptureStoreProvider({ children }: { children: ReactNode }) {
  const [store] = useState(() => createCaptureStore());
  useEffect(() => () => store.getState().dispose(), [store]);
  return <CaptureCtx.Provider value={store}>{children}</CaptureCtx.Provider>;
}

export function useCapture<T>(selector: (s: CaptureState) => T): T {
  const store = useContext(CaptureCtx);
  if (!store) throw new Error('useCapture must be used inside <CaptureStoreProvider>');
  return useStore(store, selector);
}

export function useCaptureStore(): CaptureStore {
  const store = useContext(CaptureCtx);
  if (!store) throw new Error('useCaptureStore must be used inside <CaptureStoreProvider>');
  return store;
}

/**
 * A view store. With `syncUrl` its URL part (zoom, q, range, o, …) is read from the address bar on
 * mount and written back with history.replaceState whenever it changes, so a copied link opens
 * the same view.
 */
export function ViewStoreProvider({ children, syncUrl = false, initial }: { children: ReactNode; syncUrl?: boolean; initial?: Partial<ViewState> }) {
  // the router's search params (not window.location): right even during a client-side navigation
  const params = useSearchParams();
  const [store] = useState(() => createViewStore(syncUrl && params ? { ...initial, ...parseView(params.toString()) } : initial));
  useEffect(() => {
    if (!syncUrl) return;
    let last = serializeView(pickView(store.getState()));
    return store.subscribe((s) => {
      const q = serializeView(pickView(s));
      if (q === last) return;
      last = q;
      window.history.replaceState(window.history.state, '', q ? `?${q}` : window.location.pathname);
    });
  }, [store, syncUrl]);
  return <ViewCtx.Provider value={store}>{children}</ViewCtx.Provider>;
}

export function useView<T>(selector: (s: ViewStoreState) => T): T {
  const store = useContext(ViewCtx);
  if (!store) throw new Error('useView must be used inside <ViewStoreProvider>');
  return useStore(store, selector);
}

export function useViewStore(): ViewStore {
  const store = useContext(ViewCtx);
  if (!store) throw new Error('useViewStore must be used inside <ViewStoreProvider>');
  return store;
}

export function SnapshotsStoreProvider({ children, initial }: { children: ReactNode; initial?: SnapshotSummary[] }) {
  const [store] = useState(() => createSnapshotsStore({ initial }));
  return <SnapshotsCtx.Provider value={store}>{children}</SnapshotsCtx.Provider>;
}

export function useSnapshots<T>(selector: (s: SnapshotsState) => T): T {
  const store = useContext(SnapshotsCtx);
  if (!store) throw new Error('useSnapshots must be used inside <SnapshotsStoreProvider>');
  return useStore(store, selector);
}

export function useSnapshotsStore(): SnapshotsStore {
  const store = useContext(SnapshotsCtx);
  if (!store) throw new Error('useSnapshotsStore must be used inside <SnapshotsStoreProvider>');
  return store;
}
