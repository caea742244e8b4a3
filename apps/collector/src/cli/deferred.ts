/**
 * Symbolizing once, at the end, when nobody watches (issue #9 §3).
 *
 * The CLI prints its stacks when the capture ends, so symbolizing every drain only costs the traced
 * workload CPU time. DeferredSymbolizer stands in for the real symbolizer while the capture runs:
 * each distinct stack the tools ask for becomes one placeholder frame naming it (so the aggregate
 * merges samples of the same stack across drains), and resolve() turns the placeholders into the
 * real frames once, after the capture. What must happen while the process still exists does:
 * notePid() reads a process's maps and opens its ELF files when it is first seen (processes that exit
 * later are still named), and each stack is recorded with the process's exec generation, so a process
 * that exec'd during the capture has its earlier stacks named from the image it ran then.
 */
import type { StackRecord, SymbolizedFrame, Symbolizer } from '@bpfscope/bpf';

type Pending = { kind: 'user'; pid: number; gen: number | undefined; addrs: bigint[] } | { kind: 'kernel'; addrs: bigint[] };

/** placeholder names start with a NUL: no symbol, comm or path can (they are C strings) */
const MARK = '\u0000stack#';

export class DeferredSymbolizer implements Symbolizer {
  private readonly pending: Pending[] = [];
  private readonly index = new Map<string, number>();
  private readonly resolved = new Map<number, SymbolizedFrame[]>();
  /** exec generation per pid, asked once per drain (the symbolizer checks at most once a second anyway) */
  private gens = new Map<number, number | undefined>();

  /**
   * @param inner the real symbolizer
   * @param trimKernel applied to each kernel stack once resolved, root first (the tools' own
   *   trimming runs on the placeholder, so it is repeated here on the real frames)
   */
  constructor(
    private readonly inner: Symbolizer,
    private readonly trimKernel: (frames: SymbolizedFrame[]) => SymbolizedFrame[] = (f) => f,
  ) {}

  /** Wait (at most `ms`) for the inner symbolizer's background debug-info fetches. */
  settle(ms: number): Promise<void> {
    return this.inner.settle?.(ms) ?? Promise.resolve();
  }

  /** distinct stacks recorded so far */
  get size(): number {
    return this.pending.length;
  }

  /** stacks asked for since the last endDrain() (the tools ask once per distinct stack and drain) */
  asked = 0;

  notePid(pid: number): void {
    this.inner.notePid(pid);
  }

  prune(): void {
    /* keep every process's state until resolve(): exited processes are named from it */
  }

  private placeholder(key: string, make: () => Pending): SymbolizedFrame[] {
    this.asked++;
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.pending.push(make()) - 1;
      this.index.set(key, i);
    }
    return [{ name: MARK + i, kind: 'unknown' }];
  }

  kernel(addrs: readonly bigint[]): SymbolizedFrame[] {
    if (addrs.length === 0) return [];
    return this.placeholder('k' + addrs.join(','), () => ({ kind: 'kernel', addrs: [...addrs] }));
  }

  user(pid: number, addrs: readonly bigint[]): SymbolizedFrame[] {
    if (addrs.length === 0) return [];
    let gen: number | undefined;
    if (this.gens.has(pid)) gen = this.gens.get(pid);
    else {
      gen = this.inner.generation?.(pid);
      this.gens.set(pid, gen);
    }
    return this.placeholder(`u${pid}:${gen ?? ''}:${addrs.join(',')}`, () => ({ kind: 'user', pid, gen, addrs: [...addrs] }));
  }

  generation(pid: number): number {
    return this.inner.generation?.(pid) ?? 0;
  }

  /** Call after each drain: the next drain asks for exec generations again. */
  endDrain(): void {
    this.gens.clear();
    this.asked = 0;
  }

  private frames(i: number): SymbolizedFrame[] {
    let f = this.resolved.get(i);
    if (f) return f;
    const p = this.pending[i];
    // the symbolizer returns leaf first; records are root first
    if (p.kind === 'kernel') f = this.trimKernel(this.inner.kernel(p.addrs).slice().reverse());
    else f = this.inner.user(p.pid, p.addrs, p.gen).slice().reverse();
    this.resolved.set(i, f);
    return f;
  }

  /** Frames with placeholders replaced by the real frames (root first). */
  resolveFrames(frames: SymbolizedFrame[]): SymbolizedFrame[] {
    if (!frames.some((f) => f.name.startsWith(MARK))) return frames;
    const out: SymbolizedFrame[] = [];
    for (const f of frames) {
      if (f.name.startsWith(MARK)) out.push(...this.frames(Number(f.name.slice(MARK.length))));
      else out.push(f);
    }
    return out;
  }

  /** A record with every stack (its own and its waker's) resolved. */
  resolve(r: StackRecord): StackRecord {
    const out: StackRecord = { ...r, user: this.resolveFrames(r.user), kernel: this.resolveFrames(r.kernel) };
    if (r.waker) out.waker = { ...r.waker, user: this.resolveFrames(r.waker.user), kernel: this.resolveFrames(r.waker.kernel) };
    return out;
  }
}

/**
 * How long to wait before the next drain when output goes at the end: long enough that the drains
 * cost the workload little, short enough that the kernel maps do not fill. The stack map keeps one
 * stack per hash bucket, so a new stack is lost (counted) with a probability of the share of buckets
 * in use: the interval keeps that share at `stackFill` of the map, going by the number of distinct
 * stacks the last drain found per second; the counts map is kept under `countsFill`.
 */
export function nextDrainMs(opts: {
  /** distinct stacks and keys found by the last drain, and the ms it covered */
  stacks: number;
  keys: number;
  coveredMs: number;
  stackCapacity: number;
  countsCapacity: number;
  minMs?: number;
  maxMs?: number;
  stackFill?: number;
  countsFill?: number;
}): number {
  const { stacks, keys, coveredMs, stackCapacity, countsCapacity } = opts;
  const minMs = opts.minMs ?? 1000;
  const maxMs = opts.maxMs ?? 30000;
  const stackFill = opts.stackFill ?? 0.02;
  const countsFill = opts.countsFill ?? 0.5;
  const sec = Math.max(coveredMs, 1) / 1000;
  const stackRate = stacks / sec;
  const keyRate = keys / sec;
  let ms = maxMs;
  if (stackRate > 0) ms = Math.min(ms, ((stackFill * stackCapacity) / stackRate) * 1000);
  if (keyRate > 0) ms = Math.min(ms, ((countsFill * countsCapacity) / keyRate) * 1000);
  return Math.round(Math.max(minMs, Math.min(maxMs, ms)));
}
