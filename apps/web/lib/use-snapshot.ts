'use client';
/** Loads a snapshot's profile from /api/snapshots/<id>?format=json and decodes it. */
import { useEffect, useState } from 'react';
import { decodeProfileObject, type Profile } from '@bpfscope/viz';
import { api, type SnapshotMeta } from './api';

export interface LoadedSnapshot {
  snapshot: SnapshotMeta;
  profile: Profile;
  /** ms spent fetching + decoding (shown for transparency on big profiles). */
  loadMs: number;
}

export function useSnapshot(id: string, publicToken?: string): { data: LoadedSnapshot | null; error: string | null } {
  const [data, setData] = useState<LoadedSnapshot | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const t0 = performance.now();
    setData(null);
    setError(null);
    api
      .snapshot(id, publicToken)
      .then((r) => {
        if (!live) return;
        let profile: Profile;
        try {
          profile = decodeProfileObject(r.profile);
        } catch (e) {
          setError(`Snapshot ${id} could not be read: ${(e as Error).message}`);
          return;
        }
        setData({ snapshot: r.snapshot, profile, loadMs: performance.now() - t0 });
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [id, publicToken]);
  return { data, error };
}
