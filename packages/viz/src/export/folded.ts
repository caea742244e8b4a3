/**
 * Folded stacks text: `frame;frame;... weight`, one line per unique stack (names verbatim, `;` in names replaced by `:`, newlines by spaces so lines stay parseable).
 * Source lines are not part of folded text: stacks that differ only by their lines are one folded line.
 */
import type { Profile } from '../model/types.js';

export interface FoldedExportOptions {
  /** sort lines by stack text (default) or keep profile order. */
  sort?: boolean;
}

export function foldedName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n]/g, ' ');
}

export function toFolded(p: Profile, opts: FoldedExportOptions = {}): string {
  const names = p.frames.map((f) => foldedName(f.name));
  const lines: string[] = [];
  // stacks with lines can repeat a frame sequence: those are one line, their weights summed
  const merged = p.lines ? new Map<string, number>() : undefined;
  const texts: string[] = [];
  const weights: number[] = [];
  for (const s of p.stacks) {
    if (merged && s.frames.length) {
      const k = s.frames.join(',');
      const at = merged.get(k);
      if (at !== undefined) {
        weights[at] += s.weight;
        continue;
      }
      merged.set(k, texts.length);
    }
    let t: string;
    if (s.frames.length === 0)
      t = '[unknown]'; // a stack with no frames (folded cannot say nothing)
    else {
      t = names[s.frames[0]];
      for (let i = 1; i < s.frames.length; i++) t += ';' + names[s.frames[i]];
    }
    texts.push(t);
    weights.push(s.weight);
  }
  for (let i = 0; i < texts.length; i++) lines.push(texts[i] + ' ' + weights[i]);
  if (opts.sort ?? true) lines.sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}
