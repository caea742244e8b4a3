/**
 * pprof export, gzipped (what `go tool pprof` and Pyroscope read). Pure JS (pprof-format + fflate)
 * so it runs in the browser too. One location per frame; a mapping per frame kind named
 * `[bpfscope:<kind>]` keeps kinds across a round trip (kernel frames use `[kernel.kallsyms]`).
 * Source lines (Stack.lines) become more locations: one per (frame, line) used, whose Line has the
 * line number and whose Function has the file name (pprof keeps the file on the function).
 */
import { Function as PFunction, Label, Line, Location, Mapping, Profile as PprofProfile, Sample, StringTable, ValueType } from 'pprof-format';
import { gzipSync } from 'fflate';
import type { FrameKind, Profile, Unit } from '../model/types.js';
import { FRAME_KINDS } from '../model/kinds.js';

export interface PprofExportOptions {
  /** sample type name; default "samples" for sample counts, else "time"/"bytes"/"count". */
  sampleType?: string;
  /** skip gzip (raw .pb bytes). */
  raw?: boolean;
}

const UNIT_NAMES: Record<Unit, [string, string]> = {
  samples: ['samples', 'count'],
  count: ['count', 'count'],
  microseconds: ['time', 'microseconds'],
  nanoseconds: ['time', 'nanoseconds'],
  milliseconds: ['time', 'milliseconds'],
  bytes: ['space', 'bytes'],
};

export function mappingNameForKind(kind: FrameKind): string {
  return kind === 'kernel' ? '[kernel.kallsyms]' : `[bpfscope:${kind}]`;
}

export function toPprofBytes(p: Profile, opts: PprofExportOptions = {}): Uint8Array {
  const st = new StringTable();
  const [typeName, unitName] = UNIT_NAMES[p.unit];
  const sampleType = [new ValueType({ type: st.dedup(opts.sampleType ?? typeName), unit: st.dedup(unitName) })];
  const mappings = FRAME_KINDS.map((k, i) => new Mapping({ id: i + 1, filename: st.dedup(mappingNameForKind(k)), hasFunctions: true }));
  const functions: PFunction[] = [];
  const locations: Location[] = [];
  p.frames.forEach((f, i) => {
    functions.push(new PFunction({ id: i + 1, name: st.dedup(f.name), systemName: st.dedup(f.name) }));
    locations.push(new Location({ id: i + 1, mappingId: FRAME_KINDS.indexOf(f.kind) + 1, line: [new Line({ functionId: i + 1 })] }));
  });
  // (frame, line) -> location id, and (frame, file) -> function id, made on first use
  const lineLocs = new Map<string, number>();
  const fileFns = new Map<string, number>();
  const locOf = (frame: number, lineId: number): number => {
    if (!lineId) return frame + 1;
    const k = frame + ':' + lineId;
    let loc = lineLocs.get(k);
    if (loc === undefined) {
      const src = p.lines![lineId]!;
      const f = p.frames[frame]!;
      const fk = frame + '\0' + src.file;
      let fn = fileFns.get(fk);
      if (fn === undefined) {
        fn = functions.length + 1;
        functions.push(new PFunction({ id: fn, name: st.dedup(f.name), systemName: st.dedup(f.name), filename: st.dedup(src.file) }));
        fileFns.set(fk, fn);
      }
      loc = locations.length + 1;
      locations.push(new Location({ id: loc, mappingId: FRAME_KINDS.indexOf(f.kind) + 1, line: [new Line({ functionId: fn, line: src.line })] }));
      lineLocs.set(k, loc);
    }
    return loc;
  };
  // a multi-host profile (meta.hosts): the root frame is the host, carried as the label `host`
  const fleet = !!p.meta.hosts?.length;
  const hostKey = fleet ? st.dedup('host') : 0;
  const samples = p.stacks.map((s) => {
    const skip = fleet && s.frames.length ? 1 : 0;
    const n = s.frames.length - skip;
    const loc = new Array<number>(n);
    const ls = s.lines;
    for (let i = 0; i < n; i++) {
      const j = s.frames.length - 1 - i; // leaf first
      loc[i] = ls ? locOf(s.frames[j], ls[j]) : s.frames[j] + 1;
    }
    if (!skip) return new Sample({ locationId: loc, value: [s.weight] });
    const host = p.frames[s.frames[0]!]!.name;
    return new Sample({ locationId: loc, value: [s.weight], label: [new Label({ key: hostKey, str: st.dedup(host) })] });
  });
  const prof = new PprofProfile({
    sampleType,
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: st,
    ...(p.meta.startTime ? { timeNanos: BigInt(Math.round(p.meta.startTime)) * 1000000n } : {}),
    ...(p.meta.durationMs ? { durationNanos: BigInt(Math.round(p.meta.durationMs * 1e6)) } : {}),
  });
  return prof.encode();
}

/** pprof protobuf, gzipped (unless opts.raw). */
export function toPprof(p: Profile, opts: PprofExportOptions = {}): Uint8Array {
  const raw = toPprofBytes(p, opts);
  return opts.raw ? raw : gzipSync(raw, { level: 6 });
}
