import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Frame, Profile } from '@bpfscope/viz';
import { CORPUS_DIR } from '../../../tests/support/corpus.js';

/** A profile from readable folded lines ("comm;a;b 3"), with an optional timeline/histograms. */
export function profileFromLines(lines: string[], meta: Profile['meta'] = {}, extra: Partial<Profile> = {}): Profile {
  const frames: Frame[] = [];
  const index = new Map<string, number>();
  const stacks = lines.map((l) => {
    const sp = l.lastIndexOf(' ');
    const names = l.slice(0, sp).split(';');
    const weight = Number(l.slice(sp + 1));
    return {
      frames: names.map((n, i) => {
        const key = `${i === 0 ? 'comm' : 'user'}\u0000${n}`;
        let fi = index.get(key);
        if (fi === undefined) {
          fi = frames.length;
          frames.push({ name: n, kind: i === 0 ? 'comm' : 'user' });
          index.set(key, fi);
        }
        return fi;
      }),
      weight,
    };
  });
  return { unit: 'samples', frames, stacks, total: stacks.reduce((a, s) => a + s.weight, 0), meta, ...extra };
}

export function tempDir(prefix = 'bpfscope-web-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const CORPUS = CORPUS_DIR;
