/**
 * The typed deltas every tool's drain() returns. These cross into the collector, which maps them
 * to the @bpfscope/viz model and wire messages (this package never imports viz).
 */
import type { SymbolizedFrame } from '../symbolize/types.js';

/**
 * The tools this engine implements (one BPF object each). The collector and the web take their list
 * from @bpfscope/viz/tools; the collector's engine (apps/collector/src/engine.ts) does not compile
 * unless both lists name the same tools.
 */
export const TOOL_NAMES = ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency', 'runqlat'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The tools that trace any event (issue 12): calls, stacks or durations of probes, and run-queue latency. */
export type AnyEventToolName = 'funccount' | 'stackcount' | 'funclatency' | 'runqlat';

/** Missing data is counted, never hidden (same field names as the viz LossStats). */
export interface LossStats {
  userStackMissing: number;
  kernelStackMissing: number;
  stackCollisions: number;
  stackNoMem: number;
  mapFull: number;
  truncatedStacks: number;
  lostEvents: number;
  /** CFI unwinding (unwind 'cfi' / 'auto'): user stacks that ended early, by reason. A stack that
   * ended early is still reported with the frames found so far (and counted here, never silently). */
  /** the pc was in code whose unwind table was not loaded (yet), or that its table has no rule for
   * (no FDE, e.g. V8's embedded builtins): the walk went on by frame pointers there */
  unwindNoTable?: number;
  /** the walk ended at a rule that led nowhere (no return address, a frame below the last one) or
   * an RBP-based rule after rbp was lost */
  unwindUnsupported?: number;
  /** reading the stack (return address, saved rbp) faulted (paged out, or a corrupt frame) */
  unwindReadFault?: number;
  /** stacks of Python processes whose CPython version has no known layout: native frames only */
  pythonUnsupported?: number;
}

/** One aggregated key drained from the kernel, symbolized. Stack frame arrays are ROOT FIRST. */
export interface StackRecord {
  pid: number;
  tid: number;
  comm: string;
  /** root → leaf; empty when not collected (-K) or missing (see userMissing). */
  user: SymbolizedFrame[];
  /** root → leaf; empty when not collected (-U) or missing. */
  kernel: SymbolizedFrame[];
  /** the lookup failed (bcc prints "[Missed User Stack]"). */
  userMissing?: boolean;
  kernelMissing?: boolean;
  /** wakeuptime / offwaketime: who woke the blocked task. */
  waker?: {
    pid: number;
    tid?: number;
    comm: string;
    user: SymbolizedFrame[];
    kernel: SymbolizedFrame[];
    userMissing?: boolean;
    kernelMissing?: boolean;
  };
  /** samples (profile) or microseconds (off-CPU / wakeup tools). */
  value: number;
}

/** A thread and its stacks: the part of a StackRecord that its waker has too. */
export type ThreadStacks = Omit<StackRecord, 'waker' | 'value'>;

export interface StackDelta {
  kind: 'stacks';
  /** samples (profile), microseconds (off-CPU tools) or events (stackcount: calls of the probes) */
  unit: 'samples' | 'microseconds' | 'events';
  records: StackRecord[];
  /**
   * profile only: when the samples of each record happened, for subsecond heat maps.
   * entries: `count` samples of records[record] in the bucket starting `offsetMs` after startTime.
   */
  timeline?: { resolutionMs: number; entries: Array<{ offsetMs: number; record: number; count: number }> };
  loss: LossStats;
  /** samples or events seen by the BPF program in this interval (including filtered-out ones is not required). */
  events: number;
}

export interface HistogramDelta {
  kind: 'histogram';
  unit: 'usecs' | 'msecs';
  /** biolatency: none, disk (-D) or flags (-F); runqlat: none, pid (-P) or tid (-L) */
  keyKind: 'none' | 'disk' | 'flags' | 'pid' | 'tid' | 'function';
  /** one log2 histogram per key; slot i covers [2^i, 2^(i+1)-1], slot 0 covers [0,1]. */
  histograms: Array<{ key: string; slots: number[]; comm?: string }>;
  loss: LossStats;
  events: number;
}

export interface ToolHandle<D> {
  readonly tool: ToolName;
  /** epoch ms at attach time (stack tools with the CFI walker: when sampling started, see `ready`);
   * timeline offsets are relative to it. */
  readonly startTime: number;
  /**
   * Stack tools with the CFI walker: resolves when sampling starts, once the unwind tables of the
   * processes present at open are loaded (bounded wait: TABLE_WAIT_PIDS_MS / TABLE_WAIT_ALL_MS);
   * rejects if attaching then fails. Until then drain() returns empty deltas. Undefined (or already
   * resolved) when sampling started at open.
   */
  readonly ready?: Promise<void>;
  /** CFI unwinding (unwind 'cfi'/'auto' when the walker is on): processes, tables and BPF map
   * memory of the unwinder; undefined when user stacks are walked by frame pointers. */
  unwind?: () => import('../unwind/procs.js').UnwindInfo;
  /** Read and delete what the kernel gathered since the last drain (bounded memory). */
  drain(): D;
  /** drain() with the wait for running BPF programs (an RCU grace period) off the event loop.
   * Drains are serialized; close() during one takes effect once its read is done. */
  drainAsync?(): Promise<D>;
  /** Detach and free everything. Idempotent. */
  close(): void;
}

/**
 * How user stacks are walked: 'fp' = frame pointers (bpf_get_stackid, what bcc does);
 * 'cfi' = call-frame information (.eh_frame/.debug_frame tables walked in BPF), frame pointers only
 * for code without tables (JIT, anonymous executable memory); 'auto' (default) = 'cfi' when the
 * kernel can run the walker, else 'fp'.
 */
export type UnwindMode = 'fp' | 'cfi' | 'auto';
export const UNWIND_MODES: readonly UnwindMode[] = ['fp', 'cfi', 'auto'];

export interface CommonStackOptions {
  /** user-stack unwinding (default 'auto') */
  unwind?: UnwindMode;
  pid?: number[];
  tid?: number[];
  userStacksOnly?: boolean;
  kernelStacksOnly?: boolean;
  /** stack map entries (bcc --stack-storage-size, default 16384). */
  stackStorageSize?: number;
}

export interface ProfileOptions extends CommonStackOptions {
  /** Hz, default 49 like bcc. */
  frequency?: number;
  includeIdle?: boolean;
  /** timeline bucket width in ms (default 10). */
  timeResolutionMs?: number;
}

export interface OffcpuOptions extends CommonStackOptions {
  userThreadsOnly?: boolean;
  kernelThreadsOnly?: boolean;
  minBlockUs?: number;
  maxBlockUs?: number;
  /** task state filter like bcc --state (-1/undefined = all). */
  state?: number;
}

export type WakeuptimeOptions = Omit<OffcpuOptions, 'state' | 'kernelThreadsOnly' | 'tid'>;
export type OffwaketimeOptions = Omit<OffcpuOptions, 'state'>;

export interface BiolatencyOptions {
  queued?: boolean;
  perDisk?: boolean;
  perFlag?: boolean;
  milliseconds?: boolean;
}

/* ---- funccount / stackcount / funclatency / runqlat ---- */

export interface ProbeToolOptions {
  /** bcc pattern: func, lib:func, /path:func, p::func, p:lib:func, t:category:event (wildcards * ?) */
  pattern: string;
  /** the pattern's names are regular expressions (-r) */
  regex?: boolean;
  /** only these processes (tgids) */
  pid?: number[];
  /** refuse patterns that match more probes (default 1000) */
  limit?: number;
}

export type FunccountOptions = ProbeToolOptions;

export interface StackcountOptions extends ProbeToolOptions {
  /** only events on this CPU (-c) */
  cpu?: number;
  userStacksOnly?: boolean;
  kernelStacksOnly?: boolean;
  /** pid and comm in each key (-P); always on when user stacks are collected (they need the pid) */
  perPid?: boolean;
  stackStorageSize?: number;
  /** user-stack unwinding (default 'auto': the CFI walker where the kernel can run it) */
  unwind?: UnwindMode;
}

export interface FunclatencyOptions extends ProbeToolOptions {
  /** histogram unit (default nsecs like bcc; -u usecs, -m msecs) */
  unit?: 'nsecs' | 'usecs' | 'msecs';
  /** one histogram per function (-F) */
  perFunction?: boolean;
}

export interface RunqlatOptions {
  pid?: number[];
  /** accepted for the tool table's common options; runqlat filters on processes only */
  tid?: number[];
  /** one histogram per process (-P) */
  perProcess?: boolean;
  /** one histogram per thread (-L) */
  perThread?: boolean;
  milliseconds?: boolean;
}

/** What a probe tool attached to (shown with the capture). */
export interface AttachedProbes {
  kind: 'kernel' | 'user' | 'tracepoint';
  /** kprobe.multi, kprobe, fentry, uprobe, raw_tp */
  method: string;
  probes: string[];
  /** user probes: the binary or library */
  path?: string;
  /** matched, but the kernel refused to probe them (wildcard patterns only; exact names fail) */
  skipped: string[];
}

export interface CountDelta {
  kind: 'counts';
  /** calls per probe in this interval (probes without calls left out) */
  counts: Array<{ key: string; value: number }>;
  loss: LossStats;
  events: number;
}

export interface LatencyDelta {
  kind: 'latency';
  unit: 'nsecs' | 'usecs' | 'msecs';
  keyKind: 'none' | 'function' | 'pid' | 'tid';
  /** log2 histograms, slot i covers [2^i, 2^(i+1)-1] (slot 0 [0, 1]); count/sum when known (funclatency) */
  histograms: Array<{ key: string; slots: number[]; count?: number; sum?: number; comm?: string }>;
  loss: LossStats;
  events: number;
}

export interface AnyEventHandle<D> {
  readonly tool: AnyEventToolName;
  /** epoch ms at attach time */
  readonly startTime: number;
  /** stackcount with the CFI walker on: the unwinder's processes, tables and map memory (as ToolHandle.unwind) */
  unwind?: () => import('../unwind/procs.js').UnwindInfo;
  /** Read and delete what the kernel gathered since the last drain. */
  drain(): D;
  /** drain() with the wait off the event loop (as ToolHandle.drainAsync) */
  drainAsync?(): Promise<D>;
  /** Detach and free everything. Idempotent. */
  close(): void;
}

export interface ProbeToolHandle<D> extends AnyEventHandle<D> {
  readonly attached: AttachedProbes;
  /** the BPF programs' run time and runs so far, from the kernel's bpf_stats (0 unless kernel.bpf_stats_enabled=1) */
  programStats(): { runTimeNs: number; runCount: number };
}
