/** Test helpers: corpus paths, fixtures, and profiles built from readable text stacks (Firefox Profiler style). */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { corpusPath } from '../../../tests/support/corpus.js';
import { ProfileBuilder, foldedKinds, type Profile, type Unit, type FrameKind } from '@bpfscope/viz';

export { corpusPath };

export function corpusText(name: string): string {
  const b = readFileSync(corpusPath(name));
  return (name.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
}

export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
}

/**
 * A profile from readable stacks, one per line: `a;b;c 3` (root first, weight last; weight 1 when
 * omitted). Kinds follow the folded rules (first frame = comm unless `comm: false`); a frame may
 * force its kind with a suffix `:k` (kernel), `:u` (user), `:j` (jit).
 */
export function profileFromText(text: string, opts: { unit?: Unit; comm?: boolean; times?: number[] } = {}): Profile {
  const b = new ProfileBuilder(opts.unit ?? 'samples', { name: 'fixture' });
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  lines.forEach((line, i) => {
    const m = /^(.*?)(?:\s+(\d+(?:\.\d+)?))?$/.exec(line)!;
    const names = m[1].split(';');
    const forced: (FrameKind | undefined)[] = names.map((n) => {
      const k = /:(k|u|j)$/.exec(n);
      return k ? ({ k: 'kernel', u: 'user', j: 'jit' } as const)[k[1] as 'k' | 'u' | 'j'] : undefined;
    });
    const clean = names.map((n, j) => (forced[j] ? n.slice(0, -2) : n));
    const kinds = foldedKinds(clean, opts.comm ?? true);
    b.addStack(
      clean.map((n, j) => ({ name: n, kind: forced[j] ?? kinds[j] })),
      m[2] ? Number(m[2]) : 1,
      opts.times?.[i],
    );
  });
  return b.build();
}

/** Folded text as a sorted multiset of lines. */
export function lineSet(folded: string): string[] {
  return folded
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

/** name-path → weight map of a profile (for comparing profiles regardless of frame ids). */
export function stackMap(p: Profile): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of p.stacks) {
    const k = s.frames.map((f) => p.frames[f].name).join(';');
    m.set(k, (m.get(k) ?? 0) + s.weight);
  }
  return m;
}
