/**
 * The hottest source lines of a function, like `perf annotate --stdio` summarised per line: the
 * weight of every stack through one of the function's frames, per line that frame was at
 * (Stack.lines). A stack that holds the function more than once (recursion) counts once per line.
 */
import type { Profile } from '../model/types.js';

export interface SourceLineRow {
  readonly file: string;
  readonly line: number;
  readonly weight: number;
}

export interface FunctionLines {
  /** by weight, heaviest first; ties by file then line. */
  readonly rows: readonly SourceLineRow[];
  /** weight of all stacks through the function. */
  readonly total: number;
  /** part of `total` whose line is not known (no debug info, or an import without lines). */
  readonly unknown: number;
}

/** Lines of the frames `frameIds` (indices into p.frames: e.g. every frame of one function name). */
export function functionLines(p: Profile, frameIds: Iterable<number>, limit = 50): FunctionLines {
  const want = new Uint8Array(p.frames.length);
  for (const f of frameIds) if (f >= 0 && f < want.length) want[f] = 1;
  const byLine = new Float64Array(p.lines?.length ?? 1);
  const seenAt = new Int32Array(p.lines?.length ?? 1).fill(-1);
  let total = 0;
  let unknown = 0;
  for (let s = 0; s < p.stacks.length; s++) {
    const st = p.stacks[s];
    const fr = st.frames;
    const ls = st.lines;
    let hit = false;
    let unknownHit = false;
    for (let i = 0; i < fr.length; i++) {
      if (!want[fr[i]]) continue;
      hit = true;
      const l = ls ? ls[i] : 0;
      if (l === 0) unknownHit = true;
      else if (seenAt[l] !== s) {
        seenAt[l] = s;
        byLine[l] += st.weight;
      }
    }
    if (!hit) continue;
    total += st.weight;
    if (unknownHit) unknown += st.weight;
  }
  const rows: SourceLineRow[] = [];
  for (let l = 1; l < byLine.length; l++) if (byLine[l] > 0) rows.push({ file: p.lines![l].file, line: p.lines![l].line, weight: byLine[l] });
  rows.sort((a, b) => b.weight - a.weight || (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { rows: rows.length > limit ? rows.slice(0, limit) : rows, total, unknown };
}
