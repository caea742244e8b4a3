/**
 * The profile model shared by every part of bpfscope. Pure data: no DOM, no Node APIs.
 *
 * A profile is a set of unique stacks (root first) with weights in one unit, over an interned frame
 * table. The call tree is derived from it (see tree.ts). A built Profile is treated as immutable:
 * operations return new profiles.
 */
import type { ToolName } from '../tools/table.js';

/** Units of a profile's weights. Named so that renderers and exporters never guess. */
export type Unit = 'samples' | 'microseconds' | 'nanoseconds' | 'milliseconds' | 'count' | 'bytes';

/**
 * Named numeric aliases for values whose unit matters (Firefox Profiler style): plain numbers to
 * the compiler, but a signature says what it takes (times in the model are epoch or offset ms,
 * timeline counts are samples, off-CPU durations are µs).
 */
export type Microseconds = number;
export type Milliseconds = number;
export type Samples = number;

/**
 * What a frame is, so renderers can colour by it.
 * - `comm`: the process name that bcc/FlameGraph folded stacks put first.
 * - `separator`: `-` (between user and kernel frames with bcc `-d`) or `--` (between a blocked
 *   task's stack and its waker's stack in offwaketime / wakeuptime chains).
 * - `jit`: frames from perf-PID.map (Node --perf-basic-prof, Java agents).
 * - `python`: CPython functions read from the interpreter's frames, `qualname (file.py)`.
 */
export type FrameKind = 'comm' | 'kernel' | 'user' | 'jit' | 'inline' | 'separator' | 'unknown' | 'python';

export interface Frame {
  /** Opaque, untrusted string (from traced processes): never interpreted, always escaped when shown. */
  readonly name: string;
  readonly kind: FrameKind;
}

/**
 * One unique stack: indices into Profile.frames, root first (comm first when present).
 *
 * Source lines are a side table, not part of a frame's identity (a frame stays a function, so flame
 * graphs keep one node per function): `lines[i]` is the source line frame `i` was at, as an index
 * into Profile.lines, 0 where unknown. Two samples with the same frames at different lines are two
 * stacks (the call tree merges them into the same nodes); `lines` is absent when no frame has one.
 */
export interface Stack {
  readonly frames: readonly number[];
  readonly weight: number;
  readonly lines?: readonly number[];
}

/** A source position; Profile.lines[0] is always the unknown line `{ file: '', line: 0 }`. */
export interface SourceLine {
  /** untrusted (from debug info or a traced interpreter): escaped when shown. */
  readonly file: string;
  readonly line: number;
}

/** The tools (one table: ../tools/table.ts). */
export type { ToolName };

/** Missing data is counted, never hidden. All fields optional; absent means "not measured". */
export interface LossStats {
  /** user stack lookups that failed with -EFAULT (normal for kernel threads). */
  userStackMissing?: number;
  /** kernel stack lookups that failed. */
  kernelStackMissing?: number;
  /** -EEXIST: stack id hash collisions in the stack map (increase --stack-storage-size). */
  stackCollisions?: number;
  /** -ENOMEM: the stack map was full. */
  stackNoMem?: number;
  /** updates dropped because a counts/start map was full. */
  mapFull?: number;
  /** stacks truncated at the maximum depth. */
  truncatedStacks?: number;
  /** samples or events lost (ring/perf buffer overflow). */
  lostEvents?: number;
  /** stacks folded into "[other stacks]" because a unique-stack limit was reached. */
  otherStacks?: number;
  /** samples whose timeline entry was dropped (the capture's timeline limit). */
  timelineDropped?: number;
  /** CFI unwinding: user stacks that ended early because the code's unwind table was not loaded
   * (yet); the walk went on by frame pointers from there. */
  unwindNoTable?: number;
  /** CFI unwinding: user stacks that ended at code with no usable unwind rule (no FDE, unsupported CFA). */
  unwindUnsupported?: number;
  /** CFI unwinding: user stacks that ended because reading the stack faulted. */
  unwindReadFault?: number;
  /** stacks of Python processes whose CPython version has no known layout (their native
   * _PyEval_EvalFrameDefault frames stay in place of the Python functions). */
  pythonUnsupported?: number;
}

/** Where a profile came from and how it was taken. */
export interface ProfileMeta {
  /** the bpfscope tool, or 'import' for a file brought by a user. */
  tool?: ToolName | 'import';
  name?: string;
  notes?: string;
  /** the capture's options, under the wire/API names (pid, frequency, minBlockUs, ...). */
  options?: Record<string, unknown>;
  host?: string;
  kernel?: string;
  /** epoch milliseconds */
  startTime?: Milliseconds;
  durationMs?: Milliseconds;
  /** for imports: the detected format and the file name. */
  source?: { format: ProfileFormat; fileName?: string };
  loss?: LossStats;
  /** set by prune(): some frames were folded into their parents. */
  pruned?: { minWeight: number; removedNodes: number };
  /**
   * A capture from several hosts (a fleet capture): every stack's root frame is the host's name,
   * in this order. `state` failed: the host's data is what arrived before `error`.
   */
  hosts?: FleetHostMeta[];
  /** some hosts of a fleet capture failed: the profile holds only what they sent before. */
  partial?: boolean;
}

export interface FleetHostMeta {
  name: string;
  labels?: Record<string, string>;
  state: 'done' | 'failed';
  error?: string;
  samples: number;
}

export type ProfileFormat = 'folded' | 'perf-script' | 'pprof' | 'bpftrace' | 'speedscope' | 'bpfscope';

/**
 * FlameScope-style time series: how many samples of each stack fell in each time bucket.
 * Parallel arrays (compact for large captures): entry i says `count[i]` samples of
 * `stack[i]` (index into Profile.stacks) fell in the bucket starting at `offsetMs[i]`
 * milliseconds after `startTime`.
 */
export interface Timeline {
  /** bucket width in ms (10 ms or finer for subsecond heat maps). */
  readonly resolutionMs: Milliseconds;
  /** epoch ms of offset 0. */
  readonly startTime: Milliseconds;
  readonly offsetMs: readonly Milliseconds[];
  readonly stack: readonly number[];
  readonly count: readonly Samples[];
}

/**
 * bcc-style log2 histograms over time (biolatency). Slot i covers [2^i, 2^(i+1) - 1] in `unit`
 * except slot 0, which covers [0, 1] (as bcc prints "0 -> 1").
 */
export interface HistogramInterval {
  /** epoch ms */
  readonly start: Milliseconds;
  /** epoch ms */
  readonly end: Milliseconds;
  /** '' for all disks/flags together, else the disk name (-D) or flag string (-F). */
  readonly key: string;
  readonly slots: readonly number[];
}

export interface HistogramSeries {
  readonly unit: 'usecs' | 'msecs';
  /** what `key` means: nothing, the disk (-D) or the request flags (-F). */
  /** what the keys of the histograms are: nothing, disks / request flags (biolatency -D/-F), process or thread ids (runqlat -P/-L), functions (funclatency -F) */
  readonly keyKind: 'none' | 'disk' | 'flags' | 'pid' | 'tid' | 'function';
  readonly intervals: readonly HistogramInterval[];
}

export interface Profile {
  readonly unit: Unit;
  readonly frames: readonly Frame[];
  readonly stacks: readonly Stack[];
  /** sum of all stack weights. */
  readonly total: number;
  readonly meta: ProfileMeta;
  readonly timeline?: Timeline;
  readonly histograms?: HistogramSeries;
  /** the source lines stacks refer to (Stack.lines); absent when no stack has lines. Index 0 is unknown. */
  readonly lines?: readonly SourceLine[];
}
