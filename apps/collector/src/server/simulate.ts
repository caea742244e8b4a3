/**
 * `bpfscope serve --simulate N` (benchmarks only): N synthetic hosts in one process, each joining
 * the hub as `<name>-<i>`, replaying a recorded profile (folded stacks, BPFSCOPE_SIMULATE_FILE)
 * as deltas at the capture's frequency on every CPU, with per-host variation (a seeded subset of
 * the stacks and weights jittered ±30%), so one machine can stand in for a fleet. No BPF is loaded.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { HistogramDelta, StackDelta, StackRecord } from '@bpfscope/bpf';
import { mulberry32, type ToolName } from '@bpfscope/viz';
import type { CaptureOptions } from '@bpfscope/viz/wire';
import type { CaptureEngine, CaptureSource, SystemInfo } from '../engine.js';

interface Recorded {
  comm: string;
  user: { name: string; kind: 'user' }[];
  weight: number;
}

/** Parses folded text (`comm;a;b 3`) into stacks; throws naming the line when malformed. */
export function loadRecording(file: string): Recorded[] {
  const out: Recorded[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const t = line.trim();
      if (!t) return;
      const sp = t.lastIndexOf(' ');
      const w = Number(t.slice(sp + 1));
      if (sp <= 0 || !Number.isFinite(w)) throw new Error(`${file}:${i + 1}: not a folded line (frames;… weight)`);
      const [comm, ...rest] = t.slice(0, sp).split(';');
      out.push({ comm: comm!, user: rest.map((name) => ({ name, kind: 'user' as const })), weight: w });
    });
  if (!out.length) throw new Error(`${file}: no stacks`);
  return out;
}

export class SimulatedEngine implements CaptureEngine {
  private readonly stacks: Recorded[];
  private readonly cum: number[];
  constructor(
    recording: Recorded[],
    private readonly host: string,
    seed: number,
  ) {
    const rnd = mulberry32(seed + 1);
    // per host: keep ~90% of the recorded stacks, each weight times 0.7-1.3
    this.stacks = recording.filter(() => rnd() < 0.9).map((s) => ({ ...s, weight: s.weight * (0.7 + 0.6 * rnd()) }));
    if (!this.stacks.length) this.stacks = recording.slice();
    let c = 0;
    this.cum = this.stacks.map((s) => (c += s.weight));
  }

  system(): SystemInfo {
    return { host: this.host, kernel: 'simulated', btf: true, privileged: true, tools: ['profile'], cpus: cpus().length };
  }

  open(tool: ToolName, options: CaptureOptions): CaptureSource {
    if (tool !== 'profile') throw new Error(`--simulate replays CPU profiles only, not ${tool}`);
    const hz = (options as { frequency?: number }).frequency ?? 49;
    const startTime = Date.now();
    let last = startTime;
    const rnd = mulberry32(startTime);
    const total = this.cum[this.cum.length - 1]!;
    const ncpu = cpus().length;
    return {
      tool,
      startTime,
      drain: (): StackDelta | HistogramDelta => {
        const now = Date.now();
        const n = Math.round(((now - last) / 1000) * hz * ncpu);
        last = now;
        const counts = new Map<number, number>();
        for (let i = 0; i < n; i++) {
          const x = rnd() * total;
          let lo = 0;
          let hi = this.cum.length - 1;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (this.cum[mid]! < x) lo = mid + 1;
            else hi = mid;
          }
          counts.set(lo, (counts.get(lo) ?? 0) + 1);
        }
        const records: StackRecord[] = [...counts].map(([i, v]) => ({
          pid: 1000 + (i % 50),
          tid: 1000 + (i % 50),
          comm: this.stacks[i]!.comm,
          user: this.stacks[i]!.user,
          kernel: [],
          value: v,
        }));
        return {
          kind: 'stacks',
          unit: 'samples',
          records,
          loss: { userStackMissing: 0, kernelStackMissing: 0, stackCollisions: 0, stackNoMem: 0, mapFull: 0, truncatedStacks: 0, lostEvents: 0 },
          events: n,
        };
      },
      close: () => {},
    };
  }
}
