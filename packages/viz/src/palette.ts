/**
 * Flame graph colours: the one palette of the canvas renderer and the SVG exporter (a downloaded
 * SVG is coloured like the canvas). Pure functions, no DOM (unit-tested in Node).
 *
 * - cpu (on-CPU): warm colours like flamegraph.pl's java palette — reds for user frames (hashed by
 *   name, so the same function keeps its colour across views), orange/yellow for kernel frames,
 *   green for JIT, aqua for inline frames, grey for process names, separators and unknown frames.
 * - offcpu: blues (kernel frames darker, user frames lighter).
 * - wakeup (offwaketime/wakeuptime chains): the blocked task's part in blue, the `-`/`--` separators
 *   in grey, the waker's part (after `--`) in violet.
 * - diff: white for no change, red when the frame grew, blue when it shrank, saturation by
 *   |delta| / max |delta|.
 * Search hits are drawn in magenta (flamegraph.pl's rgb(230,0,230)) whatever the palette.
 */
import type { FrameKind, ProfileMeta } from './model/types.js';
import type { CallTree } from './model/tree.js';

export type PaletteName = 'cpu' | 'offcpu' | 'wakeup' | 'diff';

export const SEARCH_COLOR = 'rgb(230,0,230)';
/** the synthetic root ("all"). */
export const ROOT_COLOR = 'rgb(210,210,210)';

/** The palette a profile's tool calls for: offcputime → offcpu, wakeup chains → wakeup, else cpu. */
export function paletteForTool(tool: ProfileMeta['tool']): Exclude<PaletteName, 'diff'> {
  if (tool === 'offcputime') return 'offcpu';
  if (tool === 'wakeuptime' || tool === 'offwaketime') return 'wakeup';
  return 'cpu';
}

/**
 * The fill of a call tree node (not a differential one: see diffColor): by frame kind and name,
 * and for wakeup chains by whether the node lies after the `--` separator (tree.waker).
 */
export function nodeColor(tree: CallTree, node: number, palette: PaletteName): string {
  if (node === 0) return ROOT_COLOR;
  const f = tree.frames[tree.frame[node]];
  return frameColor(palette === 'diff' ? 'cpu' : palette, f.kind, f.name, tree.waker[node] === 1);
}

/** FNV-1a of the name, folded to 0..1 — stable across sessions and machines. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  // the function name without module/offset decorations drives the colour, like flamegraph.pl
  const end = Math.min(name.length, 64);
  for (let i = 0; i < end; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) % 10007) / 10007;
}

function rgb(r: number, g: number, b: number): string {
  return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
}

export function frameColor(palette: PaletteName, kind: FrameKind, name: string, wakerPart: boolean): string {
  const v = nameHash(name);
  const v2 = nameHash(name + '\u0001');
  if (kind === 'separator') return rgb(200, 200, 200);
  if (palette === 'offcpu' || (palette === 'wakeup' && !wakerPart)) {
    if (kind === 'comm') return rgb(140, 150, 170);
    if (kind === 'kernel') return rgb(40 + 40 * v, 90 + 50 * v2, 200 + 30 * v);
    return rgb(90 + 60 * v, 150 + 60 * v2, 230 + 25 * v);
  }
  if (palette === 'wakeup' && wakerPart) {
    if (kind === 'comm') return rgb(160, 140, 180);
    if (kind === 'kernel') return rgb(130 + 40 * v, 70 + 40 * v2, 190 + 40 * v);
    return rgb(170 + 50 * v, 120 + 50 * v2, 225 + 25 * v);
  }
  // cpu (also the base for diff when no delta is known)
  switch (kind) {
    case 'kernel':
      return rgb(225 + 30 * v, 150 + 65 * v2, 0 + 40 * v);
    case 'jit':
      return rgb(50 + 60 * v, 185 + 70 * v2, 50 + 60 * v);
    case 'inline':
      return rgb(70 + 60 * v, 190 + 60 * v2, 190 + 60 * v);
    case 'python':
      // violets: Python functions stand apart from the native (red) frames they call into
      return rgb(150 + 50 * v, 90 + 60 * v2, 205 + 40 * v);
    case 'comm':
      return rgb(170 + 30 * v, 170 + 30 * v, 170 + 30 * v);
    case 'unknown':
      return rgb(175 + 30 * v, 175 + 30 * v, 160 + 30 * v);
    default:
      // user: reds (flamegraph.pl's java palette), so kernel oranges/yellows stand apart
      return rgb(205 + 50 * v, 30 + 75 * v2, 30 + 50 * v);
  }
}

/** Differential colour: delta > 0 grew (red), delta < 0 shrank (blue), 0 white. */
export function diffColor(delta: number, maxAbs: number): string {
  if (!(maxAbs > 0) || delta === 0) return rgb(250, 250, 250);
  const t = Math.min(1, Math.abs(delta) / maxAbs);
  // keep even small changes visible: start at 15% saturation
  const s = 0.15 + 0.85 * t;
  const c = 250 - 210 * s;
  return delta > 0 ? rgb(250, c, c) : rgb(c, c, 250);
}
