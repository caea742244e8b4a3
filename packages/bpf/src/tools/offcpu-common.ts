/** Shared loader of the sched_switch based tools (offcputime, wakeuptime, offwaketime). */
import { BpfObject } from '../object.js';
import type { Symbolizer } from '../symbolize/types.js';
import type { OffcpuOptions, StackDelta, StackRecord, ToolHandle, ToolName } from './types.js';
import { offcpuCfg, readComm, Stat } from './layout.js';
import type { StackResolver } from './stacks.js';
import { bad, checkIds, checkMicros, checkStackOpts, openStackTool } from './common.js';
import { loadWithUnwind, unwindPrograms } from '../unwind/session.js';

export function openSwitchTool(
  tool: ToolName,
  opts: OffcpuOptions,
  sym: Symbolizer,
  keySize: number,
  decode: (k: Buffer, o: number, value: number, stacks: StackResolver) => StackRecord,
): ToolHandle<StackDelta> {
  checkStackOpts(opts);
  const pids = checkIds('pid', opts.pid);
  const tids = checkIds('tid', opts.tid);
  if (opts.userThreadsOnly && opts.kernelThreadsOnly) {
    throw bad('userThreadsOnly (-u) and kernelThreadsOnly (-k) are mutually exclusive; pick one or neither');
  }
  const minUs = checkMicros('minBlockUs', opts.minBlockUs, 1n);
  const maxUs = checkMicros('maxBlockUs', opts.maxBlockUs, 0xffffffffffffffffn);
  if (minUs > maxUs) throw bad(`minBlockUs (${minUs}) is larger than maxBlockUs (${maxUs})`);
  const state = opts.state ?? -1;
  if (!Number.isInteger(state) || state < -1 || state > 0xffff)
    throw bad(`invalid state ${state}: expected a task state bitmask like 1 (TASK_INTERRUPTIBLE) or 2 (TASK_UNINTERRUPTIBLE), or -1 for any`);

  // Deferred user stacks (walked when the blocked system call returns, only for blocks that pass
  // the filter) pay off when a minimum block time filters out short blocks; they cost a program
  // run at every system call's exit, so without such a filter every block is walked at switch-out.
  const deferable = tool === 'offcputime' || tool === 'offwaketime';
  const { obj, cfi } = loadWithUnwind(opts.unwind, !opts.kernelStacksOnly, (unwind) =>
    BpfObject.load(tool, {
      rodata: offcpuCfg({
        f: {
          filterPid: pids.length > 0,
          filterTid: tids.length > 0,
          userThreadsOnly: !!opts.userThreadsOnly,
          kernelThreadsOnly: !!opts.kernelThreadsOnly,
          state,
        },
        minUs,
        maxUs,
        userOnly: !!opts.userStacksOnly,
        kernelOnly: !!opts.kernelStacksOnly,
        unwind,
        deferUser: unwind && deferable && minUs > 1n,
      }),
      maxEntries: opts.stackStorageSize ? { stacks: opts.stackStorageSize, ustacks: opts.stackStorageSize } : undefined,
      enable: unwindPrograms(unwind, unwind && deferable && minUs > 1n),
    }),
  );
  return openStackTool(obj, {
    tool,
    keySize,
    pids,
    tids,
    sym,
    cfi,
    fromTracepoint: true,
    start: () => obj.attachAll(),
    drain({ drainer, stats, stacks }): StackDelta {
      const n = drainer.drain();
      const st = stats.read();
      const records: StackRecord[] = [];
      for (let i = 0; i < n; i++) {
        records.push(decode(drainer.keys, i * keySize, Number(drainer.values.readBigUInt64LE(i * 8)), stacks));
      }
      stacks.endInterval();
      return { kind: 'stacks', unit: 'microseconds', records, loss: stacks.loss(st), events: st[Stat.EVENTS] };
    },
  });
}

/**
 * The blocked thread's part of an offcputime / offwaketime key at k[o]: pid, tid, user and kernel
 * stack ids, comm (the layout both keys begin with).
 */
export function decodeBlocked(k: Buffer, o: number, value: number, stacks: StackResolver): StackRecord {
  return { ...stacks.thread(k.readUInt32LE(o), k.readUInt32LE(o + 4), readComm(k, o + 16), k.readInt32LE(o + 8), k.readInt32LE(o + 12)), value };
}
