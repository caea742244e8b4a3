/**
 * Multi-host profiles (fleet captures): every stack's root frame is the host's name. The merged
 * view is the same profile without that root level; the by-host view is the profile as stored.
 */
import type { Profile } from '@bpfscope/viz';

/** Whether a profile came from several hosts (the hub marks fleet captures in meta.hosts). */
export function isFleetProfile(p: Profile | null | undefined): boolean {
  return !!p?.meta.hosts?.length;
}

/** The merged view: each stack without its host root frame (a tree merges equal paths by name). */
export function mergeHosts(p: Profile): Profile {
  return { ...p, stacks: p.stacks.map((s) => ({ frames: s.frames.slice(1), weight: s.weight })) };
}

/** Weight per host (root frame name), in the order hosts first appear. */
export function weightByHost(p: Profile): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of p.stacks) {
    const root = s.frames[0];
    if (root === undefined) continue;
    const name = p.frames[root]?.name ?? '?';
    out.set(name, (out.get(name) ?? 0) + s.weight);
  }
  return out;
}

/** Which root names a host comparison side keeps: one host, or every host but `other` ("rest"). */
export function hostSlice(p: Profile, host: string, other?: string): Profile {
  const keep = (name: string) => (host === 'rest' ? name !== other : name === host);
  const stacks = p.stacks
    .filter((s) => s.frames.length > 0 && keep(p.frames[s.frames[0]!]?.name ?? ''))
    .map((s) => ({ frames: s.frames.slice(1), weight: s.weight }));
  const total = stacks.reduce((a, s) => a + s.weight, 0);
  return { ...p, stacks, total, meta: { ...p.meta, name: host === 'rest' ? `all hosts but ${other}` : host, hosts: undefined, partial: undefined } };
}
