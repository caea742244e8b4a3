/** Shared plumbing of the operations: rebuild a profile from transformed stacks, carrying the timeline (and the source lines of unchanged stacks) along. */
import type { Frame, Profile, ProfileMeta } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';

/**
 * Rebuild `p` with each stack's frame ids transformed by `map` (ids index p.frames; return null to
 * drop the stack). Frames are re-interned, identical stacks merge, and the timeline follows.
 * `rename` optionally renames frames (id -> new Frame) before interning.
 * `bijective`: the caller promises that `map` never drops a stack and sends distinct stacks to
 * distinct id sequences (a reversal, the identity). Then only stacks holding a frame that `rename`
 * merges with another one can collide and are hashed; the others are appended as they are (the
 * hashing is most of the cost of invert/mergeByFunction on 200k stacks).
 */
export function rebuildProfile(
  p: Profile,
  map: (frames: readonly number[], stackIndex: number) => readonly number[] | null,
  opts: { meta?: ProfileMeta; rename?: (f: Frame) => Frame; bijective?: boolean } = {},
): Profile {
  const b = new ProfileBuilder(p.unit, opts.meta ?? p.meta);
  const remap = new Int32Array(p.frames.length).fill(-1);
  const id = (old: number): number => {
    let r = remap[old];
    if (r < 0) {
      const f = opts.rename ? opts.rename(p.frames[old]) : p.frames[old];
      r = remap[old] = b.frameId(f.name, f.kind);
    }
    return r;
  };
  const newIndex = new Int32Array(p.stacks.length).fill(-1);
  if (opts.bijective) {
    // frames that share their new (name, kind) with another frame: stacks through them may merge
    const shared = new Uint8Array(p.frames.length);
    if (opts.rename) {
      const first = new Map<string, number>();
      p.frames.forEach((f0, i) => {
        const f = opts.rename!(f0);
        const k = f.kind + '\u0000' + f.name;
        const j = first.get(k);
        if (j === undefined) first.set(k, i);
        else shared[i] = shared[j] = 1;
      });
    }
    const merged = new Map<string, number>();
    p.stacks.forEach((s, i) => {
      const m = map(s.frames, i);
      if (m === null) throw new Error('rebuildProfile: a bijective map dropped a stack');
      const ids = new Array<number>(m.length);
      let collides = false;
      for (let k = 0; k < m.length; k++) {
        ids[k] = id(m[k]);
        if (shared[m[k]]) collides = true;
      }
      if (!collides) {
        newIndex[i] = b.addUniqueStackIds(ids, s.weight);
        return;
      }
      const key = ids.join(',');
      const at = merged.get(key);
      if (at === undefined) merged.set(key, (newIndex[i] = b.addUniqueStackIds(ids, s.weight)));
      else {
        b.addWeight(at, s.weight);
        newIndex[i] = at;
      }
    });
  } else {
    // source lines follow a stack that `map` keeps as it is (exclude drops whole stacks); a stack
    // whose frames change (cut, merged) loses them: they no longer align
    const lineRemap = p.lines ? new Int32Array(p.lines.length).fill(-1) : undefined;
    p.stacks.forEach((s, i) => {
      const m = map(s.frames, i);
      if (m === null) return;
      const ids = new Array<number>(m.length);
      for (let k = 0; k < m.length; k++) ids[k] = id(m[k]);
      let lines: number[] | undefined;
      if (s.lines && m === s.frames && lineRemap) {
        lines = new Array<number>(s.lines.length);
        for (let k = 0; k < s.lines.length; k++) {
          const l = s.lines[k];
          let r = lineRemap[l];
          if (r < 0) r = lineRemap[l] = b.lineId(p.lines![l].file, p.lines![l].line);
          lines[k] = r;
        }
      }
      newIndex[i] = b.addStackIds(ids, s.weight, undefined, undefined, lines);
    });
  }
  const tl = p.timeline;
  if (tl) {
    b.enableTimeline({ resolutionMs: tl.resolutionMs, startTime: tl.startTime });
    for (let i = 0; i < tl.offsetMs.length; i++) {
      const ni = newIndex[tl.stack[i]];
      if (ni >= 0) b.addTimelineSample(ni, tl.startTime + tl.offsetMs[i], tl.count[i]);
    }
  }
  if (p.histograms) b.setHistograms(p.histograms);
  return b.build();
}

/** Compile a user-supplied pattern, with a clear error when it is not a valid regular expression. */
export function toRegExp(pattern: string | RegExp, what = 'pattern'): RegExp {
  if (pattern instanceof RegExp) return pattern;
  if (typeof pattern !== 'string' || pattern === '') throw new Error(`${what}: expected a non-empty regular expression`);
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new Error(
      `${what} ${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message}); escape special characters such as ( [ + with a backslash`,
    );
  }
}

/** Test a regex against a frame name without carrying lastIndex state between calls (g/y flags). */
export function matches(re: RegExp, name: string): boolean {
  re.lastIndex = 0;
  return re.test(name);
}
