/** Folded stacks text: `frame;frame;... weight`, one line per unique stack (names verbatim, `;` in names replaced by `:`, newlines by spaces so lines stay parseable). */
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
  for (const s of p.stacks) {
    if (s.frames.length === 0) {
      lines.push('[unknown] ' + s.weight); // a stack with no frames (folded cannot say nothing)
      continue;
    }
    let t = names[s.frames[0]];
    for (let i = 1; i < s.frames.length; i++) t += ';' + names[s.frames[i]];
    lines.push(t + ' ' + s.weight);
  }
  if (opts.sort ?? true) lines.sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}
