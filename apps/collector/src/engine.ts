/**
 * The one seam between the collector (CLI and server) and the BPF engine, @bpfscope/bpf.
 *
 * `CaptureEngine` opens a tool with capture options (the wire's names and meanings, from the tool
 * table) and describes the host. `loadEngine()` imports @bpfscope/bpf lazily, so `--help`, usage
 * errors and the privilege check never load libbpf; tests inject their own CaptureEngine (the CLI
 * through CliDeps.loadEngine, the server through createCollectorServer's deps).
 */
import { cpus, hostname, release } from 'node:os';
import type { HistogramDelta, LatencyDelta, StackDelta, SymbolizedFrame, Symbolizer } from '@bpfscope/bpf';
import { checkPrivileges } from '@bpfscope/bpf/privileges';
import { OPTIONS, TOOL_NAMES, toolOptionNames, type OptionDef, type ToolName } from '@bpfscope/viz/tools';
import type { CaptureOptions } from '@bpfscope/viz/wire';

/** An attached tool: drain it every interval, close it to detach (idempotent). */
export interface CaptureSource {
  readonly tool: ToolName;
  /** epoch ms at attach time; timeline offsets are relative to it. */
  readonly startTime: number;
  /** resolves when sampling starts (stack tools with the CFI walker wait, bounded, for the unwind
   * tables of the processes present at open); startTime is that moment. Undefined: started at open. */
  readonly ready?: Promise<void>;
  drain(): StackDelta | HistogramDelta;
  /** drain() with the wait for running BPF programs off the event loop; close() during one takes
   * effect once its read is done */
  drainAsync?(): Promise<StackDelta | HistogramDelta>;
  close(): void;
  /** the BPF programs' run time and runs so far (kernel bpf_stats; both 0 unless kernel.bpf_stats_enabled=1) */
  programStats?(): { runTimeNs: number; runCount: number };
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

/** How one capture uses the engine, beyond its options (the CLI's, when nobody watches). */
export interface OpenSettings {
  /**
   * Stand-in for the engine's symbolizer in this capture (the CLI names stacks once, at the end).
   * `trimKernel` is the tool's trimming of tracer frames from a kernel stack (root first), for
   * stacks named later than the tool would.
   */
  symbolizer?: (inner: Symbolizer, trimKernel?: (frames: SymbolizedFrame[]) => SymbolizedFrame[]) => Symbolizer;
  /** profile's timeline bucket in ms (default 10); the CLI prints no timeline and asks for long ones */
  timelineMs?: number;
}

export interface CaptureEngine {
  /**
   * Attach `tool` with these options (only the options that apply to it; the server has validated
   * them against the wire schema, the CLI parsed them from bcc's flags); throws with a clear
   * message (a BpfError from the engine) on failure.
   */
  open(tool: ToolName, options: CaptureOptions, settings?: OpenSettings): CaptureSource;
  /** The host, whether this process may load BPF programs, and the tools that load here. */
  system(): SystemInfo;
  /** Probe names matching what the user typed (the console's probe picker); throws on a missing binary. */
  searchProbes?(query: string, opts: { pid?: number; limit?: number }): { scope: 'kernel' | 'tracepoint' | 'user'; matches: string[]; total: number };
  /** Load expensive shared state (kernel symbols) before the first capture, so its first delta is on time. */
  warm?(): void;
}

type Bpf = typeof import('@bpfscope/bpf');

/** Engine-side options: the capture options that apply, with id lists always arrays. */
export type EngineOptions = Omit<CaptureOptions, 'pid' | 'tid'> & { pid?: number[]; tid?: number[] };

/** Map capture options to the engine's per-tool options (the tool table says which apply and which the collector keeps). */
export function toolOptions(tool: ToolName, o: CaptureOptions): EngineOptions {
  const out: Record<string, unknown> = {};
  for (const k of toolOptionNames(tool)) {
    const v = o[k];
    const def: OptionDef = OPTIONS[k];
    if (v === undefined || def.engine === false) continue;
    out[k] = def.type.kind === 'ids' && !Array.isArray(v) ? [v] : v;
  }
  return out as EngineOptions;
}

function requirePattern(o: EngineOptions): string {
  if (typeof o.pattern !== 'string' || o.pattern === '')
    throw new OptionError('pattern', 'options.pattern: required: what to trace, like vfs_read, c:malloc or t:sched:sched_switch');
  return o.pattern;
}

/** An option the engine rejected; `field` names it (options.<name>) for the protocol's error. */
export class OptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
  get field(): string {
    return `options.${this.option}`;
  }
}

/** Errors resolving a probe pattern (EINVAL from the engine's checks) name options.pattern. */
function patternErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = (e as Error).message ?? String(e);
    if (code === 'EINVAL' && /match|pattern|library|binary|regular expression|USDT|tracepoint|probe type|no function/.test(msg))
      throw new OptionError('pattern', `options.pattern: ${msg}`);
    throw e;
  }
}

function latencyAsHistogram(d: LatencyDelta): HistogramDelta {
  return {
    kind: 'histogram',
    unit: d.unit === 'msecs' ? 'msecs' : 'usecs',
    keyKind: d.keyKind === 'function' ? 'function' : 'none',
    histograms: d.histograms.map((h) => ({ key: h.key, slots: h.slots })),
    loss: d.loss,
    events: d.events,
  };
}

export interface EngineSettings {
  /** forget exited processes' symbol state this often (a long-running service); 0: never. */
  pruneEveryMs?: number;
}

/** The engine over @bpfscope/bpf's tools, with one shared symbolizer. */
export function createEngine(bpf: Bpf, settings: EngineSettings = {}): CaptureEngine {
  let symbolizer: Symbolizer | undefined;
  let cachedInfo: SystemInfo | undefined;
  const sym = (): Symbolizer => {
    if (!symbolizer) {
      const s = bpf.createSymbolizer();
      symbolizer = s;
      if (settings.pruneEveryMs) setInterval(() => s.prune?.(), settings.pruneEveryMs).unref();
    }
    return symbolizer;
  };
  /** Read the traced processes' maps and the kernel symbols before attaching, so the first drain is not the slow one. */
  const primed = (o: EngineOptions): Symbolizer => {
    const s = sym();
    for (const id of [...(o.pid ?? []), ...(o.tid ?? [])]) s.notePid(id);
    if (!o.userStacksOnly) s.kernel([]);
    return s;
  };
  // each tool's opener; a tool in the table without one here does not compile
  type Opener = (o: EngineOptions, s: OpenSettings) => CaptureSource;
  const open: { [T in ToolName]: Opener } = {
    profile: (o, s) => bpf.openProfile({ ...o, timeResolutionMs: s.timelineMs ?? 10 }, s.symbolizer?.(primed(o)) ?? primed(o)),
    // tracepoint tools: their kernel stacks are trimmed of the tracer's frames once named
    offcputime: (o, s) => bpf.openOffcputime(o, s.symbolizer?.(primed(o), bpf.stripTracer) ?? primed(o)),
    wakeuptime: (o, s) => bpf.openWakeuptime(o, s.symbolizer?.(primed(o), bpf.stripTracer) ?? primed(o)),
    offwaketime: (o, s) => bpf.openOffwaketime(o, s.symbolizer?.(primed(o), bpf.stripTracer) ?? primed(o)),
    biolatency: (o) => bpf.openBiolatency(o),
    runqlat: (o) => bpf.openRunqlat(o),
    // probe tools: a pattern the engine cannot resolve is the user's input (options.pattern)
    stackcount: (o, s) =>
      patternErrors(() => {
        const h = bpf.openStackcount({ ...o, pattern: requirePattern(o), limit: o.maxProbes }, s.symbolizer?.(primed(o), bpf.stripTracer) ?? primed(o));
        return {
          tool: 'stackcount' as const,
          startTime: h.startTime,
          drain: () => h.drain(),
          drainAsync: h.drainAsync && (() => h.drainAsync!()),
          close: () => h.close(),
          programStats: () => h.programStats(),
        };
      }),
    funccount: (o) =>
      patternErrors(() => {
        const h = bpf.openFunccount({ ...o, pattern: requirePattern(o), limit: o.maxProbes });
        const kind = h.attached.kind === 'user' ? ('user' as const) : ('kernel' as const);
        // calls per probe as one-frame stacks: the console's flame graph shows a bar per function and
        // its top-functions table the counts, sortable
        const asStacks = (d: ReturnType<typeof h.drain>): StackDelta => ({
          kind: 'stacks',
          unit: 'events',
          records: d.counts.map((c) => ({
            pid: 0,
            tid: 0,
            comm: '',
            user: kind === 'user' ? [{ name: c.key, kind }] : [],
            kernel: kind === 'kernel' ? [{ name: c.key, kind }] : [],
            value: c.value,
          })),
          loss: d.loss,
          events: d.events,
        });
        const drainAsync = h.drainAsync;
        return {
          tool: 'funccount' as const,
          startTime: h.startTime,
          close: () => h.close(),
          programStats: () => h.programStats(),
          drain: (): StackDelta => asStacks(h.drain()),
          drainAsync: drainAsync && (async (): Promise<StackDelta> => asStacks(await drainAsync())),
        };
      }),
    funclatency: (o) =>
      patternErrors(() => {
        const h = bpf.openFunclatency({ ...o, pattern: requirePattern(o), limit: o.maxProbes, unit: o.milliseconds ? 'msecs' : 'usecs' });
        // the console's latency views take µs or ms histograms; funclatency's are in the same shape
        const drainAsync = h.drainAsync;
        return {
          tool: 'funclatency' as const,
          startTime: h.startTime,
          close: () => h.close(),
          programStats: () => h.programStats(),
          drain: (): HistogramDelta => latencyAsHistogram(h.drain()),
          drainAsync: drainAsync && (async (): Promise<HistogramDelta> => latencyAsHistogram(await drainAsync())),
        };
      }),
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
    searchProbes(query, opts) {
      return bpf.searchProbes(query, opts);
    },
    open(tool, options, settings = {}) {
      return open[tool](toolOptions(tool, options), settings);
    },
    system() {
      if (cachedInfo) return cachedInfo;
      const p = checkPrivileges();
      let tools: ToolName[] = [...TOOL_NAMES];
      if (p.ok) {
        try {
          const probed = bpf.probeSystem().tools;
          tools = tools.filter((t) => (probed as Partial<Record<string, { ok: boolean }>>)[t]?.ok !== false);
        } catch {
          /* offer every tool; opening one reports what is wrong */
        }
      }
      cachedInfo = { host: hostname(), kernel: release(), btf: bpf.hasKernelBtf(), cpus: cpus().length, privileged: p.ok, privilegeProblem: p.message, tools };
      return cachedInfo;
    },
  };
}

/** Import @bpfscope/bpf (libbpf through koffi) and build the engine over it. */
export async function loadEngine(settings: EngineSettings = {}): Promise<CaptureEngine> {
  return createEngine(await import('@bpfscope/bpf'), settings);
}

const EPERM = 1;
const EACCES = 13;

/** A BpfError (or any error) that means "not allowed": errno EPERM/EACCES. */
export function isPermissionError(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  // a BpfError knows better: the verifier also rejects programs with EACCES, and that is no privilege problem
  if ('isPermission' in e && typeof e.isPermission === 'boolean') return e.isPermission;
  const o = e as { errno?: unknown; code?: unknown };
  const errno = typeof o.errno === 'number' ? Math.abs(o.errno) : undefined;
  return errno === EPERM || errno === EACCES || o.code === 'EPERM' || o.code === 'EACCES';
}
