/**
 * Stack ids → symbolized frames, in bulk per interval: each stack id is read once per interval,
 * each (pid, stack id) symbolized once per interval, and the ids read are deleted from the kernel
 * stack map at the end of the interval so it never fills up with stale stacks.
 */
import * as L from '../ffi/libbpf.js';
import type { BpfMap } from '../object.js';
import type { Symbolizer, SymbolizedFrame } from '../symbolize/types.js';
import type { LossStats, ThreadStacks } from './types.js';
import { EFAULT, MAX_STACK_DEPTH, STACK_NOT_COLLECTED, Stat } from './layout.js';
import { USTACK_TRUNCATED, type UstackStore } from '../unwind/maps.js';
import { isPyFrame, type PyFrameNamer } from '../python/frames.js';

/** root-side marker of a user stack deeper than the walker's limit (its root part is missing) */
export const TRUNCATED_FRAME: SymbolizedFrame = { name: '[truncated]', kind: 'unknown' };

export interface ResolvedStack {
  frames: SymbolizedFrame[]; // root first
  missing: boolean;
}

const EMPTY: ResolvedStack = { frames: [], missing: false };
const MISSING: ResolvedStack = { frames: [], missing: true };

export class StackResolver {
  private buf: Buffer;
  private depth: number;
  private frames: BigUint64Array;
  private words: Uint32Array;
  private key = Buffer.alloc(4);
  /** id → addresses (leaf first) read this interval */
  private raw = new Map<number, bigint[] | null>();
  /** stacks read in the previous interval (their ids were deleted): a sample recorded between our
   * read and delete still names the right stack, since a bucket only changes after deletion. */
  private prevRaw = new Map<number, bigint[] | null>();
  private kernelCache = new Map<number, ResolvedStack>();
  private userCache = new Map<string, ResolvedStack>();
  private seenPids = new Set<number>();
  truncated = 0;
  lookupFailures = { user: 0, kernel: 0 };

  /**
   * @param fromTracepoint the kernel stacks were taken inside a raw tracepoint program: the BPF side
   *   skips the tracer's frames it always has (TP_TRACER_FRAMES), and any deeper ones left at the leaf
   *   are trimmed here (stripTracer). A perf_event sample's stack is left as is: a BPF program
   *   interrupted by the sample is legitimately on it.
   * @param ustacks user stack ids are those of the CFI walker (unwind 'cfi'), else of `map`
   */
  constructor(
    private map: BpfMap,
    private sym: Symbolizer,
    private fromTracepoint = false,
    private ustacks?: UstackStore,
    private python?: PyFrameNamer,
  ) {
    this.buf = Buffer.from(new ArrayBuffer(map.valueSize)); // own, 8-byte aligned memory for the typed views
    this.depth = Math.floor(map.valueSize / 8);
    this.frames = new BigUint64Array(this.buf.buffer, this.buf.byteOffset, this.depth);
    this.words = new Uint32Array(this.buf.buffer, this.buf.byteOffset, this.depth * 2);
  }

  notePid(pid: number): void {
    if (this.seenPids.has(pid)) return;
    this.seenPids.add(pid);
    this.sym.notePid(pid);
  }

  private addrs(id: number): bigint[] | null {
    let a = this.raw.get(id);
    if (a !== undefined) return a;
    this.key.writeUInt32LE(id);
    const r = L.bpf_map_lookup_elem(this.map.fd, this.key, this.buf) as number;
    if (r < 0) {
      a = this.prevRaw.get(id) ?? null;
    } else {
      // the kernel zero-fills after the last frame: find the depth on 32-bit halves (no BigInt per slot)
      const w = this.words;
      let n = 0;
      while (n < this.depth && (w[2 * n] !== 0 || w[2 * n + 1] !== 0)) n++;
      a = Array.from(this.frames.subarray(0, n));
      if (n >= MAX_STACK_DEPTH) this.truncated++;
    }
    this.raw.set(id, a);
    return a;
  }

  kernel(id: number): ResolvedStack {
    if (id === STACK_NOT_COLLECTED || id === -EFAULT) return EMPTY;
    if (id < 0) return MISSING;
    let r = this.kernelCache.get(id);
    if (r) return r;
    const a = this.addrs(id);
    if (!a) {
      this.lookupFailures.kernel++;
      r = MISSING;
    } else {
      const frames = this.sym.kernel(a).slice().reverse();
      r = { frames: this.fromTracepoint ? stripTracer(frames) : frames, missing: false };
    }
    this.kernelCache.set(id, r);
    return r;
  }

  user(pid: number, id: number): ResolvedStack {
    if (id === STACK_NOT_COLLECTED || id === -EFAULT) return EMPTY;
    if (id < 0) return MISSING;
    const ck = `${pid}:${id}`;
    let r = this.userCache.get(ck);
    if (r) return r;
    if (this.ustacks) {
      const w = this.ustacks.get(id);
      if (!w) {
        this.lookupFailures.user++;
        r = MISSING;
      } else {
        this.notePid(pid);
        const frames = this.userFrames(pid, w.pcs).reverse();
        if (w.flags & USTACK_TRUNCATED) frames.unshift(TRUNCATED_FRAME);
        r = { frames, missing: false };
      }
      this.userCache.set(ck, r);
      return r;
    }
    const a = this.addrs(id);
    if (!a) {
      this.lookupFailures.user++;
      r = MISSING;
    } else {
      this.notePid(pid);
      r = { frames: this.sym.user(pid, a).slice().reverse(), missing: false };
    }
    this.userCache.set(ck, r);
    return r;
  }

  /** A thread's stacks from its user and kernel stack ids: what a record and its waker both hold. */
  thread(pid: number, tid: number, comm: string, userId: number, kernelId: number): ThreadStacks {
    const u = this.user(pid, userId);
    const k = this.kernel(kernelId);
    const t: ThreadStacks = { pid, tid, comm, user: u.frames, kernel: k.frames };
    if (u.missing) t.userMissing = true;
    if (k.missing) t.kernelMissing = true;
    return t;
  }

  /** Leaf first. Native pcs through the symbolizer, one call per run of consecutive native pcs (a
   * deferring symbolizer returns one placeholder per call, expanded root first in its place);
   * Python frames (python.h markers) named now, while their code objects exist. */
  private userFrames(pid: number, pcs: bigint[]): SymbolizedFrame[] {
    if (!this.python || !pcs.some(isPyFrame)) return this.sym.user(pid, pcs).slice();
    const out: SymbolizedFrame[] = [];
    let run: bigint[] = [];
    const flush = () => {
      if (run.length) out.push(...this.sym.user(pid, run));
      run = [];
    };
    for (const pc of pcs) {
      if (!isPyFrame(pc)) run.push(pc);
      else {
        flush();
        out.push(this.python.frame(pid, pc));
      }
    }
    flush();
    return out;
  }

  /** Delete the ids read this interval from the kernel map, reset the per-interval caches. */
  endInterval(): void {
    for (const id of this.raw.keys()) {
      this.key.writeUInt32LE(id);
      L.bpf_map_delete_elem(this.map.fd, this.key);
    }
    this.ustacks?.endInterval();
    this.python?.endInterval();
    this.prevRaw = this.raw;
    this.raw = new Map();
    this.kernelCache.clear();
    this.userCache.clear();
    this.seenPids.clear();
  }

  /** Loss stats of the interval from the kernel counters (deltas) and what this resolver saw. */
  loss(stats: number[]): LossStats {
    const l: LossStats = {
      userStackMissing: stats[Stat.USTACK_EEXIST] + stats[Stat.USTACK_ENOMEM] + stats[Stat.USTACK_OTHER] + this.lookupFailures.user,
      kernelStackMissing: stats[Stat.KSTACK_EEXIST] + stats[Stat.KSTACK_ENOMEM] + stats[Stat.KSTACK_OTHER] + this.lookupFailures.kernel,
      stackCollisions: stats[Stat.USTACK_EEXIST] + stats[Stat.KSTACK_EEXIST],
      stackNoMem: stats[Stat.USTACK_ENOMEM] + stats[Stat.KSTACK_ENOMEM],
      mapFull: stats[Stat.MAP_FULL],
      truncatedStacks: this.truncated + (stats[Stat.UNWIND_TRUNCATED] ?? 0),
      lostEvents: stats[Stat.START_FULL],
    };
    if (this.ustacks) {
      l.unwindNoTable = stats[Stat.UNWIND_NO_TABLE];
      l.unwindUnsupported = stats[Stat.UNWIND_UNSUPPORTED];
      l.unwindReadFault = stats[Stat.UNWIND_FAULT];
      l.pythonUnsupported = stats[Stat.PY_UNSUPPORTED];
    }
    this.truncated = 0;
    this.lookupFailures = { user: 0, kernel: 0 };
    return l;
  }
}

/** The tracing program's own frames at the leaf of kernel stacks taken from tracepoints: the program
 * (bpf_prog_<16 hex tag>_<name>, or a JIT address kallsyms did not list yet), the dispatcher
 * (bpf_trace_runN, __bpf_trace_<tp>, and __traceiter_<tp> when several probes are attached to the
 * tracepoint, e.g. another tracer's) or a trampoline: not part of what was traced. */
const TRACER_FRAME = /^(bpf_prog_[0-9a-f]{16}(_|$)|bpf_trace_run\d+(_\[k\])?$|__bpf_trace_|__traceiter_|bpf_trampoline_)/;
const isTracer = (f: SymbolizedFrame) => f.kind === 'kernel' && TRACER_FRAME.test(f.name);
/** frames root first; returns them without the tracer's frames at the leaf end */
export function stripTracer(frames: SymbolizedFrame[]): SymbolizedFrame[] {
  let n = frames.length;
  for (;;) {
    if (n > 0 && isTracer(frames[n - 1])) n--;
    // an unnamed leaf right under a tracer frame is the program's JIT code
    else if (n > 1 && frames[n - 1].kind === 'unknown' && isTracer(frames[n - 2])) n--;
    else break;
  }
  return n === frames.length ? frames : frames.slice(0, n);
}

export function emptyLoss(): LossStats {
  return { userStackMissing: 0, kernelStackMissing: 0, stackCollisions: 0, stackNoMem: 0, mapFull: 0, truncatedStacks: 0, lostEvents: 0 };
}
