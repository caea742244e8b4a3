/** Shared option checks and filter plumbing of the tools. */
import { BpfError } from '../errors.js';
import type { BpfObject } from '../object.js';
import { drainerOf, fillU32Set, StatsReader, type HashDrainer } from '../maps.js';
import type { Symbolizer } from '../symbolize/types.js';
import { openUnwindSession, tableWaitMs, type UnwindSession } from '../unwind/session.js';
import { StackResolver } from './stacks.js';
import { assertSize } from './layout.js';
import { UNWIND_MODES, type CommonStackOptions, type StackDelta, type ToolHandle, type ToolName } from './types.js';
import { withDrainAsync } from './drain-async.js';

export function bad(message: string): BpfError {
  return new BpfError({ errno: 22, code: 'EINVAL', message });
}

/** A log2 histogram's slots up to its last non-empty one (as bcc prints them; at least one slot). */
export function trimSlots(slots: number[]): number[] {
  let last = slots.length - 1;
  while (last > 0 && slots[last] === 0) last--;
  return slots.slice(0, last + 1);
}

export function checkIds(name: string, ids: number[] | undefined): number[] {
  if (!ids) return [];
  if (ids.length > 1024) throw bad(`too many ${name}s (${ids.length}): at most 1024 can be filtered on`);
  for (const x of ids) {
    if (!Number.isInteger(x) || x <= 0 || x > 0x3fffffff) {
      throw bad(`invalid ${name} ${String(x)}: expected a positive integer process/thread id`);
    }
  }
  return ids;
}

export function checkStackOpts(o: CommonStackOptions): void {
  if (o.userStacksOnly && o.kernelStacksOnly) {
    throw bad('userStacksOnly (-U) and kernelStacksOnly (-K) are mutually exclusive; pick one or neither');
  }
  if (o.unwind !== undefined && !UNWIND_MODES.includes(o.unwind)) {
    throw bad(`invalid unwind mode ${JSON.stringify(o.unwind)}: expected one of ${UNWIND_MODES.join(', ')}`);
  }
  if (o.stackStorageSize !== undefined && (!Number.isInteger(o.stackStorageSize) || o.stackStorageSize < 1 || o.stackStorageSize > 1 << 24)) {
    throw bad(`invalid stackStorageSize ${o.stackStorageSize}: expected an integer between 1 and ${1 << 24}`);
  }
}

export function checkMicros(name: string, v: number | undefined, dflt: bigint): bigint {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0 || !Number.isInteger(v)) throw bad(`invalid ${name} ${v}: expected a non-negative integer number of microseconds`);
  return BigInt(v);
}

export function fillFilters(obj: BpfObject, pids: number[], tids: number[]): void {
  if (pids.length) fillU32Set(obj.map('pid_filter'), pids);
  if (tids.length) fillU32Set(obj.map('tid_filter'), tids);
}

/** Run `fn` with the object; destroy it if fn throws (no half-attached leftovers). */
export function withCleanup<T>(obj: BpfObject, fn: () => T, onError?: () => void): T {
  try {
    return fn();
  } catch (e) {
    onError?.();
    obj.destroy();
    throw e;
  }
}

/** What a stack tool's drain works with: its `counts` drainer, its stats and its stack resolver. */
export interface StackToolParts {
  drainer: HashDrainer;
  stats: StatsReader;
  stacks: StackResolver;
}

/**
 * The handle of a stack tool (profile, offcputime, wakeuptime, offwaketime) whose object is loaded:
 * opens its `counts` map (key size checked) and drainer, the pid/tid filters, the stats, the CFI
 * unwinder when it walks user stacks itself (`cfi`), and the stack resolver. Processes named up
 * front have their maps read now, so they get names even if they exit before the first drain.
 *
 * `start` attaches what makes the tool record, once: at once, or with the CFI walker once the
 * processes' unwind tables are loaded (bounded: tableWaitMs), so that the first stacks are not
 * walked by frame pointers for want of a table (a process that execs meanwhile is reported by the
 * walker at its first stack and scanned then); never after close. `attachNow`: obj.attachAll()
 * right away, when the programs it attaches only watch (profile: the walker's exec hook; its
 * sampling programs are attached by `start`). If anything fails, everything opened is closed.
 */
export function openStackTool(
  obj: BpfObject,
  o: {
    tool: ToolName;
    keySize: number;
    pids: number[];
    tids: number[];
    sym: Symbolizer;
    cfi: boolean;
    fromTracepoint: boolean;
    attachNow?: boolean;
    start: () => void;
    drain: (parts: StackToolParts) => StackDelta;
  },
): ToolHandle<StackDelta> {
  let unwind: UnwindSession | undefined;
  return withCleanup(
    obj,
    () => {
      assertSize(obj.map('counts'), o.keySize, 8);
      fillFilters(obj, o.pids, o.tids);
      for (const pid of o.pids) o.sym.notePid(pid);
      const drainer = drainerOf(obj, 'counts');
      const stats = new StatsReader(obj.map('stats'));
      const session = o.cfi ? openUnwindSession(obj, o.pids) : undefined;
      unwind = session; // for the cleanup if anything below fails
      const parts: StackToolParts = { drainer, stats, stacks: new StackResolver(obj.map('stacks'), o.sym, o.fromTracepoint, session?.store, session?.python) };
      if (o.attachNow) obj.attachAll();
      let closed = false;
      let startTime = Date.now();
      const start = (): void => {
        if (closed) return;
        o.start();
        startTime = Date.now();
      };
      let ready: Promise<void> | undefined;
      if (session) {
        ready = session.tablesLoaded(tableWaitMs(o.pids)).then(start);
        ready.catch(() => {}); // reported to whoever awaits it; until then the drains show no stacks
      } else start();
      return withDrainAsync(
        {
          tool: o.tool,
          get startTime() {
            return startTime;
          },
          ready,
          unwind: session ? () => session.info() : undefined,
          drain: () => o.drain(parts),
          close(): void {
            closed = true;
            session?.close();
            obj.destroy();
          },
        },
        [parts.drainer],
      );
    },
    () => unwind?.close(),
  );
}
