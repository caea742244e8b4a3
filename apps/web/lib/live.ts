/**
 * The browser's live capture: the collector's wire deltas (relayed by the hub over SSE) go into
 * viz's DeltaAccumulator, the same one the hub mirrors a capture with, so both build the same
 * Profile from the same messages. This adds what only the browser knows (the `started` message's
 * metadata, the anchor of the timeline). Pure data, no DOM and no React (test/ui/live.test.ts).
 * The store materializes a Profile at most every ~250 ms (see stores/capture.ts).
 */
import { DeltaAccumulator, type DeltaProgress, type EndMessage } from '@bpfscope/viz/wire';
import type { LossStats, Profile, ProfileMeta, ToolName } from '@bpfscope/viz';

export type LiveProgress = DeltaProgress;

export class LiveAccumulator extends DeltaAccumulator {
  /** epoch ms of the capture's start (from the `started` message) until `end` says it. */
  startTime = 0;
  meta: ProfileMeta;

  constructor(tool: ToolName, meta: ProfileMeta = {}) {
    super(tool);
    this.meta = { tool, ...meta };
  }

  /** The final message: totals and metadata from the collector. */
  end(e: EndMessage): void {
    this.finish(e);
    if (e.meta.startTime) this.startTime = e.meta.startTime;
  }

  /** An immutable snapshot of everything so far. */
  override toProfile(): Profile {
    return super.toProfile({ meta: this.meta, startTime: this.startTime });
  }
}

/** Total of the loss counters (0 when nothing was missed). */
export function lossTotal(loss: LossStats | undefined): number {
  if (!loss) return 0;
  let n = 0;
  for (const v of Object.values(loss)) if (typeof v === 'number') n += v;
  return n;
}

const LOSS_WORDS: Record<keyof LossStats, string> = {
  userStackMissing: 'user stacks missing',
  kernelStackMissing: 'kernel stacks missing',
  stackCollisions: 'stack id collisions (raise the stack storage size)',
  stackNoMem: 'stack map full',
  mapFull: 'updates dropped (map full)',
  truncatedStacks: 'stacks truncated at max depth',
  lostEvents: 'events lost (buffer overflow)',
  otherStacks: 'stacks folded into [other stacks] (unique-stack limit)',
  timelineDropped: 'samples left out of the timeline (timeline limit)',
  unwindNoTable: 'user stacks ended early: no unwind table for the code yet (walked on by frame pointers)',
  unwindUnsupported: 'user stacks ended early: no usable unwind rule (no FDE or unsupported CFI)',
  unwindReadFault: 'user stacks ended early: reading the stack faulted',
  pythonUnsupported: 'stacks of Python processes without Python functions: CPython version not supported (3.8-3.13 are)',
};

/** "12 user stacks missing, 3 stack id collisions …" for the non-zero counters. */
export function describeLoss(loss: LossStats | undefined): string[] {
  if (!loss) return [];
  const out: string[] = [];
  for (const k of Object.keys(LOSS_WORDS) as (keyof LossStats)[]) {
    const v = loss[k];
    if (typeof v === 'number' && v > 0) out.push(`${v.toLocaleString('en-US')} ${LOSS_WORDS[k]}`);
  }
  return out;
}
