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
  if (p.meta.hosts?.length) {
    // a multi-host profile: one speedscope profile per host, named by it, stacks without the host root
    const byHost = new Map<number, { samples: number[][]; weights: number[]; total: number }>();
    for (const s of p.stacks) {
      const root = s.frames[0];
      if (root === undefined) continue;
      let h = byHost.get(root);
      if (!h) byHost.set(root, (h = { samples: [], weights: [], total: 0 }));
      h.samples.push(s.frames.slice(1));
      h.weights.push(s.weight);
      h.total += s.weight;
    }
    return speedscopeFile(
      p,
      name,
      [...byHost].map(([root, h]) => sampled(p.frames[root]!.name, p.unit, h.total, h.samples, h.weights)),
    );
  }
  return speedscopeFile(p, name, [
    sampled(
      name,
      p.unit,
      p.total,
      p.stacks.map((s) => s.frames.slice()),
      p.stacks.map((s) => s.weight),
    ),
  ]);
}

type SpeedscopeProfile = SpeedscopeFile['profiles'][number];

/** The file around its profiles: every frame of `p` is shared by them. */
function speedscopeFile(p: Profile, name: string, profiles: SpeedscopeProfile[]): SpeedscopeFile {
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    exporter: 'bpfscope',
    name,
    activeProfileIndex: 0,
    shared: { frames: p.frames.map((f) => ({ name: f.name, kind: f.kind })) },
    profiles,
  };
}

/** One `sampled` profile: stacks (frame indexes, root first) and their weights, `total` their sum. */
function sampled(name: string, unit: Unit, total: number, samples: number[][], weights: number[]): SpeedscopeProfile {
  return { type: 'sampled', name, unit: UNITS[unit], startValue: 0, endValue: total, samples, weights };
}

export function toSpeedscope(p: Profile, opts: SpeedscopeExportOptions = {}): string {
  return JSON.stringify(toSpeedscopeObject(p, opts));
}
