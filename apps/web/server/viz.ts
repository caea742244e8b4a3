/**
 * The one place the hub calls @bpfscope/viz's import/export functions. Kept behind this small
 * module so handlers and the store have typed entry points and a clear error if a format's
 * implementation is missing from the viz build.
 */
import * as viz from '@bpfscope/viz';
import type { Profile, ProfileFormat } from '@bpfscope/viz';

type Fn = (...args: any[]) => any;
const v = viz as unknown as Record<string, Fn | undefined>;

function need(name: string): Fn {
  const f = v[name];
  if (typeof f !== 'function') throw new Error(`@bpfscope/viz does not export ${name}() (rebuild packages/viz: npx tsc -b packages/viz)`);
  return f;
}

export const EXPORT_FORMATS = ['json', 'folded', 'pprof', 'speedscope', 'svg'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const IMPORT_FORMATS: readonly ProfileFormat[] = ['folded', 'perf-script', 'pprof', 'bpftrace', 'speedscope', 'bpfscope'];

/** Serializes a profile for storage: viz's encodeProfile when present, else the plain data. */
export function encodeForStore(p: Profile): { codec: 'viz' | 'raw'; json: string } {
  const f = v.encodeProfile;
  if (typeof f === 'function') {
    const out = f(p);
    return { codec: 'viz', json: typeof out === 'string' ? out : JSON.stringify(out) };
  }
  return { codec: 'raw', json: JSON.stringify(p) };
}

export function decodeFromStore(codec: string, json: string): Profile {
  if (codec === 'raw') return JSON.parse(json) as Profile;
  const f = need('decodeProfile');
  // decodeProfile may take the text or the parsed object; try the text first.
  try {
    return f(json) as Profile;
  } catch (e) {
    try {
      return f(JSON.parse(json)) as Profile;
    } catch {
      throw e;
    }
  }
}

/** encodeProfile output as a JSON value (for `?format=json`). */
export function encodedAsObject(codec: string, json: string): unknown {
  if (codec === 'raw') {
    const f = v.encodeProfile;
    if (typeof f === 'function') {
      const out = f(JSON.parse(json));
      return typeof out === 'string' ? JSON.parse(out) : out;
    }
  }
  return JSON.parse(json);
}

export function importProfile(input: string | Uint8Array, opts: { fileName?: string; format?: ProfileFormat }): Profile {
  return need('importProfile')(input, opts) as Profile;
}

/** Renders a profile in one download format. Returns the body and its content type. */
export function exportProfile(p: Profile, format: Exclude<ExportFormat, 'json'>): { body: string | Uint8Array; contentType: string; ext: string } {
  switch (format) {
    case 'folded':
      return { body: need('toFolded')(p) as string, contentType: 'text/plain; charset=utf-8', ext: 'folded' };
    case 'pprof': {
      const out = need('toPprof')(p) as Uint8Array | ArrayBuffer;
      return { body: out instanceof Uint8Array ? out : new Uint8Array(out), contentType: 'application/octet-stream', ext: 'pb.gz' };
    }
    case 'speedscope': {
      const out = need('toSpeedscope')(p);
      return { body: typeof out === 'string' ? out : JSON.stringify(out), contentType: 'application/json; charset=utf-8', ext: 'speedscope.json' };
    }
    case 'svg':
      return { body: need('toSvg')(p) as string, contentType: 'image/svg+xml; charset=utf-8', ext: 'svg' };
  }
}
