/** runqlat: run-queue latency (runnable → running) as log2 histograms, overall, per process or per thread. */
import { BpfObject } from '../object.js';
import { drainerOf, StatsReader } from '../maps.js';
import type { HistogramDelta, RunqlatOptions, ToolHandle } from './types.js';
import { RUNQLAT_HIST_SIZE, RUNQLAT_MAX_SLOTS, assertSize, readComm, runqlatCfg, Stat } from './layout.js';
import { emptyLoss } from './stacks.js';
import { bad, checkIds, fillFilters, trimSlots, withCleanup } from './common.js';
import { withDrainAsync } from './drain-async.js';

export function openRunqlat(opts: RunqlatOptions = {}): ToolHandle<HistogramDelta> {
  if (opts.perProcess && opts.perThread) throw bad('perProcess (-P) and perThread (-L) cannot be combined; pick one');
  const pids = checkIds('pid', opts.pid);
  const key = opts.perProcess ? 'pid' : opts.perThread ? 'tid' : 'none';
  const obj = BpfObject.load('runqlat', { rodata: runqlatCfg({ filterPid: pids.length > 0, key, milliseconds: !!opts.milliseconds }) });
  return withCleanup(obj, () => {
    fillFilters(obj, pids, []);
    const hists = obj.map('hists');
    assertSize(hists, 4, RUNQLAT_HIST_SIZE);
    const drainer = drainerOf(obj, 'hists');
    const stats = new StatsReader(obj.map('stats'));
    obj.attachAll();
    return withDrainAsync(
      {
        tool: 'runqlat' as const,
        startTime: Date.now(),
        drain(): HistogramDelta {
          const n = drainer.drain();
          const st = stats.read();
          const v = drainer.values;
          const histograms: HistogramDelta['histograms'] = [];
          for (let i = 0; i < n; i++) {
            const id = drainer.keys.readUInt32LE(i * 4);
            const o = i * RUNQLAT_HIST_SIZE;
            const slots: number[] = [];
            for (let s = 0; s < RUNQLAT_MAX_SLOTS; s++) slots.push(v.readUInt32LE(o + s * 4));
            const h: HistogramDelta['histograms'][number] = { key: key === 'none' ? '' : String(id), slots: trimSlots(slots) };
            if (key !== 'none') h.comm = readComm(v, o + RUNQLAT_MAX_SLOTS * 4);
            histograms.push(h);
          }
          histograms.sort((a, b) => Number(a.key) - Number(b.key));
          const loss = emptyLoss();
          loss.mapFull = st[Stat.MAP_FULL];
          loss.lostEvents = st[Stat.START_FULL];
          return { kind: 'histogram', unit: opts.milliseconds ? 'msecs' : 'usecs', keyKind: key, histograms, loss, events: st[Stat.EVENTS] };
        },
        close: () => obj.destroy(),
      },
      [drainer],
    );
  });
}
