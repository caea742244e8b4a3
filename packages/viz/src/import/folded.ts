/**
 * Folded stacks (bcc -f, stackcollapse-*.pl): one line per stack, `comm;root;...;leaf count`.
 * `-` (user/kernel delimiter, bcc -d) and `--` (blocked/waker delimiter) become separator frames.
 */
import type { FrameKind, Profile, ProfileMeta, Unit } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';
import { inferKind } from '../model/kinds.js';
import { ImportError, excerpt } from './errors.js';

export interface FoldedImportOptions {
  unit?: Unit;
  meta?: ProfileMeta;
  /** treat the first frame as the process name (bcc and stackcollapse-perf put comm first). Default true. */
  firstFrameIsComm?: boolean;
  fileName?: string;
}

const COUNT_RE = /^(?:\d+|\d*\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)$/;

/**
 * Kinds for the frames of one folded line, following bcc's layouts:
 *   comm;user...;-;kernel...;--;waker kernel...;-;waker user...;waker comm
 * Without `-` delimiters the kind is inferred from the name (flamegraph.pl `_[k]`, `JS:`...).
 */
export function foldedKinds(names: readonly string[], firstFrameIsComm = true): FrameKind[] {
  const kinds: FrameKind[] = new Array(names.length);
  const chain = names.indexOf('--');
  const segment = (from: number, to: number, waker: boolean) => {
    // within [from, to): a '-' separates user and kernel (reversed order for the waker part)
    let dash = -1;
    for (let i = from; i < to; i++) if (names[i] === '-') { dash = i; break; }
    for (let i = from; i < to; i++) {
      const n = names[i];
      if (n === '-' || n === '--') kinds[i] = 'separator';
      else if (dash < 0) kinds[i] = inferKind(n);
      else {
        const before = i < dash;
        const k: FrameKind = waker ? (before ? 'kernel' : 'user') : before ? 'user' : 'kernel';
        const inferred = inferKind(n);
        kinds[i] = inferred === 'user' ? k : inferred;
      }
    }
  };
  let start = 0;
  if (firstFrameIsComm && names.length > 0 && names[0] !== '-' && names[0] !== '--') {
    kinds[0] = 'comm';
    start = 1;
  }
  if (chain < 0) segment(start, names.length, false);
  else {
    segment(start, chain, false);
    kinds[chain] = 'separator';
    let end = names.length;
    if (firstFrameIsComm && end - 1 > chain) {
      kinds[end - 1] = 'comm';
      end--;
    }
    segment(chain + 1, end, true);
  }
  return kinds;
}

export function importFolded(text: string, opts: FoldedImportOptions = {}): Profile {
  const b = new ProfileBuilder(opts.unit ?? 'samples', {
    tool: 'import',
    ...opts.meta,
    source: { format: 'folded', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
  });
  const firstIsComm = opts.firstFrameIsComm ?? true;
  let lineNo = 0;
  let pos = 0;
  let nonEmpty = 0;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    lineNo++;
    let line = text.slice(pos, end);
    pos = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    if (sp < 0) throw new ImportError('folded', `expected "frame;frame;... count", found no count in ${excerpt(line)}`, { line: lineNo });
    const countText = line.slice(sp + 1);
    if (!COUNT_RE.test(countText))
      throw new ImportError('folded', `expected a non-negative number after the last space, found ${excerpt(countText)}`, { line: lineNo });
    const weight = Number(countText);
    let stackText = line.slice(0, sp);
    // tolerate several spaces / a tab between stack and count
    stackText = stackText.replace(/[ \t]+$/, '');
    if (stackText === '') throw new ImportError('folded', 'expected frames before the count, found none', { line: lineNo });
    nonEmpty++;
    const names = stackText.split(';');
    for (let i = 0; i < names.length; i++)
      if (names[i] === '') throw new ImportError('folded', `empty frame name (two ';' in a row or a leading/trailing ';') in ${excerpt(stackText)}`, { line: lineNo });
    const kinds = foldedKinds(names, firstIsComm);
    const ids = new Array<number>(names.length);
    for (let i = 0; i < names.length; i++) ids[i] = b.frameId(names[i], kinds[i]);
    // kinds are a function of the names, so the text itself identifies the id sequence
    b.addStackIds(ids, weight, undefined, '\u0001' + stackText);
  }
  if (nonEmpty === 0) throw new ImportError('folded', 'no stacks found (expected lines like "comm;main;work 42")');
  return b.build();
}
