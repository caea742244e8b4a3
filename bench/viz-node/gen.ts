/**
 * Deterministic generator of a large folded-stack profile for benchmarks: `stacks` unique stacks
 * (default 200 000 ≈ 44 MB) shaped like a busy Linux host. 16 processes with their own call graphs
 * (each function calls a few fixed callees, picked with a skew so hot paths are wide and the tail
 * long), JIT frames for node/java, and kernel paths (syscalls, page faults, interrupts) under about
 * half of the stacks. Depths 20–40 (mean ≈ 27). Names are short identifiers in the style of C/kernel symbols.
 * A seeded PRNG (mulberry32) makes the output byte-identical for the same (stacks, seed).
 *
 * CLI: node --conditions=source --import tsx bench/viz-node/gen.ts OUT_PATH [stacks] [seed]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../packages/viz/src/random.js';

export interface GenOptions {
  stacks?: number;
  seed?: number;
}

const SYL = [
  'ra',
  'lo',
  'ck',
  'mem',
  'cp',
  'rd',
  'wr',
  'io',
  'ht',
  'bt',
  'sk',
  'fs',
  'vm',
  'pg',
  'tx',
  'rx',
  'q',
  'buf',
  'sz',
  'gc',
  'mk',
  'st',
  'ev',
  'po',
  'ln',
  'ix',
];
const VERB = [
  'get',
  'put',
  'add',
  'del',
  'run',
  'map',
  'set',
  'new',
  'cmp',
  'hash',
  'scan',
  'push',
  'pop',
  'lock',
  'read',
  'send',
  'recv',
  'fill',
  'init',
  'free',
];

const PROCS: { comm: string; weight: number; jit: boolean; lib: string }[] = [
  { comm: 'node', weight: 20, jit: true, lib: 'v8' },
  { comm: 'java', weight: 14, jit: true, lib: 'jvm' },
  { comm: 'postgres', weight: 10, jit: false, lib: 'pg' },
  { comm: 'nginx', weight: 8, jit: false, lib: 'ngx' },
  { comm: 'gzip', weight: 7, jit: false, lib: 'z' },
  { comm: 'cc1', weight: 7, jit: false, lib: 'gcc' },
  { comm: 'python3', weight: 6, jit: false, lib: 'py' },
  { comm: 'redis-server', weight: 5, jit: false, lib: 'rd' },
  { comm: 'envoy', weight: 5, jit: false, lib: 'ev' },
  { comm: 'mysqld', weight: 4, jit: false, lib: 'my' },
  { comm: 'tar', weight: 3, jit: false, lib: 'tr' },
  { comm: 'sshd', weight: 2, jit: false, lib: 'ssh' },
  { comm: 'kworker/u8:3', weight: 3, jit: false, lib: '' },
  { comm: 'ksoftirqd/0', weight: 2, jit: false, lib: '' },
  { comm: 'swapper/0', weight: 2, jit: false, lib: '' },
  { comm: 'containerd', weight: 2, jit: false, lib: 'ctr' },
];

const SYSCALL_ENTRY = ['entry_SYSCALL_64_after_hwframe', 'do_syscall_64'];
const SYSCALLS = ['read', 'write', 'epoll_wait', 'futex', 'mmap', 'openat', 'sendto', 'recvfrom', 'poll', 'fsync', 'clone', 'brk'];
const FAULT = ['asm_exc_page_fault', 'exc_page_fault', 'do_user_addr_fault', 'handle_mm_fault', '__handle_mm_fault'];
const IRQ = ['asm_sysvec_apic_timer_interrupt', 'sysvec_apic_timer_interrupt', '__irq_exit_rcu', 'handle_softirqs'];

function ident(r: () => number, prefix: string): string {
  const n = r() < 0.85 ? 1 : 2;
  let s = prefix && r() < 0.1 ? prefix + '_' : '';
  for (let i = 0; i < n; i++) s += SYL[Math.floor(r() * SYL.length)];
  return s + '_' + VERB[Math.floor(r() * VERB.length)];
}

/** The folded text, lines in generation order. */
export function generateFolded(opts: GenOptions = {}): string {
  const total = opts.stacks ?? 200_000;
  const r = mulberry32(opts.seed ?? 1);
  // name pools
  const kernelPool = Array.from({ length: 1500 }, () => ident(r, ''));
  const procs = PROCS.map((p) => ({
    ...p,
    pool: Array.from({ length: 900 }, (_, i) => (p.jit && i % 3 === 0 ? `JS:*${ident(r, '')}` : ident(r, p.lib))),
  }));
  const wsum = procs.reduce((a, p) => a + p.weight, 0);
  const pickProc = () => {
    let x = r() * wsum;
    for (const p of procs) if ((x -= p.weight) < 0) return p;
    return procs[0];
  };
  // fixed callees: fn i calls pool[(i * 31 + k * 97 + 7) % n] for k < 5; the usual callee (k = 0)
  // near the root, more branching towards the leaves (shared trunks, diverse tips, like real profiles)
  const callee = (i: number, n: number, frac: number) => {
    const k = r() < 0.02 + 0.6 * frac ** 3 ? 1 + Math.floor(r() * 4) : 0;
    return (i * 31 + k * 97 + 7 + (i >> 3)) % n;
  };
  const seen = new Set<string>();
  const lines: string[] = [];
  let guard = 0;
  while (lines.length < total) {
    if (++guard > total * 20) throw new Error('generator: cannot find enough unique stacks');
    const p = pickProc();
    const depth = 20 + Math.floor(21 * r() * r()); // 20..40, mostly in the twenties
    const frames: string[] = [p.comm];
    const kernelOnly = p.lib === '';
    let kernelLen = kernelOnly ? depth - 1 : r() < 0.45 ? 4 + Math.floor(r() * 9) : 0;
    if (kernelLen > depth - 2) kernelLen = depth - 2;
    const userLen = depth - 1 - kernelLen;
    let f = Math.floor(r() * r() * r() * 12);
    for (let d = 0; d < userLen; d++) {
      frames.push(p.pool[f]);
      f = callee(f + d, p.pool.length, d / userLen);
    }
    if (kernelLen > 0) {
      const path = kernelOnly
        ? ['ret_from_fork_asm', 'ret_from_fork', 'kthread']
        : r() < 0.7
          ? [...SYSCALL_ENTRY, `__x64_sys_${SYSCALLS[Math.floor(r() * r() * SYSCALLS.length)]}`]
          : r() < 0.5
            ? FAULT
            : IRQ;
      let k = Math.floor(r() * r() * r() * 40);
      for (let d = 0; d < kernelLen; d++) {
        frames.push(d < path.length ? path[d] : kernelPool[k] + '_[k]');
        if (d >= path.length) k = callee(k + d, kernelPool.length, d / kernelLen);
      }
    }
    const stack = frames.join(';');
    if (seen.has(stack)) continue;
    seen.add(stack);
    const u = r();
    const weight = u < 0.6 ? 1 : u < 0.9 ? 1 + Math.floor(r() * 9) : u < 0.99 ? 10 + Math.floor(r() * 90) : 100 + Math.floor(r() * 2000);
    lines.push(`${stack} ${weight}`);
  }
  return lines.join('\n') + '\n';
}

export function writeFolded(path: string, opts: GenOptions = {}): { bytes: number; stacks: number } {
  const text = generateFolded(opts);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return { bytes: Buffer.byteLength(text), stacks: opts.stacks ?? 200_000 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, n, seed] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node --conditions=source --import tsx bench/viz-node/gen.ts OUT_PATH [stacks] [seed]');
    process.exit(2);
  }
  const stacks = n ? Number(n) : 200_000;
  if (!(Number.isInteger(stacks) && stacks > 0)) {
    console.error(`stacks must be a positive integer, got ${n}`);
    process.exit(2);
  }
  const t = performance.now();
  const r = writeFolded(out, { stacks, seed: seed ? Number(seed) : 1 });
  console.log(`wrote ${r.stacks} unique stacks, ${(r.bytes / 1e6).toFixed(1)} MB to ${out} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
