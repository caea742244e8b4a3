/** Frame kind codes used by the compact bpfscope codec, and name-based kind inference. */
import type { FrameKind } from './types.js';

/** Stable numeric codes (never reorder: stored snapshots depend on them). */
export const FRAME_KINDS: readonly FrameKind[] = Object.freeze(['comm', 'kernel', 'user', 'jit', 'inline', 'separator', 'unknown', 'python']);

export function kindCode(kind: FrameKind): number {
  const c = FRAME_KINDS.indexOf(kind);
  if (c < 0) throw new Error(`unknown frame kind ${JSON.stringify(kind)}`);
  return c;
}

export function isFrameKind(k: unknown): k is FrameKind {
  return typeof k === 'string' && (FRAME_KINDS as readonly string[]).includes(k);
}

/**
 * Best guess of a frame's kind from its name alone (folded, speedscope and other formats that carry
 * no kind): `-`/`--` separators, flamegraph.pl annotations (`_[k]` kernel, `_[j]` JIT, `_[i]`
 * inline, `_[p]` Python), `JS:` / `LazyCompile:` JIT names from perf maps, `[unknown]`, kernel addresses.
 */
export function inferKind(name: string): FrameKind {
  if (name === '-' || name === '--') return 'separator';
  if (name.endsWith('_[k]')) return 'kernel';
  if (name.endsWith('_[j]')) return 'jit';
  if (name.endsWith('_[i]')) return 'inline';
  if (name.endsWith('_[p]')) return 'python';
  if (name === '[unknown]' || name.startsWith('[Missed ')) return 'unknown';
  if (name.startsWith('JS:') || name.startsWith('LazyCompile:') || name.startsWith('Interpreted:')) return 'jit';
  if (/^0xffff[0-9a-f]{12}$/i.test(name)) return 'kernel';
  return 'user';
}
