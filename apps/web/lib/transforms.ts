/**
 * The transforms a user applies to a flame graph from a frame's menu (focus, exclude, merge,
 * collapse recursion), in the order applied, like the Firefox Profiler's transform stack; and the
 * view mode (flame graph | inverted | sandwich). Pure: parsing/serializing for the URL
 * (lib/view-url.ts), labels for the chips, and application through @bpfscope/viz's ops.
 *
 * Frames are named by their exact names (never read as patterns: names are untrusted text).
 */
import { callersOf, calleesOf, collapseRecursion, exclude, focus, focusSubtree, invert, mergeByFunction, type Profile } from '@bpfscope/viz';

export type ViewMode = 'flame' | 'inverted' | 'sandwich';
export const VIEW_MODES: readonly ViewMode[] = ['flame', 'inverted', 'sandwich'];

export type Transform =
  /** one subtree (path of names from the root of the flame graph, or of the inverted graph when `inverted`) becomes the root. */
  | { kind: 'focus-subtree'; path: string[]; inverted?: boolean }
  /** every stack through the function, cut to start at it (all its occurrences merged). */
  | { kind: 'focus-function'; name: string }
  /** drop every stack through the function. */
  | { kind: 'exclude'; name: string }
  /** func+0x10 and func+0x24 (and module+0x… of unsymbolized frames) become one frame. */
  | { kind: 'merge-function' }
  /** direct recursion of the function collapses into one frame. */
  | { kind: 'collapse-recursion'; name: string };

const PATH_SEPARATOR = ';';

/** One URL value (`t=`) per transform: `focus:a;b`, `focusi:leaf;caller`, `fn:name`, `x:name`, `rec:name`, `merge`. */
export function serializeTransform(t: Transform): string {
  switch (t.kind) {
    case 'focus-subtree':
      return `${t.inverted ? 'focusi' : 'focus'}:${t.path.join(PATH_SEPARATOR)}`;
    case 'focus-function':
      return `fn:${t.name}`;
    case 'exclude':
      return `x:${t.name}`;
    case 'collapse-recursion':
      return `rec:${t.name}`;
    case 'merge-function':
      return 'merge';
  }
}

/** The transform of a URL value, or null when it is not one (bad links fall back to the plain view). */
export function parseTransform(s: string): Transform | null {
  if (s === 'merge') return { kind: 'merge-function' };
  const i = s.indexOf(':');
  if (i <= 0) return null;
  const op = s.slice(0, i);
  const arg = s.slice(i + 1);
  if (arg === '') return null;
  switch (op) {
    case 'focus':
      return { kind: 'focus-subtree', path: arg.split(PATH_SEPARATOR) };
    case 'focusi':
      return { kind: 'focus-subtree', path: arg.split(PATH_SEPARATOR), inverted: true };
    case 'fn':
      return { kind: 'focus-function', name: arg };
    case 'x':
      return { kind: 'exclude', name: arg };
    case 'rec':
      return { kind: 'collapse-recursion', name: arg };
    default:
      return null;
  }
}

export function sameTransform(a: Transform, b: Transform): boolean {
  return serializeTransform(a) === serializeTransform(b);
}

/** Add a transform at the end of the stack (an identical one already applied is not added twice). */
export function pushTransform(list: readonly Transform[], t: Transform): Transform[] {
  return list.some((x) => sameTransform(x, t)) ? list.slice() : [...list, t];
}

/** The chip text of a transform (plain text: React renders it escaped). */
export function transformLabel(t: Transform): string {
  switch (t.kind) {
    case 'focus-subtree':
      return `${t.inverted ? 'Focus (inverted)' : 'Focus'}: ${t.path[t.path.length - 1]}`;
    case 'focus-function':
      return `Focus function: ${t.name}`;
    case 'exclude':
      return `Exclude: ${t.name}`;
    case 'collapse-recursion':
      return `Collapse recursion: ${t.name}`;
    case 'merge-function':
      return 'Merge by function';
  }
}

/** The longer description of a chip (its title): what the transform keeps or drops. */
export function transformTitle(t: Transform): string {
  switch (t.kind) {
    case 'focus-subtree':
      return t.inverted
        ? `Only the stacks ending with ${[...t.path].reverse().join(' → ')}, cut below ${t.path[t.path.length - 1]}`
        : `Only the stacks through ${t.path.join(' → ')}, starting at ${t.path[t.path.length - 1]}`;
    case 'focus-function':
      return `Only the stacks through ${t.name}, starting at its outermost call (all its call sites merged)`;
    case 'exclude':
      return `Stacks through ${t.name} are dropped`;
    case 'collapse-recursion':
      return `Direct recursive calls of ${t.name} are shown as one frame`;
    case 'merge-function':
      return 'Frames that differ only by an offset (func+0x10, func+0x24, lib.so+0x…) are merged';
  }
}

export function applyTransform(p: Profile, t: Transform): Profile {
  switch (t.kind) {
    case 'focus-subtree':
      return focusSubtree(p, t.path, { inverted: !!t.inverted });
    case 'focus-function':
      return focus(p, { name: t.name }, { reroot: true });
    case 'exclude':
      return exclude(p, { name: t.name });
    case 'collapse-recursion':
      return collapseRecursion(p, { name: t.name });
    case 'merge-function':
      return mergeByFunction(p);
  }
}

/** Apply the stack in order (the profile itself when it is empty). */
export function applyTransforms(p: Profile, list: readonly Transform[]): Profile {
  let out = p;
  for (const t of list) out = applyTransform(out, t);
  return out;
}

/** The profile a flame or inverted view draws (the sandwich view draws sandwich()). */
export function profileForMode(p: Profile, mode: ViewMode): Profile {
  return mode === 'inverted' ? invert(p) : p;
}

/** A sandwich view of `fn`: its callers (fn at the root, callers above) and its callees. */
export function sandwich(p: Profile, fn: string): { callers: Profile; callees: Profile } {
  return { callers: callersOf(p, { name: fn }), callees: calleesOf(p, { name: fn }) };
}

/** What a frame's menu offers (pure, so the rules are unit-tested; components/flame-graph/ViewControls.tsx runs them). */
export type FrameAction =
  | {
      id: 'focus-subtree' | 'focus-function' | 'exclude' | 'collapse-recursion' | 'merge';
      label: string;
      disabled?: boolean;
      separated?: boolean;
      transform: Transform;
    }
  | { id: 'sandwich'; label: string; separated?: boolean; sandwich: string }
  | { id: 'copy'; label: string; copy: string };

export interface MenuTarget {
  name: string;
  /** the frame's path in the drawn graph (flame or inverted); absent for table rows and sandwich graphs. */
  path?: readonly string[];
  /** the root ("all"): only the whole-profile actions. */
  root?: boolean;
}

/**
 * The actions of a frame's menu: focus on the subtree (only where the frame has a path in the
 * drawn graph; on the inverted graph the path is an inverted one), focus on / exclude the
 * function, collapse its recursion, its sandwich (where offered), merge by function (once), copy.
 */
export function frameActions(target: MenuTarget, mode: ViewMode, applied: readonly Transform[], opts: { sandwich?: boolean } = {}): FrameAction[] {
  const merged = applied.some((t) => t.kind === 'merge-function');
  const merge: FrameAction = {
    id: 'merge',
    label: merged ? 'Merged by function' : 'Merge by function (all frames)',
    disabled: merged,
    separated: !target.root,
    transform: { kind: 'merge-function' },
  };
  if (target.root) return [merge];
  const name = target.name;
  const out: FrameAction[] = [];
  if (target.path && target.path.length > 0 && mode !== 'sandwich')
    out.push({
      id: 'focus-subtree',
      label: 'Focus on this frame (subtree)',
      transform: { kind: 'focus-subtree', path: [...target.path], ...(mode === 'inverted' ? { inverted: true } : {}) },
    });
  out.push(
    { id: 'focus-function', label: 'Focus on function (all its calls merged)', transform: { kind: 'focus-function', name } },
    { id: 'exclude', label: 'Exclude function (drop its stacks)', transform: { kind: 'exclude', name } },
    { id: 'collapse-recursion', label: 'Collapse recursion', transform: { kind: 'collapse-recursion', name } },
  );
  if (opts.sandwich ?? true) out.push({ id: 'sandwich', label: 'Sandwich: callers and callees', separated: true, sandwich: name });
  out.push(merge, { id: 'copy', label: 'Copy name', copy: name });
  return out;
}
