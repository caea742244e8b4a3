/**
 * Where capture data comes from. The service uses the real BPF engine (@bpfscope/bpf) through
 * `createEngine()`; tests of protocol/limit logic may pass another `CaptureEngine` to
 * `createCollectorServer` (test-only; never wired into `bpfscope serve`).
 */
import * as bpf from '@bpfscope/bpf';
import type { HistogramDelta, StackDelta, Symbolizer } from '@bpfscope/bpf';
import { OPTIONS, TOOL_NAMES, toolOptionNames, type OptionDef, type ToolName } from '@bpfscope/viz/tools';
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


function engineModule(): Partial<BpfEngineModule> {
  return bpf as unknown as Partial<BpfEngineModule>;
}

/** Map wire options (bcc flag meanings) to the engine's per-tool options (the tool table says which apply). */
export function toolOptions(tool: ToolName, o: CaptureOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of toolOptionNames(tool)) {
    const v = o[k];
    if (v === undefined || (OPTIONS[k] as OptionDef).engine === false) continue;
    out[k] = OPTIONS[k].type.kind === 'ids' && !Array.isArray(v) ? [v] : v;
  }
  if (tool === 'profile') out.timeResolutionMs = 10;
  return out;
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
      let tools: ToolName[] = TOOL_NAMES.filter((t) => {
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
