/**
 * pprof protobuf profiles (`.pb`, or gzipped `.pb.gz` as Go and pprof write them), decoded with the
 * pprof-format package (pure JS, runs in the browser). Each location expands into its line entries
 * (inlined functions first, kind inline); mapping file names tell kernel (`[kernel.kallsyms]`,
 * `[kernel]`) and JIT frames apart. Our own exporter stores frame kinds in mapping names
 * (`[bpfscope:kind]`) so they survive a round trip.
 */
import { Profile as PprofProfile } from 'pprof-format';
import { gunzipSync } from 'fflate';
import type { FrameKind, Profile, ProfileMeta, Unit } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';
import { isFrameKind } from '../model/kinds.js';
import { ImportError } from './errors.js';

export interface PprofImportOptions {
  /** sample type to use, by name (e.g. "cpu", "samples", "alloc_space") or index. Default: the
   * profile's default sample type, else the last one (as `go tool pprof` does: cpu over samples). */
  sampleType?: string | number;
  meta?: ProfileMeta;
  fileName?: string;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzip(bytes: Uint8Array, format: 'pprof' | 'unknown' = 'unknown'): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new ImportError(format, `gzip data is corrupt or truncated (${(e as Error).message})`);
  }
}

function unitOf(u: string): Unit {
  switch (u) {
    case 'nanoseconds':
      return 'nanoseconds';
    case 'microseconds':
      return 'microseconds';
    case 'milliseconds':
      return 'milliseconds';
    case 'bytes':
      return 'bytes';
    case 'count':
    case 'samples':
      return 'samples';
    default:
      return 'count';
  }
}

export function importPprof(bytes: Uint8Array, opts: PprofImportOptions = {}): Profile {
  if (!(bytes instanceof Uint8Array)) throw new ImportError('pprof', 'expected bytes (Uint8Array) of a .pb or .pb.gz file');
  if (isGzip(bytes)) bytes = gunzip(bytes, 'pprof');
  let pp: PprofProfile;
  try {
    pp = PprofProfile.decode(bytes);
  } catch (e) {
    throw new ImportError('pprof', `not a valid pprof protobuf (${(e as Error).message})`);
  }
  const str = pp.stringTable.strings;
  const s = (i: number | bigint) => {
    const n = Number(i);
    if (!(n >= 0 && n < str.length)) throw new ImportError('pprof', `string table index ${n} out of range (${str.length} strings)`);
    return str[n];
  };
  if (pp.sampleType.length === 0) throw new ImportError('pprof', 'the profile declares no sample types');
  const typeNames = pp.sampleType.map((t) => s(t.type));
  let ti: number;
  if (opts.sampleType !== undefined) {
    ti = typeof opts.sampleType === 'number' ? opts.sampleType : typeNames.indexOf(opts.sampleType);
    if (!(ti >= 0 && ti < typeNames.length))
      throw new ImportError(
        'pprof',
        `sample type ${JSON.stringify(opts.sampleType)} not found; the profile has ${typeNames.map((t, i) => `${i}:${t}`).join(', ')}`,
      );
  } else {
    const def = Number(pp.defaultSampleType);
    ti = def ? typeNames.indexOf(s(def)) : -1;
    if (ti < 0) ti = typeNames.length - 1; // pprof's convention: the last sample type
  }
  const unit = unitOf(s(pp.sampleType[ti].unit));
  const fns = new Map<number, { name: string; file: string }>();
  for (const f of pp.function) fns.set(Number(f.id), { name: s(f.name) || s(f.systemName) || '[unknown]', file: s(f.filename) });
  const mappings = new Map<number, string>();
  for (const m of pp.mapping) mappings.set(Number(m.id), s(m.filename));
  const b = new ProfileBuilder(unit, {
    tool: 'import',
    ...opts.meta,
    source: { format: 'pprof', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
    ...(Number(pp.timeNanos) ? { startTime: Math.round(Number(pp.timeNanos) / 1e6) } : {}),
    ...(Number(pp.durationNanos) ? { durationMs: Number(pp.durationNanos) / 1e6 } : {}),
  });
  // location id -> frame ids, leaf first (inlined first)
  const locs = new Map<number, number[]>();
  for (const loc of pp.location) {
    const mapName = mappings.get(Number(loc.mappingId)) ?? '';
    let kind: FrameKind = 'user';
    const km = /^\[bpfscope:(\w+)\]$/.exec(mapName);
    if (km && isFrameKind(km[1])) kind = km[1];
    else if (mapName === '[kernel.kallsyms]' || mapName === '[kernel]' || mapName.startsWith('[kernel.')) kind = 'kernel';
    else if (/(^|\/)perf-\d+\.map$/.test(mapName) || mapName === '[jit]') kind = 'jit';
    const ids: number[] = [];
    if (loc.line.length === 0) {
      const addr = Number(loc.address);
      ids.push(b.frameId(addr ? '0x' + addr.toString(16) : '[unknown]', km ? kind : 'unknown'));
    } else {
      loc.line.forEach((ln, k) => {
        const fn = fns.get(Number(ln.functionId));
        if (!fn) throw new ImportError('pprof', `location ${loc.id} refers to function ${ln.functionId}, which does not exist`);
        const isInlined = k < loc.line.length - 1;
        ids.push(b.frameId(fn.name, isInlined && !km ? 'inline' : kind));
      });
    }
    locs.set(Number(loc.id), ids);
  }
  let n = 0;
  for (const smp of pp.sample) {
    const v = smp.value[ti];
    if (v === undefined) throw new ImportError('pprof', `sample ${n} has ${smp.value.length} values, expected ${typeNames.length}`);
    const w = Number(v);
    n++;
    if (w === 0) continue;
    if (w < 0) throw new ImportError('pprof', `sample ${n - 1} has a negative value ${w} for ${typeNames[ti]}`);
    const stack: number[] = [];
    for (let i = smp.locationId.length - 1; i >= 0; i--) {
      const ids = locs.get(Number(smp.locationId[i]));
      if (!ids) throw new ImportError('pprof', `sample ${n - 1} refers to location ${smp.locationId[i]}, which does not exist`);
      for (let k = ids.length - 1; k >= 0; k--) stack.push(ids[k]);
    }
    b.addStackIds(stack, w);
  }
  if (n === 0) throw new ImportError('pprof', 'the profile has no samples');
  return b.build();
}
