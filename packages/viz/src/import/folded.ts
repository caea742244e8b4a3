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
  return positionKinds(
    names.map((n) => (n === '-' ? 1 : n === '--' ? 2 : 0)),
    names.map(inferKind),
    firstFrameIsComm,
  );
}

/** foldedKinds over precomputed separator types (0 none, 1 `-`, 2 `--`) and name-inferred kinds. */
function positionKinds(sep: readonly number[], inferred: readonly FrameKind[], firstFrameIsComm: boolean): FrameKind[] {
  const n = sep.length;
  const kinds: FrameKind[] = new Array(n);
  let chain = -1;
  for (let i = 0; i < n; i++)
    if (sep[i] === 2) {
      chain = i;
      break;
    }
  const segment = (from: number, to: number, waker: boolean) => {
    let dash = -1;
    for (let i = from; i < to; i++)
      if (sep[i] === 1) {
        dash = i;
        break;
      }
    for (let i = from; i < to; i++) {
      if (sep[i] !== 0) kinds[i] = 'separator';
      else if (dash < 0 || inferred[i] !== 'user') kinds[i] = inferred[i];
      else {
        const before = i < dash;
        kinds[i] = waker ? (before ? 'kernel' : 'user') : before ? 'user' : 'kernel';
      }
    }
  };
  let start = 0;
  if (firstFrameIsComm && n > 0 && sep[0] === 0) {
    kinds[0] = 'comm';
    start = 1;
  }
  if (chain < 0) segment(start, n, false);
  else {
    segment(start, chain, false);
    kinds[chain] = 'separator';
    let end = n;
    if (firstFrameIsComm && end - 1 > chain) {
      kinds[end - 1] = 'comm';
      end--;
    }
    segment(chain + 1, end, true);
  }
  return kinds;
}

/**
 * Import folded text. Built for large files (tens of MB): frame names are hashed straight from the
 * text (no per-line split), interned once, and stacks are deduplicated by a hash of their frame ids.
 */
export function importFolded(text: string, opts: FoldedImportOptions = {}): Profile {
  const b = new ProfileBuilder(opts.unit ?? 'samples', {
    tool: 'import',
    ...opts.meta,
    source: { format: 'folded', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
  });
  const firstIsComm = opts.firstFrameIsComm ?? true;
  // unique names (hash table over text ranges)
  const names: string[] = [];
  const nameHash: number[] = [];
  const nameOff: number[] = [];
  const nameSep: number[] = [];
  const nameInferred: FrameKind[] = [];
  let nmCap = 1 << 12;
  let nmTable = new Int32Array(nmCap).fill(-1);
  const nameIndex = (a: number, e: number, h: number): number => {
    const len = e - a;
    let slot = h & (nmCap - 1);
    for (;;) {
      const c = nmTable[slot];
      if (c === -1) break;
      if (nameHash[c] === h && names[c].length === len) {
        // compare inside the text itself (the first occurrence): no substring needed
        const o = nameOff[c];
        let j = 0;
        while (j < len && text.charCodeAt(o + j) === text.charCodeAt(a + j)) j++;
        if (j === len) return c;
      }
      slot = (slot + 1) & (nmCap - 1);
    }
    const id = names.length;
    const nm = text.slice(a, e);
    names.push(nm);
    nameOff.push(a);
    nameHash.push(h);
    nameSep.push(nm === '-' ? 1 : nm === '--' ? 2 : 0);
    nameInferred.push(inferKind(nm));
    nmTable[slot] = id;
    if (names.length * 2 > nmCap) {
      nmCap *= 2;
      nmTable = new Int32Array(nmCap).fill(-1);
      for (let i = 0; i < names.length; i++) {
        let sl = nameHash[i] & (nmCap - 1);
        while (nmTable[sl] !== -1) sl = (sl + 1) & (nmCap - 1);
        nmTable[sl] = i;
      }
    }
    return id;
  };
  // (name, kind) -> frame id
  const KINDS = 8;
  let fmap = new Int32Array(1024 * KINDS).fill(-1);
  const kindCodes: Record<FrameKind, number> = { comm: 0, kernel: 1, user: 2, jit: 3, inline: 4, separator: 5, unknown: 6, python: 7 };
  const frameOf = (name: number, kind: FrameKind): number => {
    const k = name * KINDS + kindCodes[kind];
    if (k >= fmap.length) {
      const nf = new Int32Array(Math.max(fmap.length * 2, k + KINDS)).fill(-1);
      nf.set(fmap);
      fmap = nf;
    }
    let f = fmap[k];
    if (f === -1) f = fmap[k] = b.frameId(names[name], kind);
    return f;
  };
  // unique stacks (hash table over frame-id sequences)
  const stacks: number[][] = [];
  const stackHash: number[] = [];
  let stCap = 1 << 12;
  let stTable = new Int32Array(stCap).fill(-1);
  const insertStack = (ids: number[], h: number, weight: number) => {
    let slot = h & (stCap - 1);
    for (;;) {
      const c = stTable[slot];
      if (c === -1) break;
      if (stackHash[c] === h) {
        const o = stacks[c];
        if (o.length === ids.length) {
          let i = 0;
          while (i < o.length && o[i] === ids[i]) i++;
          if (i === o.length) {
            b.addWeight(c, weight);
            return;
          }
        }
      }
      slot = (slot + 1) & (stCap - 1);
    }
    const id = b.addUniqueStackIds(ids, weight);
    stacks.push(ids);
    stackHash.push(h);
    stTable[slot] = id;
    if (stacks.length * 2 > stCap) {
      stCap *= 2;
      stTable = new Int32Array(stCap).fill(-1);
      for (let i = 0; i < stacks.length; i++) {
        let sl = stackHash[i] & (stCap - 1);
        while (stTable[sl] !== -1) sl = (sl + 1) & (stCap - 1);
        stTable[sl] = i;
      }
    }
  };

  let lineNo = 0;
  let pos = 0;
  let nonEmpty = 0;
  const len = text.length;
  const lineNames: number[] = [];
  const sep: number[] = [];
  const inferred: FrameKind[] = [];
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    lineNo++;
    let lineEnd = end;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    const lineStart = pos;
    pos = end + 1;
    const sp = text.lastIndexOf(' ', lineEnd - 1);
    if (sp < lineStart) {
      const line = text.slice(lineStart, lineEnd);
      if (line.trim() === '') continue;
      throw new ImportError('folded', `expected "frame;frame;... count", found no count in ${excerpt(line)}`, { line: lineNo });
    }
    const countText = text.slice(sp + 1, lineEnd);
    if (!COUNT_RE.test(countText)) {
      if (text.slice(lineStart, lineEnd).trim() === '') continue;
      throw new ImportError('folded', `expected a non-negative number after the last space, found ${excerpt(countText)}`, { line: lineNo });
    }
    const weight = Number(countText);
    let stop = sp;
    while (stop > lineStart && (text.charCodeAt(stop - 1) === 32 || text.charCodeAt(stop - 1) === 9)) stop--;
    // a trailing ';' (some collapsers write "a;b; 3") ends the stack; it is not an empty frame
    if (stop > lineStart + 1 && text.charCodeAt(stop - 1) === 59) stop--;
    if (stop === lineStart) throw new ImportError('folded', 'expected frames before the count, found none', { line: lineNo });
    nonEmpty++;
    // scan frames
    lineNames.length = 0;
    let a = lineStart;
    let h = 0x811c9dc5 | 0;
    for (let i = lineStart; i <= stop; i++) {
      const c = i < stop ? text.charCodeAt(i) : 59;
      if (c === 59) {
        if (i === a)
          throw new ImportError('folded', `empty frame name (two ';' in a row or a leading ';') in ${excerpt(text.slice(lineStart, stop))}`, { line: lineNo });
        lineNames.push(nameIndex(a, i, h >>> 0));
        a = i + 1;
        h = 0x811c9dc5 | 0;
      } else {
        h = Math.imul(h ^ c, 16777619);
      }
    }
    const n = lineNames.length;
    sep.length = n;
    inferred.length = n;
    let anySep = false;
    for (let i = 0; i < n; i++) {
      sep[i] = nameSep[lineNames[i]];
      inferred[i] = nameInferred[lineNames[i]];
      if (sep[i]) anySep = true;
    }
    const ids = new Array<number>(n);
    let sh = 0x9e3779b9 | 0;
    if (!anySep) {
      // common case: comm first, kinds straight from the names
      for (let i = 0; i < n; i++) {
        const f = frameOf(lineNames[i], i === 0 && firstIsComm ? 'comm' : inferred[i]);
        ids[i] = f;
        sh = Math.imul(sh ^ f, 0x85ebca6b) ^ (sh >>> 13);
      }
    } else {
      const kinds = positionKinds(sep, inferred, firstIsComm);
      for (let i = 0; i < n; i++) {
        const f = frameOf(lineNames[i], kinds[i]);
        ids[i] = f;
        sh = Math.imul(sh ^ f, 0x85ebca6b) ^ (sh >>> 13);
      }
    }
    insertStack(ids, sh >>> 0, weight);
  }
  if (nonEmpty === 0) throw new ImportError('folded', 'no stacks found (expected lines like "comm;main;work 42")');
  return b.build();
}
