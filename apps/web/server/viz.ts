/**
 * The one place the hub calls @bpfscope/viz's import/export functions (typed imports): the stored
 * form of a snapshot, uploads, and the download formats.
 */
import {
  decodeProfile,
  encodeProfile,
  encodeProfileObject,
  importProfile as vizImportProfile,
  toFolded,
  toPprof,
  toSpeedscope,
  toSvg,
  type Profile,
  type ProfileFormat,
} from '@bpfscope/viz';

export const EXPORT_FORMATS = ['json', 'folded', 'pprof', 'speedscope', 'svg'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const IMPORT_FORMATS: readonly ProfileFormat[] = ['folded', 'perf-script', 'pprof', 'bpftrace', 'speedscope', 'bpfscope'];

/**
 * Stored codecs: 'viz' is the compact bpfscope JSON (encodeProfile). 'raw' (a Profile as plain
 * JSON) was written by early versions when viz had no codec; such rows are still read.
 */
export type StoreCodec = 'viz' | 'raw';

/** Serializes a profile for storage (the compact bpfscope JSON). */
export function encodeForStore(p: Profile): { codec: StoreCodec; json: string } {
  return { codec: 'viz', json: encodeProfile(p) };
}

export function decodeFromStore(codec: string, json: string): Profile {
  if (codec === 'raw') return JSON.parse(json) as Profile;
  if (codec !== 'viz') throw new Error(`stored snapshot has an unknown codec ${JSON.stringify(codec)} (expected "viz" or "raw")`);
  return decodeProfile(json);
}

/** The bpfscope JSON as a value (for `?format=json`). */
export function encodedAsObject(codec: string, json: string): unknown {
  if (codec === 'raw') return encodeProfileObject(JSON.parse(json) as Profile);
  return JSON.parse(json);
}

/** Imports an uploaded file (format by name, then by content); throws ImportError naming what is wrong. */
export function importProfile(input: string | Uint8Array, opts: { fileName?: string; format?: ProfileFormat }): Profile {
  return vizImportProfile(input, opts);
}

/** Renders a profile in one download format. Returns the body and its content type. */
export function exportProfile(p: Profile, format: Exclude<ExportFormat, 'json'>): { body: string | Uint8Array; contentType: string; ext: string } {
  switch (format) {
    case 'folded':
      return { body: toFolded(p), contentType: 'text/plain; charset=utf-8', ext: 'folded' };
    case 'pprof':
      return { body: toPprof(p), contentType: 'application/octet-stream', ext: 'pb.gz' };
    case 'speedscope':
      return { body: toSpeedscope(p), contentType: 'application/json; charset=utf-8', ext: 'speedscope.json' };
    case 'svg':
      return { body: toSvg(p), contentType: 'image/svg+xml; charset=utf-8', ext: 'svg' };
    default:
      throw new Error(`unknown export format ${JSON.stringify(format)}; expected one of ${EXPORT_FORMATS.filter((f) => f !== 'json').join(', ')}`);
  }
}
