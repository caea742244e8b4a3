/** profile: on-CPU stack sampling (perf_event cpu-clock at F Hz on every online CPU). */
import { BpfObject } from '../object.js';
import { openCpuClock, closeFd } from '../perf.js';
import { onlineCpus } from '../privileges.js';
import type { Symbolizer } from '../symbolize/types.js';
import type { ProfileOptions, StackDelta, StackRecord, ToolHandle } from './types.js';
import { PROFILE_KEY_SIZE, profileCfg, readComm, Stat } from './layout.js';
import { bad, checkIds, checkStackOpts, openStackTool } from './common.js';
import { loadWithUnwind, unwindPrograms } from '../unwind/session.js';

export function openProfile(opts: ProfileOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  checkStackOpts(opts);
  const pids = checkIds('pid', opts.pid);
  const tids = checkIds('tid', opts.tid);
  const hz = opts.frequency ?? 49;
  if (!Number.isInteger(hz) || hz < 1 || hz > 100000) throw bad(`invalid frequency ${hz}: expected an integer number of Hz between 1 and 100000`);
  const resMs = opts.timeResolutionMs ?? 10;
  if (!Number.isInteger(resMs) || resMs < 1 || resMs > 60000) throw bad(`invalid timeResolutionMs ${resMs}: expected an integer between 1 and 60000`);
  const bucketNs = BigInt(resMs) * 1_000_000n;

  const { obj, cfi } = loadWithUnwind(opts.unwind, !opts.kernelStacksOnly, (unwind) =>
    BpfObject.load('profile', {
      rodata: profileCfg({
        bucketNs,
        filterPid: pids.length > 0,
        filterTid: tids.length > 0,
        userOnly: !!opts.userStacksOnly,
        kernelOnly: !!opts.kernelStacksOnly,
        includeIdle: !!opts.includeIdle,
        unwind,
      }),
      maxEntries: opts.stackStorageSize ? { stacks: opts.stackStorageSize, ustacks: opts.stackStorageSize } : undefined,
      enable: unwindPrograms(unwind),
    }),
  );
  let startMonoNs = process.hrtime.bigint();
  return openStackTool(obj, {
    tool: 'profile',
    keySize: PROFILE_KEY_SIZE,
    pids,
    tids,
    sym,
    cfi,
    fromTracepoint: false,
    attachNow: true, // the walker's exec hook; the sampling perf events are attached by start
    start(): void {
      for (const cpu of onlineCpus()) {
        const fd = openCpuClock(cpu, hz);
        try {
          obj.attachPerfEvent('do_sample', fd);
        } catch (e) {
          closeFd(fd);
          throw e;
        }
      }
      startMonoNs = process.hrtime.bigint();
    },
    drain({ drainer, stats, stacks }): StackDelta {
      const n = drainer.drain();
      const st = stats.read();
      const k = drainer.keys;
      const v = drainer.values;
      const records: StackRecord[] = [];
      const index = new Map<string, number>();
      const entries: Array<{ offsetMs: number; record: number; count: number }> = [];
      for (let i = 0; i < n; i++) {
        const o = i * PROFILE_KEY_SIZE;
        const pid = k.readUInt32LE(o);
        const tid = k.readUInt32LE(o + 4);
        const uid = k.readInt32LE(o + 8);
        const kid = k.readInt32LE(o + 12);
        const bucket = k.readBigUInt64LE(o + 16);
        const comm = readComm(k, o + 24);
        const count = Number(v.readBigUInt64LE(i * 8));
        const rk = `${pid}/${tid}/${uid}/${kid}/${comm}`;
        let ri = index.get(rk);
        if (ri === undefined) {
          ri = records.push({ ...stacks.thread(pid, tid, comm, uid, kid), value: 0 }) - 1;
          index.set(rk, ri);
        }
        records[ri].value += count;
        // a bucket that began just before attach gets offset 0
        const off = Number((bucket * bucketNs - startMonoNs) / 1_000_000n);
        entries.push({ offsetMs: Math.max(off, 0), record: ri, count });
      }
      entries.sort((a, b) => a.offsetMs - b.offsetMs || a.record - b.record);
      stacks.endInterval();
      return {
        kind: 'stacks',
        unit: 'samples',
        records,
        timeline: { resolutionMs: resMs, entries },
        loss: stacks.loss(st),
        events: st[Stat.EVENTS],
      };
    },
  });
}
