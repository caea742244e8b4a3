/**
 * Stack transforms: focus (on a function or on one subtree), exclude, collapseRecursion,
 * mergeByFunction, invert, and the two halves of a sandwich view (callersOf, calleesOf).
 * Pure; return new profiles.
 */
import type { Profile } from '../model/types.js';
import { matches, rebuildProfile, toRegExp } from './rebuild.js';

export interface FocusOptions {
  /** cut each kept stack so it starts at the first (outermost) matching frame (speedscope-style focus). Default false: keep whole stacks (pprof -focus). */
  reroot?: boolean;
}

/**
 * Which frames an operation applies to: a string is a regular expression (as pprof's -focus), a
 * RegExp is used as given, `{ name }` selects the frames named exactly `name` (any kind) — what a
 * frame's menu uses, since traced names are untrusted text and must never be read as a pattern.
 */
export type FrameSelector = string | RegExp | { readonly name: string };

function matchingFrames(p: Profile, sel: FrameSelector, what: string): Uint8Array {
  const m = new Uint8Array(p.frames.length);
  if (typeof sel === 'object' && !(sel instanceof RegExp)) {
    if (!sel || typeof sel.name !== 'string') throw new Error(`${what}: expected a regular expression or { name }`);
    p.frames.forEach((f, i) => {
      if (f.name === sel.name) m[i] = 1;
    });
    return m;
  }
  const re = toRegExp(sel, what);
  p.frames.forEach((f, i) => {
    if (matches(re, f.name)) m[i] = 1;
  });
  return m;
}

/** Keep only the stacks that contain a frame matching `pattern`. */
export function focus(p: Profile, pattern: FrameSelector, opts: FocusOptions = {}): Profile {
  const m = matchingFrames(p, pattern, 'focus');
  return rebuildProfile(p, (fr) => {
    for (let i = 0; i < fr.length; i++) if (m[fr[i]]) return opts.reroot ? fr.slice(i) : fr;
    return null;
  });
}

/** Drop the stacks that contain a frame matching `pattern`. */
export function exclude(p: Profile, pattern: FrameSelector): Profile {
  const m = matchingFrames(p, pattern, 'exclude');
  return rebuildProfile(p, (fr) => {
    for (let i = 0; i < fr.length; i++) if (m[fr[i]]) return null;
    return fr;
  });
}

/**
 * Collapse direct recursion: runs of the same frame (a;a;a;b → a;b). With `only`, just the runs of
 * the selected frames (the other functions keep their recursion).
 */
export function collapseRecursion(p: Profile, only?: FrameSelector): Profile {
  const m = only === undefined ? null : matchingFrames(p, only, 'collapseRecursion');
  return rebuildProfile(p, (fr) => {
    const out: number[] = [];
    for (let i = 0; i < fr.length; i++) {
      const prev = out[out.length - 1];
      const same = prev !== undefined && p.frames[prev].name === p.frames[fr[i]].name && p.frames[prev].kind === p.frames[fr[i]].kind;
      if (!same || (m !== null && !m[fr[i]])) out.push(fr[i]);
    }
    return out;
  });
}

/**
 * Focus on one subtree of the call tree, named by its path of frame names from the root (as a
 * flame graph's zoom path): keep the stacks that pass through it and cut them so that the last
 * frame of the path becomes the root. With `inverted`, `path` is a path of the inverted
 * (bottom-up) tree, leaf first: keep the stacks that end with it and cut off the frames below its
 * last frame, which becomes the leaf (a root again once inverted) — as the Firefox Profiler's
 * "focus on subtree" in its inverted call tree.
 */
export function focusSubtree(p: Profile, path: readonly string[], opts: { inverted?: boolean } = {}): Profile {
  if (!Array.isArray(path) || path.length === 0) throw new Error('focusSubtree: expected a path of at least one frame name');
  const k = path.length;
  const name = (id: number) => p.frames[id].name;
  return rebuildProfile(p, (fr) => {
    if (fr.length < k) return null;
    if (opts.inverted) {
      const n = fr.length;
      for (let i = 0; i < k; i++) if (name(fr[n - 1 - i]) !== path[i]) return null;
      return fr.slice(0, n - k + 1);
    }
    for (let i = 0; i < k; i++) if (name(fr[i]) !== path[i]) return null;
    return fr.slice(k - 1);
  });
}

/**
 * The callees half of a sandwich view: every stack through a selected frame, cut to start at its
 * outermost occurrence (so each sample counts once and recursion stays visible below it).
 */
export function calleesOf(p: Profile, sel: FrameSelector): Profile {
  return focus(p, sel, { reroot: true });
}

/**
 * The callers half of a sandwich view: every stack through a selected frame, cut after its
 * innermost occurrence and reversed, so the function is the root and its callers (then theirs)
 * are its children — speedscope's inverted "Callers" flame graph.
 */
export function callersOf(p: Profile, sel: FrameSelector): Profile {
  const m = matchingFrames(p, sel, 'callersOf');
  return rebuildProfile(p, (fr) => {
    for (let i = fr.length - 1; i >= 0; i--) if (m[fr[i]]) return fr.slice(0, i + 1).reverse();
    return null;
  });
}

const OFFSET_RE = /\+(?:0x[0-9a-fA-F]+|\d+)(?:\/0x[0-9a-fA-F]+)?$/;

/** Strip a trailing `+0x1d`, `+29` or `+0x1d/0x80` offset from a symbol. */
export function stripOffset(name: string): string {
  return name.replace(OFFSET_RE, '');
}

/** Merge frames that differ only by their offset (func+0x10 and func+0x24 → func). */
export function mergeByFunction(p: Profile): Profile {
  return rebuildProfile(p, (fr) => fr, { rename: (f) => (OFFSET_RE.test(f.name) ? { name: stripOffset(f.name), kind: f.kind } : f), bijective: true });
}

/** Bottom-up (inverted) profile: every stack reversed, so leaves become roots (an icicle of callers). */
export function invert(p: Profile): Profile {
  return rebuildProfile(p, (fr) => fr.slice().reverse(), { bijective: true });
}
