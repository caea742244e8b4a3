/**
 * Deterministic folded-stack generator for the browser benchmark: `stacks` unique stacks
 * (default 200 000, ≈ 44 MB), shaped like a real system profile — 24 processes, a shared pool of
 * 6000 function names (user, kernel `_[k]`, JIT `_[j]`), call trees where each frame picks among a
 * few likely callees (skewed, so hot paths are wide and the tail is long), depth 4..18.
 * Same seed → byte-identical output.
 */
import { mulberry32 } from '../../packages/viz/src/random.js';

export interface GenOptions {
  stacks?: number;
  seed?: number;
}

function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 16)) >>> 0;
}

const MODULES = ['net', 'http', 'db', 'json', 'fs', 'crypto', 'sched', 'mm', 'vfs', 'ext4', 'tcp', 'v8', 'libc', 'zlib', 'ssl', 'app'];
const VERBS = [
  'read',
  'write',
  'parse',
  'encode',
  'decode',
  'handle',
  'dispatch',
  'process',
  'alloc',
  'free',
  'lookup',
  'insert',
  'flush',
  'poll',
  'send',
  'recv',
  'compress',
  'hash',
  'copy',
  'update',
];
const NOUNS = [
  'Request',
  'Buffer',
  'Page',
  'Inode',
  'Socket',
  'Frame',
  'Token',
  'Record',
  'Block',
  'Entry',
  'Queue',
  'Chunk',
  'Header',
  'Table',
  'Node',
  'Session',
];

export function functionName(i: number): string {
  const m = MODULES[i % MODULES.length];
  const v = VERBS[(i >>> 4) % VERBS.length];
  const n = NOUNS[(i * 7 + 3) % NOUNS.length];
  const kind = i % 10;
  const base = `${m}::${v}${n}_${i}`;
  if (kind < 3) return `${m}_${v}_${n.toLowerCase()}_${i}_[k]`; // kernel
  if (kind === 3) return `JS:*${v}${n} /srv/app/${m}.js:${(i * 37) % 900}_[j]`; // JIT
  return base;
}

export function generateFolded(opts: GenOptions = {}): string {
  const total = opts.stacks ?? 200_000;
  const rnd = mulberry32(opts.seed ?? 42);
  const NF = 6000;
  const names = Array.from({ length: NF }, (_, i) => functionName(i));
  const comms = Array.from(
    { length: 24 },
    (_, i) =>
      ['node', 'java', 'postgres', 'nginx', 'gzip', 'tar', 'cc1', 'python3', 'kworker/0:1', 'swapper/0', 'sshd', 'redis-server'][i % 12] +
      (i >= 12 ? `-${i}` : ''),
  );
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < total) {
    // skewed process choice: a few processes dominate, like a real box
    const c = Math.min(comms.length - 1, Math.floor(-Math.log(1 - rnd()) * 4));
    const depth = 4 + Math.floor(rnd() * rnd() * 15);
    const frames: string[] = [comms[c]];
    let node = c + 1;
    for (let d = 0; d < depth; d++) {
      // each frame has up to 6 callees; callee k chosen with probability ~ 2^-k
      const k = Math.min(5, Math.floor(-Math.log2(1 - rnd() * 0.984)));
      const h = hash2(node, k);
      node = h;
      frames.push(names[h % NF]);
    }
    const line = frames.join(';');
    if (seen.has(line)) continue;
    seen.add(line);
    const w = 1 + Math.floor(-Math.log(1 - rnd()) * 8);
    out.push(`${line} ${w}`);
  }
  return out.join('\n') + '\n';
}
