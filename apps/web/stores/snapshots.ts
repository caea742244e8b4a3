/**
 * Snapshots store (/snapshots): the list with its search, delete, and file import.
 * Created per provider.
 */
import { createStore } from 'zustand/vanilla';
import { api, type SnapshotSummary } from '../lib/api';

export interface SnapshotsState {
  q: string;
  items: SnapshotSummary[];
  loading: boolean;
  loaded: boolean;
  error: string | null;
  importing: string | null;
  importError: string | null;
  imported: { id: string; url: string; fileName: string } | null;
  deleting: string | null;
  deleteError: string | null;

  setQuery(q: string): void;
  load(): Promise<void>;
  remove(id: string): Promise<void>;
  importFile(file: File): Promise<void>;
}

export function createSnapshotsStore(deps: { api?: typeof api; initial?: SnapshotSummary[] } = {}) {
  const a = deps.api ?? api;
  let loadSeq = 0;
  return createStore<SnapshotsState>()((set, get) => ({
    q: '',
    items: deps.initial ?? [],
    loading: false,
    loaded: !!deps.initial,
    error: null,
    importing: null,
    importError: null,
    imported: null,
    deleting: null,
    deleteError: null,

    setQuery(q) {
      set({ q });
    },

    async load() {
      const seq = ++loadSeq;
      set({ loading: true });
      try {
        const { snapshots } = await a.snapshots(get().q.trim());
        if (seq !== loadSeq) return;
        set({ items: snapshots, loading: false, loaded: true, error: null });
      } catch (e) {
        if (seq !== loadSeq) return;
        set({ loading: false, loaded: true, error: (e as Error).message });
      }
    },

    async remove(id) {
      set({ deleting: id, deleteError: null });
      try {
        await a.deleteSnapshot(id);
        set({ items: get().items.filter((s) => s.id !== id), deleting: null });
      } catch (e) {
        set({ deleting: null, deleteError: (e as Error).message });
      }
    },

    async importFile(file) {
      set({ importing: file.name, importError: null, imported: null });
      try {
        const r = await a.importFile(file, file.name);
        set({ importing: null, imported: { id: r.id, url: r.url || `/s/${r.id}`, fileName: file.name } });
        await get().load();
      } catch (e) {
        set({ importing: null, importError: (e as Error).message });
      }
    },
  }));
}

export type SnapshotsStore = ReturnType<typeof createSnapshotsStore>;
