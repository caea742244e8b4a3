/** merge: the sum of several profiles (same unit). */
import type { HistogramSeries, Profile, ProfileMeta } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';

export function merge(profiles: readonly Profile[], meta?: ProfileMeta): Profile {
  if (profiles.length === 0) throw new Error('merge: no profiles given');
  const unit = profiles[0].unit;
  profiles.forEach((p, i) => {
    if (p.unit !== unit) throw new Error(`merge: profile ${i} is in ${p.unit} but profile 0 is in ${unit}; only profiles of the same unit can be merged`);
  });
  const m0 = profiles[0].meta;
  const starts = profiles.map((p) => p.meta.startTime).filter((t): t is number => t !== undefined);
  const ends = profiles
    .map((p) => (p.meta.startTime !== undefined && p.meta.durationMs !== undefined ? p.meta.startTime + p.meta.durationMs : undefined))
    .filter((t): t is number => t !== undefined);
  const b = new ProfileBuilder(
    unit,
    meta ?? {
      ...(m0.tool ? { tool: m0.tool } : {}),
      ...(m0.host && profiles.every((p) => p.meta.host === m0.host) ? { host: m0.host } : {}),
      name: `merge of ${profiles.length} profiles`,
      ...(starts.length ? { startTime: Math.min(...starts) } : {}),
      ...(starts.length && ends.length === profiles.length ? { durationMs: Math.max(...ends) - Math.min(...starts) } : {}),
    },
  );
  const timelines = profiles.filter((p) => p.timeline);
  const withTimeline = timelines.length === profiles.length;
  if (withTimeline) {
    const res = Math.max(...profiles.map((p) => p.timeline!.resolutionMs));
    b.enableTimeline({ resolutionMs: res, startTime: Math.min(...profiles.map((p) => p.timeline!.startTime)) });
  }
  for (const p of profiles) {
    const remap = p.frames.map((f) => b.frameId(f.name, f.kind));
    const idx = p.stacks.map((s) =>
      b.addStackIds(
        s.frames.map((f) => remap[f]),
        s.weight,
      ),
    );
    if (withTimeline) {
      const t = p.timeline!;
      for (let i = 0; i < t.offsetMs.length; i++) b.addTimelineSample(idx[t.stack[i]], t.startTime + t.offsetMs[i], t.count[i]);
    }
  }
  const hs = profiles.map((p) => p.histograms).filter((h): h is HistogramSeries => !!h);
  if (hs.length) {
    const h0 = hs[0];
    if (hs.some((h) => h.unit !== h0.unit || h.keyKind !== h0.keyKind)) throw new Error('merge: histograms differ in unit or key kind');
    b.setHistograms({ unit: h0.unit, keyKind: h0.keyKind, intervals: hs.flatMap((h) => h.intervals).sort((a, c) => a.start - c.start) });
  }
  return b.build();
}
