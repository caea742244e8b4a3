/** biolatency: block request latency as log2 histograms (µs or ms), per disk or per flags. */
import fs from 'node:fs';
import { BpfObject } from '../object.js';
import { drainerOf, StatsReader } from '../maps.js';
import type { BiolatencyOptions, HistogramDelta, ToolHandle } from './types.js';
import { BIO_HIST_SIZE, BIO_KEY_SIZE, BIO_MAX_SLOTS, assertSize, bioCfg, Stat } from './layout.js';
import { emptyLoss } from './stacks.js';
import { bad, trimSlots, withCleanup } from './common.js';
import { withDrainAsync } from './drain-async.js';

const OPS: Record<number, string> = {
  0: 'Read',
  1: 'Write',
  2: 'Flush',
  3: 'Discard',
  5: 'SecureErase',
  7: 'ZoneAppend',
  9: 'WriteZeroes',
  11: 'ZoneOpen',
  13: 'ZoneClose',
  15: 'ZoneFinish',
  17: 'ZoneReset',
  19: 'ZoneResetAll',
  34: 'DrvIn',
  35: 'DrvOut',
};

/* BIO_F_* of biolatency.h, in the order their prefixes are added (the last one ends up first). */
const FLAG_PREFIXES: Array<[number, string]> = [
  [1 << 14, 'PreFlush'],
  [1 << 8, 'Sync'],
  [1 << 9, 'Metadata'],
  [1 << 13, 'ForcedUnitAccess'],
  [1 << 10, 'Priority'],
  [1 << 11, 'NoMerge'],
  [1 << 12, 'Idle'],
  [1 << 15, 'ReadAhead'],
  [1 << 16, 'Background'],
  [1 << 17, 'NoWait'],
];

/** bcc-style description of request flags, e.g. "Sync-Write", "ReadAhead-Read". */
export function bioFlagString(flags: number): string {
  let desc = OPS[flags & 0xff] ?? 'Unknown';
  for (const [bit, name] of FLAG_PREFIXES) if (flags & bit) desc = `${name}-${desc}`;
  return desc;
}

/** "major:minor" → disk name, from /sys/class/block/<name>/dev (disks and partitions). */
export function readDiskNames(): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/class/block');
  } catch {
    /* no sysfs: fall back to /proc/partitions below */
  }
  for (const name of names) {
    try {
      out.set(fs.readFileSync(`/sys/class/block/${name}/dev`, 'utf8').trim(), name);
    } catch {
      /* vanished */
    }
  }
  if (out.size === 0) {
    try {
      for (const line of fs.readFileSync('/proc/partitions', 'utf8').split('\n').slice(2)) {
        const f = line.trim().split(/\s+/);
        if (f.length === 4) out.set(`${f[0]}:${f[1]}`, f[3]);
      }
    } catch {
      /* nothing to name disks with */
    }
  }
  return out;
}

export function openBiolatency(opts: BiolatencyOptions = {}): ToolHandle<HistogramDelta> {
  if (opts.perDisk && opts.perFlag) throw bad('perDisk (-D) and perFlag (-F) cannot be combined; pick one');
  const obj = BpfObject.load('biolatency', {
    rodata: bioCfg({ queued: !!opts.queued, perDisk: !!opts.perDisk, perFlag: !!opts.perFlag, milliseconds: !!opts.milliseconds }),
    enable: (name) => name !== 'block_rq_insert' || !!opts.queued,
  });
  return withCleanup(obj, () => {
    const hists = obj.map('hists');
    assertSize(hists, BIO_KEY_SIZE, BIO_HIST_SIZE);
    const drainer = drainerOf(obj, 'hists');
    const stats = new StatsReader(obj.map('stats'));
    let disks = opts.perDisk ? readDiskNames() : new Map<string, string>();
    obj.attachAll();
    const startTime = Date.now();
    const keyKind: HistogramDelta['keyKind'] = opts.perDisk ? 'disk' : opts.perFlag ? 'flags' : 'none';

    const keyName = (dev: number, flags: number): string => {
      if (keyKind === 'flags') return bioFlagString(flags);
      if (keyKind !== 'disk') return '';
      const mm = `${dev >>> 20}:${dev & 0xfffff}`;
      if (!disks.has(mm)) disks = readDiskNames();
      return disks.get(mm) ?? `[${mm}]`;
    };

    return withDrainAsync(
      {
        tool: 'biolatency' as const,
        startTime,
        drain(): HistogramDelta {
          const n = drainer.drain();
          const st = stats.read();
          const byKey = new Map<string, number[]>();
          for (let i = 0; i < n; i++) {
            const ko = i * BIO_KEY_SIZE;
            const vo = i * BIO_HIST_SIZE;
            const key = keyName(drainer.keys.readUInt32LE(ko), drainer.keys.readUInt32LE(ko + 4));
            let slots = byKey.get(key);
            if (!slots) byKey.set(key, (slots = new Array(BIO_MAX_SLOTS).fill(0)));
            for (let s = 0; s < BIO_MAX_SLOTS; s++) slots[s] += drainer.values.readUInt32LE(vo + s * 4);
          }
          const histograms = [...byKey.entries()]
            .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .map(([key, slots]) => ({ key, slots: trimSlots(slots) }));
          const loss = emptyLoss();
          loss.mapFull = st[Stat.MAP_FULL];
          // requests the programs could not time: the start map refused them, or the kernel never
          // delivered their completion to block_rq_complete (seen when the request was issued again)
          loss.lostEvents = st[Stat.START_FULL] + (st[Stat.COMPLETION_UNSEEN] ?? 0); // ?? 0: an object built before the counter existed
          return { kind: 'histogram', unit: opts.milliseconds ? 'msecs' : 'usecs', keyKind, histograms, loss, events: st[Stat.EVENTS] };
        },
        close(): void {
          obj.destroy();
        },
      },
      [drainer],
    );
  });
}
