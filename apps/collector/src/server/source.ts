/**
 * Where capture data comes from. The service uses the real BPF engine (@bpfscope/bpf) through
 * `createEngine()`; tests of protocol/limit logic may pass another `CaptureEngine` to
 * `createCollectorServer` (test-only; never wired into `bpfscope serve`).
 */
import * as bpf from '@bpfscope/bpf';
import type { HistogramDelta, StackDelta, Symbolizer, ToolName } from '@bpfscope/bpf';
import type { CaptureOptions } from '@bpfscope/viz/wire';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';

/** An attached tool: drain it every interval, close it to detach (idempotent). */
export interface CaptureSource {
  readonly tool: ToolName;
  /** epoch ms at attach time; timeline offsets are relative to it. */
  readonly startTime: number;
  drain(): StackDelta | HistogramDelta;
  close(): void;
}

export interface SystemInfo {
  host: string;
  kernel: string;
  btf: boolean;
  privileged: boolean;
  /** why privileges are missing, when they are. */
  privilegeProblem?: string;
  tools: ToolName[];
  cpus: number;
}

export interface CaptureEngine {
  /** Attach `tool` with the (already validated) options; throws with a clear message on failure. */
  open(tool: ToolName, options: CaptureOptions): CaptureSource;
  system(): SystemInfo;
  /** Load expensive shared state (kernel symbols) before the first capture, so its first delta is on time. */
  warm?(): void;
}

/** The parts of @bpfscope/bpf the collector calls (the contract of packages/bpf/src/tools/types.ts). */
interface BpfEngineModule {
  openProfile(opts: object, sym: Symbolizer): CaptureSource;
  openOffcputime(opts: object, sym: Symbolizer): CaptureSource;
  openWakeuptime(opts: object, sym: Symbolizer): CaptureSource;
  openOffwaketime(opts: object, sym: Symbolizer): CaptureSource;
  openBiolatency(opts: object): CaptureSource;
  createSymbolizer(): Symbolizer;
  checkPrivileges?(): unknown;
  probeSystem?(): unknown;
}

const ALL_TOOLS: ToolName[] = ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency'];

function engineModule(): Partial<BpfEngineModule> {
  return bpf as unknown as Partial<BpfEngineModule>;
}

/** Map wire options (bcc flag meanings) to the engine's per-tool options. */
export function toolOptions(tool: ToolName, o: CaptureOptions): Record<string, unknown> {
  const list = (v: number | number[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) out[k] = v;
  };
  if (tool === 'biolatency') {
    set('queued', o.queued);
    set('perDisk', o.perDisk);
    set('perFlag', o.perFlag);
    set('milliseconds', o.milliseconds);
    return out;
  }
  set('pid', list(o.pid));
  set('userStacksOnly', o.userStacksOnly);
  set('kernelStacksOnly', o.kernelStacksOnly);
  set('stackStorageSize', o.stackStorageSize);
  if (tool === 'profile') {
    set('tid', list(o.tid));
    set('frequency', o.frequency);
    set('includeIdle', o.includeIdle);
    out.timeResolutionMs = 10;
    return out;
  }
  set('userThreadsOnly', o.userThreadsOnly);
  set('minBlockUs', o.minBlockUs);
  set('maxBlockUs', o.maxBlockUs);
  if (tool !== 'wakeuptime') {
    set('tid', list(o.tid));
    set('kernelThreadsOnly', o.kernelThreadsOnly);
  }
  if (tool === 'offcputime') set('state', o.state);
  return out;
}

/** Options that do not apply to a tool; the collector rejects them so a misplaced flag names itself. */
export function inapplicableOptions(tool: ToolName, o: CaptureOptions): string[] {
  const allowed: Record<ToolName, string[]> = {
    profile: ['pid', 'tid', 'frequency', 'userStacksOnly', 'kernelStacksOnly', 'includeIdle', 'stackStorageSize', 'intervalSec'],
    offcputime: ['pid', 'tid', 'userStacksOnly', 'kernelStacksOnly', 'userThreadsOnly', 'kernelThreadsOnly', 'minBlockUs', 'maxBlockUs', 'state', 'stackStorageSize', 'intervalSec'],
    wakeuptime: ['pid', 'userStacksOnly', 'kernelStacksOnly', 'userThreadsOnly', 'minBlockUs', 'maxBlockUs', 'stackStorageSize', 'intervalSec'],
    offwaketime: ['pid', 'tid', 'userStacksOnly', 'kernelStacksOnly', 'userThreadsOnly', 'kernelThreadsOnly', 'minBlockUs', 'maxBlockUs', 'stackStorageSize', 'intervalSec'],
    biolatency: ['perDisk', 'queued', 'perFlag', 'milliseconds', 'intervalSec'],
  };
  return Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined && !allowed[tool].includes(k));
}

export function baseSystemInfo(): Omit<SystemInfo, 'privileged' | 'tools' | 'privilegeProblem'> {
  return {
    host: hostname(),
    kernel: release(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    cpus: cpus().length,
  };
}

function effectiveCapsHaveBpf(): boolean {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
    if (!m) return false;
    const caps = BigInt('0x' + m[1]);
    const has = (bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;
    return has(21) /* SYS_ADMIN */ || (has(39) /* BPF */ && has(38) /* PERFMON */);
  } catch {
    return false;
  }
}

/** The real engine: @bpfscope/bpf tools with one shared symbolizer. */
export function createEngine(): CaptureEngine {
  const mod = engineModule();
  let symbolizer: Symbolizer | undefined;
  let cachedInfo: SystemInfo | undefined;
  const sym = (): Symbolizer => {
    if (!symbolizer) {
      if (typeof mod.createSymbolizer !== 'function') throw new Error('the BPF engine (@bpfscope/bpf createSymbolizer) is not available in this build');
      symbolizer = mod.createSymbolizer();
      // a long-running service: forget processes that exited, every 30 s
      const s = symbolizer;
      if (typeof s.prune === 'function') setInterval(() => s.prune!(), 30_000).unref();
    }
    return symbolizer;
  };
  return {
    warm() {
      if (!this.system().privileged) return;
      try {
        sym().kernel([]);
      } catch {
        /* the first capture will report it */
      }
    },
    open(tool, options) {
      const opts = toolOptions(tool, options);
      const fn: Record<ToolName, keyof BpfEngineModule> = {
        profile: 'openProfile',
        offcputime: 'openOffcputime',
        wakeuptime: 'openWakeuptime',
        offwaketime: 'openOffwaketime',
        biolatency: 'openBiolatency',
      };
      const open = mod[fn[tool]] as ((o: object, s?: Symbolizer) => CaptureSource) | undefined;
      if (typeof open !== 'function') throw new Error(`the BPF engine has no ${fn[tool]}() in this build`);
      return tool === 'biolatency' ? open(opts) : open(opts, sym());
    },
    system() {
      if (cachedInfo) return cachedInfo;
      const base = baseSystemInfo();
      let privileged = effectiveCapsHaveBpf();
      let privilegeProblem: string | undefined = privileged ? undefined : 'needs root or CAP_BPF+CAP_PERFMON';
      if (typeof mod.checkPrivileges === 'function') {
        try {
          const r = mod.checkPrivileges() as unknown;
          if (typeof r === 'boolean') privileged = r;
          else if (r && typeof r === 'object' && 'ok' in r) {
            privileged = Boolean((r as { ok: unknown }).ok);
            const why = (r as { reason?: unknown; message?: unknown }).reason ?? (r as { message?: unknown }).message;
            privilegeProblem = privileged ? undefined : String(why ?? privilegeProblem);
          }
        } catch (e) {
          privileged = false;
          privilegeProblem = (e as Error).message;
        }
      }
      let tools: ToolName[] = ALL_TOOLS.filter((t) => {
        const name = { profile: 'openProfile', offcputime: 'openOffcputime', wakeuptime: 'openWakeuptime', offwaketime: 'openOffwaketime', biolatency: 'openBiolatency' }[t];
        return typeof (mod as Record<string, unknown>)[name] === 'function';
      });
      if (typeof mod.probeSystem === 'function' && privileged) {
        try {
          const p = mod.probeSystem() as { tools?: unknown } | undefined;
          const t = p?.tools;
          if (Array.isArray(t)) tools = tools.filter((x) => t.includes(x));
          else if (t && typeof t === 'object')
            tools = tools.filter((x) => {
              const v = (t as Record<string, unknown>)[x];
              return v === undefined || v === true || (typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok !== false);
            });
        } catch {
          /* keep the list from the exports */
        }
      }
      cachedInfo = { ...base, privileged, privilegeProblem, tools };
      return cachedInfo;
    },
  };
}
