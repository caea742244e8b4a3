/**
 * The hottest source lines of a function for the console's frame details (the sandwich view):
 * viz's functionLines over every frame with that name (user, inline, python… kinds alike), as rows
 * `file:line` with their share of the function's weight, like `perf annotate --stdio` summarised
 * per line. File names are untrusted text: callers render them as React text only.
 */
import { functionLines, type Profile } from '@bpfscope/viz';

export interface SourceLineView {
  /** `file:line` */
  readonly where: string;
  readonly file: string;
  readonly line: number;
  readonly weight: number;
  /** of the function's total weight */
  readonly share: number;
}

export interface FunctionSourceLines {
  readonly rows: readonly SourceLineView[];
  /** the function's total weight (every stack through it once) */
  readonly total: number;
  /** weight whose line is unknown (no debug info for that frame) */
  readonly unknown: number;
  /** whether the profile has any source lines at all (otherwise the panel says why there are none) */
  readonly profileHasLines: boolean;
}

export function sourceLinesOf(p: Profile, fn: string, limit = 20): FunctionSourceLines {
  const ids: number[] = [];
  for (let i = 0; i < p.frames.length; i++) if (p.frames[i].name === fn && p.frames[i].kind !== 'comm') ids.push(i);
  const r = functionLines(p, ids, limit);
  return {
    rows: r.rows.map((x) => ({ where: `${x.file}:${x.line}`, file: x.file, line: x.line, weight: x.weight, share: r.total ? x.weight / r.total : 0 })),
    total: r.total,
    unknown: r.unknown,
    profileHasLines: !!p.lines && p.lines.length > 1,
  };
}
