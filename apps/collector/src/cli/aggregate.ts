/**
 * In-memory aggregates the CLI merges each drained delta into (the kernel maps are drained about
 * every second, so kernel memory stays bounded; here memory grows only with unique stacks).
 */
import type { HistogramDelta, LossStats, StackDelta, StackRecord } from '@bpfscope/bpf';

export function emptyLoss(): LossStats {
  return { userStackMissing: 0, kernelStackMissing: 0, stackCollisions: 0, stackNoMem: 0, mapFull: 0, truncatedStacks: 0, lostEvents: 0 };
}

export function addLoss(into: LossStats, d: LossStats | undefined): void {
  if (!d) return;
  for (const k of Object.keys(d) as (keyof LossStats)[]) {
    const v = d[k];
    if (typeof v === 'number' && v > 0) into[k] = (into[k] ?? 0) + v;
  }
}

function recordKey(r: StackRecord): string {
  const frames = (fs: StackRecord['user']) => fs.map((f) => [f.name, f.kind, f.module ?? '', f.offset ?? -1]);
  const w = r.waker;
  return JSON.stringify([
    r.pid,
    r.tid,
    r.comm,
    frames(r.user),
    frames(r.kernel),
    !!r.userMissing,
    !!r.kernelMissing,
    w ? [w.pid, w.tid ?? -1, w.comm, frames(w.user), frames(w.kernel), !!w.userMissing, !!w.kernelMissing] : null,
  ]);
}

export class StackAggregate {
  private readonly byKey = new Map<string, StackRecord>();
  readonly loss: LossStats = emptyLoss();
  events = 0;
  drains = 0;

  add(delta: StackDelta): void {
    this.drains++;
    this.events += delta.events ?? 0;
    addLoss(this.loss, delta.loss);
    for (const r of delta.records) {
      const k = recordKey(r);
      const have = this.byKey.get(k);
      if (have) have.value += r.value;
      else this.byKey.set(k, { ...r });
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Records in the order they first appeared. */
  inOrder(): StackRecord[] {
    return [...this.byKey.values()];
  }

  /** Records sorted by value ascending (bcc prints the hottest stack last). */
  sorted(): StackRecord[] {
    return [...this.byKey.values()].sort((a, b) => a.value - b.value);
  }
}

export class HistogramAggregate {
  private readonly byKey = new Map<string, number[]>();
  readonly loss: LossStats = emptyLoss();
  unit: HistogramDelta['unit'] | undefined;
  keyKind: HistogramDelta['keyKind'] | undefined;
  events = 0;

  add(delta: HistogramDelta): void {
    this.unit = delta.unit;
    this.keyKind = delta.keyKind;
    this.events += delta.events ?? 0;
    addLoss(this.loss, delta.loss);
    for (const h of delta.histograms) {
      let slots = this.byKey.get(h.key);
      if (!slots) this.byKey.set(h.key, (slots = []));
      h.slots.forEach((v, i) => {
        slots![i] = (slots![i] ?? 0) + v;
      });
    }
  }

  /** (key, dense slots) sorted by key; the map is emptied (biolatency clears after each print). */
  take(): Array<{ key: string; slots: number[] }> {
    const out = [...this.byKey.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, slots]) => ({ key, slots: Array.from(slots, (v) => v ?? 0) }));
    this.byKey.clear();
    return out;
  }
}
