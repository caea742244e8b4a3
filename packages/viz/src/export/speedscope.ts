/**
 * speedscope JSON (file-format-schema.json): one `sampled` profile whose samples are the unique
 * stacks (root first) and weights their weights. Frames carry an extra `kind` field that speedscope
 * ignores and our importer reads back.
 */
import type { Profile, Unit } from '../model/types.js';

export interface SpeedscopeExportOptions {
  name?: string;
}

const UNITS: Record<Unit, string> = {
  samples: 'none',
  count: 'none',
  microseconds: 'microseconds',
  nanoseconds: 'nanoseconds',
  milliseconds: 'milliseconds',
  bytes: 'bytes',
};

export interface SpeedscopeFile {
  $schema: string;
  exporter: string;
  name: string;
  activeProfileIndex: number;
  shared: { frames: { name: string; kind: string }[] };
  profiles: { type: 'sampled'; name: string; unit: string; startValue: number; endValue: number; samples: number[][]; weights: number[] }[];
}

export function toSpeedscopeObject(p: Profile, opts: SpeedscopeExportOptions = {}): SpeedscopeFile {
  const name = opts.name ?? p.meta.name ?? p.meta.source?.fileName ?? 'bpfscope profile';
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    exporter: 'bpfscope',
    name,
    activeProfileIndex: 0,
    shared: { frames: p.frames.map((f) => ({ name: f.name, kind: f.kind })) },
    profiles: [
      {
        type: 'sampled',
        name,
        unit: UNITS[p.unit],
        startValue: 0,
        endValue: p.total,
        samples: p.stacks.map((s) => s.frames.slice()),
        weights: p.stacks.map((s) => s.weight),
      },
    ],
  };
}

export function toSpeedscope(p: Profile, opts: SpeedscopeExportOptions = {}): string {
  return JSON.stringify(toSpeedscopeObject(p, opts));
}
