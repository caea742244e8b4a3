/** The browser test page: exposes the renderers and a tiny folded-text → Profile helper on window. */
import * as render from '../../src/render/index.js';
import * as viz from '../../src/index.js';
import type { Frame, FrameKind, Profile, Unit } from '../../src/model/types.js';

/** Test-only: `comm;a;b 12` lines → Profile. Kinds from suffixes like flamegraph.pl: _[k] kernel, _[j] jit, _[i] inline; `-`/`--` separators; first frame comm. */
function profileFromFolded(text: string, unit: Unit = 'samples', tool?: Profile['meta']['tool']): Profile {
  const frames: Frame[] = [];
  const index = new Map<string, number>();
  const stacks: { frames: number[]; weight: number }[] = [];
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const sp = line.lastIndexOf(' ');
    const weight = Number(line.slice(sp + 1));
    const ids = line
      .slice(0, sp)
      .split(';')
      .map((raw, i) => {
        let kind: FrameKind = i === 0 ? 'comm' : 'user';
        let name = raw;
        const m = /^(.*)_\[([kji])\]$/.exec(raw);
        if (m) {
          name = m[1];
          kind = m[2] === 'k' ? 'kernel' : m[2] === 'j' ? 'jit' : 'inline';
        }
        if (raw === '-' || raw === '--') kind = 'separator';
        const key = kind + '\0' + name;
        let id = index.get(key);
        if (id === undefined) {
          id = frames.length;
          frames.push({ name, kind });
          index.set(key, id);
        }
        return id;
      });
    stacks.push({ frames: ids, weight });
    total += weight;
  }
  return { unit, frames, stacks, total, meta: { tool } };
}

/** Deterministic random folded text: n stacks, depth 5..24, a few hot prefixes and many leaves. */
function randomFolded(n: number, seed: number): string {
  const lines: string[] = [];
  const rnd = () => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    const depth = 5 + Math.floor(rnd() * 20);
    const fr = ['app'];
    for (let d = 0; d < depth; d++) fr.push(`fn_${d}_${Math.floor(rnd() * (d < 3 ? 4 : 40))}`);
    lines.push(`${fr.join(';')} ${1 + Math.floor(rnd() * 50)}`);
  }
  return lines.join('\n');
}

// tsx compiles the test files with esbuild keepNames, so functions passed to page.evaluate call __name().
Object.assign(window, { __name: (f: unknown) => f });
Object.assign(window, { bpfs: { ...render, profileFromFolded, randomFolded }, viz, bpfsReady: true });
