/**
 * The reads both snapshot stores (SQLite, PostgreSQL) derive from the stored encoding of one snapshot:
 * each store only says how it fetches that (getEncoded).
 */
import type { Profile } from '@bpfscope/viz';
import type { SnapshotMeta } from './snapshots';
import { decodeFromStore, encodedAsObject } from './viz';

/** One snapshot as stored: its metadata, the codec of its profile and the profile's text. */
export interface EncodedSnapshot {
  snapshot: SnapshotMeta;
  codec: string;
  json: string;
}

/** The JSON text of `{snapshot, profile}` from a stored encoding. */
export function apiJsonText(e: EncodedSnapshot): string {
  const profile = e.codec === 'viz' ? e.json : JSON.stringify(encodedAsObject(e.codec, e.json));
  return `{"snapshot":${JSON.stringify(e.snapshot)},"profile":${profile}}`;
}

export abstract class EncodedSnapshotReads {
  abstract getEncoded(id: string): Promise<EncodedSnapshot | null>;

  async get(id: string): Promise<{ snapshot: SnapshotMeta; profile: Profile } | null> {
    const e = await this.getEncoded(id);
    return e ? { snapshot: e.snapshot, profile: decodeFromStore(e.codec, e.json) } : null;
  }

  async getApiJson(id: string): Promise<{ snapshot: SnapshotMeta; profile: unknown } | null> {
    const e = await this.getEncoded(id);
    return e ? { snapshot: e.snapshot, profile: encodedAsObject(e.codec, e.json) } : null;
  }

  async getApiJsonText(id: string): Promise<{ snapshot: SnapshotMeta; text: string } | null> {
    const e = await this.getEncoded(id);
    return e ? { snapshot: e.snapshot, text: apiJsonText(e) } : null;
  }
}
