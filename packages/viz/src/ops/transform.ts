/** Stack transforms: focus, exclude, collapseRecursion, mergeByFunction, invert. Pure; return new profiles. */
import type { Profile } from '../model/types.js';
import { matches, rebuildProfile, toRegExp } from './rebuild.js';

export interface FocusOptions {
  /** cut each kept stack so it starts at the first (outermost) matching frame (speedscope-style focus). Default false: keep whole stacks (pprof -focus). */
  reroot?: boolean;
}

function matchingFrames(p: Profile, pattern: string | RegExp, what: string): Uint8Array {
  const re = toRegExp(pattern, what);
  const m = new Uint8Array(p.frames.length);
  p.frames.forEach((f, i) => {
    if (matches(re, f.name)) m[i] = 1;
  });
  return m;
}

/** Keep only the stacks that contain a frame matching `pattern`. */
export function focus(p: Profile, pattern: string | RegExp, opts: FocusOptions = {}): Profile {
  const m = matchingFrames(p, pattern, 'focus');
  return rebuildProfile(p, (fr) => {
    for (let i = 0; i < fr.length; i++) if (m[fr[i]]) return opts.reroot ? fr.slice(i) : fr;
    return null;
  });
}

/** Drop the stacks that contain a frame matching `pattern`. */
export function exclude(p: Profile, pattern: string | RegExp): Profile {
  const m = matchingFrames(p, pattern, 'exclude');
  return rebuildProfile(p, (fr) => {
    for (let i = 0; i < fr.length; i++) if (m[fr[i]]) return null;
    return fr;
  });
}

/** Collapse direct recursion: runs of the same frame (a;a;a;b → a;b). */
export function collapseRecursion(p: Profile): Profile {
  return rebuildProfile(p, (fr) => {
    const out: number[] = [];
    for (let i = 0; i < fr.length; i++) {
      const prev = out[out.length - 1];
      if (prev === undefined || p.frames[prev].name !== p.frames[fr[i]].name || p.frames[prev].kind !== p.frames[fr[i]].kind) out.push(fr[i]);
    }
    return out;
  });
}

const OFFSET_RE = /\+(?:0x[0-9a-fA-F]+|\d+)(?:\/0x[0-9a-fA-F]+)?$/;

/** Strip a trailing `+0x1d`, `+29` or `+0x1d/0x80` offset from a symbol. */
export function stripOffset(name: string): string {
  return name.replace(OFFSET_RE, '');
}

/** Merge frames that differ only by their offset (func+0x10 and func+0x24 → func). */
export function mergeByFunction(p: Profile): Profile {
  return rebuildProfile(p, (fr) => fr, { rename: (f) => (OFFSET_RE.test(f.name) ? { name: stripOffset(f.name), kind: f.kind } : f) });
}

/** Bottom-up (inverted) profile: every stack reversed, so leaves become roots (an icicle of callers). */
export function invert(p: Profile): Profile {
  return rebuildProfile(p, (fr) => fr.slice().reverse());
}
