/**
 * The one table of tools and their options. The CLI's flags (apps/collector/src/cli/specs.ts),
 * the wire schema of capture options (../wire/messages.ts), the collector's checks and mapping to
 * the BPF engine (apps/collector/src/server/source.ts) and the web capture form (apps/web/lib/tools.ts)
 * are all derived from it.
 *
 * To add an option: describe it once in OPTIONS (type, limits, default, label), then list it under
 * each tool it applies to in TOOLS (with that tool's CLI flag, if the CLI offers one). The wire
 * schema accepts it, the collector passes it to the tool's opener, `bpfscope <tool> -h` shows the
 * flag and the web form shows a field for it.
 * To add a tool: add an entry to TOOLS; the BPF engine needs the tool too (packages/bpf/src/tools,
 * its TOOL_NAMES) and the collector's engine an opener for it (apps/collector/src/engine.ts, which
 * does not compile until it has one).
 */

/** The value type and limits of one option. */
export type OptionType =
  | { kind: 'bool' }
  /** a whole number within [min, max] */
  | { kind: 'int'; min: number; max?: number }
  /** a real number within [min, max] */
  | { kind: 'number'; min: number; max: number }
  /** one positive id or a list of 1..maxItems of them (PIDs, TIDs) */
  | { kind: 'ids'; maxItems: number }
  /** one of a fixed set of words */
  | { kind: 'enum'; values: readonly string[] }
  /** free text of 1..maxLength characters (a probe pattern) */
  | { kind: 'string'; maxLength: number };

export interface OptionDef {
  type: OptionType;
  /** what it means, one sentence (REST/protocol docs, form hints). */
  help: string;
  /** the web form's label. */
  label: string;
  /** the value a tool uses when the option is absent (documentation, and the form's initial value). */
  default?: boolean | number | string;
  /** false: the collector consumes it itself; it is not passed to the tool's opener. */
  engine?: boolean;
  /** false: the web form offers no field for it unless a tool says `form: true`. */
  form?: boolean;
}

/** A flag of `bpfscope <tool>` (bcc's spelling for the same tool). */
export interface CliFlag {
  /** single letter, without the dash */
  short?: string;
  /** long name, without the dashes */
  long: string;
  metavar?: string;
  help: string;
  /** flags in one group may not be combined (argparse's mutually exclusive group). */
  group?: string;
  /**
   * How the CLI reads the value (bcc's argparse types): `positive` (>= 0), `nonzero` (>= 1),
   * `list` (comma-separated positive integers). Bool options take no value; enums take one of their words.
   */
  value?: 'positive' | 'nonzero' | 'list';
}

/** How one tool uses one option. */
export interface ToolOption {
  /** the CLI flag for it; absent: the CLI does not offer it for this tool. */
  flag?: CliFlag;
  /** override of OptionDef.form for this tool. */
  form?: boolean;
}

export interface ToolDef {
  /** the console's name for it. */
  label: string;
  /** the CLI's one-line description (bcc's). */
  description: string;
  /** what it measures, one line (the console). */
  blurb: string;
  /** what the data is: stacks (flame graphs) or log2 histograms (heat maps). */
  kind: 'stacks' | 'histogram';
  /** the unit of its totals (the `end` message's unit). */
  unit: 'samples' | 'microseconds' | 'count';
  /** the flame graph palette. */
  palette: 'cpu' | 'offcpu' | 'wakeup';
  /** its stack deltas carry a timeline (when each sample happened: subsecond heat maps). */
  timeline?: boolean;
  /** the options that apply, in the CLI's help order; anything else is rejected. */
  options: Partial<Record<OptionName, ToolOption>>;
}

export const OPTIONS = {
  pid: { type: { kind: 'ids', maxItems: 64 }, label: 'Processes (PID)', help: 'only these processes (-p)' },
  tid: { type: { kind: 'ids', maxItems: 64 }, label: 'Threads (TID)', help: 'only these threads (-L for profile, -t for the off-CPU tools)' },
  frequency: { type: { kind: 'int', min: 1, max: 100000 }, default: 49, label: 'Frequency (Hz)', help: 'samples per second per CPU (-F)' },
  userStacksOnly: { type: { kind: 'bool' }, label: 'User stacks only', help: 'user stacks only (-U)' },
  kernelStacksOnly: { type: { kind: 'bool' }, label: 'Kernel stacks only', help: 'kernel stacks only (-K)' },
  includeIdle: { type: { kind: 'bool' }, label: 'Include idle (-I)', help: 'also sample the idle task (pid 0) (-I)' },
  userThreadsOnly: { type: { kind: 'bool' }, label: 'User threads only (-u)', help: 'user threads only (-u)' },
  kernelThreadsOnly: { type: { kind: 'bool' }, label: 'Kernel threads only (-k)', help: 'kernel threads only (-k)' },
  minBlockUs: { type: { kind: 'int', min: 0 }, default: 1, label: 'Min block time (µs)', help: 'ignore blocks shorter than this, in µs (-m)' },
  maxBlockUs: { type: { kind: 'int', min: 1 }, label: 'Max block time (µs)', help: 'ignore blocks longer than this, in µs (-M)' },
  state: { type: { kind: 'int', min: 0 }, label: 'Thread state', help: 'only threads in this state bitmask (--state)', form: false },
  perDisk: { type: { kind: 'bool' }, label: 'Per disk (-D)', help: 'one histogram per disk (-D)' },
  queued: { type: { kind: 'bool' }, label: 'Include OS queued time (-Q)', help: 'measure from when the request was queued, not issued (-Q)' },
  perFlag: { type: { kind: 'bool' }, label: 'Per read/write flags (-F)', help: 'one histogram per set of request flags (-F)' },
  milliseconds: { type: { kind: 'bool' }, label: 'Milliseconds (-m)', help: 'millisecond histogram slots instead of microseconds (-m)' },
  perProcess: { type: { kind: 'bool' }, label: 'Per process (-P)', help: 'one histogram per process ID (-P)' },
  pattern: {
    type: { kind: 'string', maxLength: 512 },
    label: 'Probe',
    help: "what to trace, as bcc spells it: a kernel function (vfs_read, 'tcp_send*'), a user function (c:malloc, /path/to/binary:func) or a tracepoint (t:sched:sched_switch)",
  },
  regex: { type: { kind: 'bool' }, label: 'Regular expression (-r)', help: 'the probe pattern is a regular expression, not * wildcards (-r)' },
  maxProbes: {
    type: { kind: 'int', min: 1, max: 10000 },
    default: 1000,
    label: 'Most functions',
    help: 'refuse patterns that match more functions than this (--max-probes)',
    form: false,
  },
  cpu: { type: { kind: 'int', min: 0, max: 8191 }, label: 'CPU', help: 'only events on this CPU (-c)', form: false },
  perPid: { type: { kind: 'bool' }, label: 'Per process (-P)', help: 'stacks separately for each process (-P)' },
  perFunction: { type: { kind: 'bool' }, label: 'Per function (-F)', help: 'one histogram per matched function (-F)' },
  perThread: { type: { kind: 'bool' }, label: 'Per thread (-L)', help: 'one histogram per thread ID (-L)' },
  intervalSec: {
    type: { kind: 'number', min: 0.25, max: 10 },
    default: 1,
    label: 'Interval (s)',
    help: 'the period of live deltas (one heat map column), in seconds',
    engine: false,
    form: false,
  },
  unwind: {
    type: { kind: 'enum', values: ['auto', 'fp', 'cfi'] },
    default: 'auto',
    label: 'User-stack unwinding',
    help: "how user stacks are walked: cfi = from the programs' call-frame information (.eh_frame), complete without frame pointers; fp = frame pointers only (like bcc); auto = cfi where the kernel can run it, else fp (--unwind)",
  },
  stackStorageSize: {
    type: { kind: 'int', min: 1024, max: 1 << 20 },
    default: 16384,
    label: 'Stack storage size',
    help: 'stack map entries (--stack-storage-size)',
    form: false,
  },
} as const satisfies Record<string, OptionDef>;

export type OptionName = keyof typeof OPTIONS;
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** CLI flags several tools share (bcc spells them the same in each). */
const FLAG = {
  userStacksOnly: { short: 'U', long: 'user-stacks-only', group: 'stack', help: 'show stacks from user space only (no kernel space stacks)' },
  kernelStacksOnly: { short: 'K', long: 'kernel-stacks-only', group: 'stack', help: 'show stacks from kernel space only (no user space stacks)' },
  stackStorageSize: {
    long: 'stack-storage-size',
    metavar: 'STACK_STORAGE_SIZE',
    value: 'nonzero',
    help: 'the number of unique stack traces that can be stored and displayed (default 16384)',
  },
  minBlockUs: {
    short: 'm',
    long: 'min-block-time',
    metavar: 'MIN_BLOCK_TIME',
    value: 'nonzero',
    help: 'the amount of time in microseconds over which we store traces (default 1)',
  },
  maxBlockUs: {
    short: 'M',
    long: 'max-block-time',
    metavar: 'MAX_BLOCK_TIME',
    value: 'nonzero',
    help: 'the amount of time in microseconds under which we store traces (default U64_MAX)',
  },
  userThreadsOnly: { short: 'u', long: 'user-threads-only', group: 'thread', help: 'user threads only (no kernel threads)' },
  kernelThreadsOnly: { short: 'k', long: 'kernel-threads-only', group: 'thread', help: 'kernel threads only (no user threads)' },
  // the tools that trace any event (funccount, stackcount, funclatency)
  probePid: { short: 'p', long: 'pid', metavar: 'PID', value: 'list', help: 'trace this PID only (comma-separated PIDs allowed)' },
  regexp: { short: 'r', long: 'regexp', help: 'use regular expressions. Default is "*" wildcards only.' },
  maxProbes: { long: 'max-probes', metavar: 'N', value: 'nonzero', help: 'refuse patterns matching more than N functions (default 1000)' },
  unwind: {
    long: 'unwind',
    metavar: '{auto,fp,cfi}',
    help: 'how user stacks are walked: cfi from call-frame information (.eh_frame; complete without frame pointers), fp by frame pointers like bcc, auto (default) cfi where supported',
  },
  milliseconds: { short: 'm', long: 'milliseconds', help: 'millisecond histogram' },
} as const satisfies Record<string, CliFlag>;

/**
 * -p / -t / -L of the tools that filter threads: one or more comma-separated ids, exclusive with
 * the other thread filters (argparse group `thread`). bcc words the help differently in each tool.
 */
function threadIds(short: string, long: 'pid' | 'tid', metavar: string, help: string): ToolOption {
  return { flag: { short, long, metavar, value: 'list', group: 'thread', help } };
}

/** The interval of live deltas applies to every tool (the form shows it only for heat maps). */
const INTERVAL: ToolOption = {};
/** The heat map tools end with the interval, which their form shows: one heat map column. */
const HEATMAP_INTERVAL = { intervalSec: { form: true } } as const satisfies Partial<Record<OptionName, ToolOption>>;
/** The tools that record user stacks end with how those are walked (--unwind), then the interval. */
const UNWIND_AND_INTERVAL = { unwind: { flag: FLAG.unwind }, intervalSec: INTERVAL } as const satisfies Partial<Record<OptionName, ToolOption>>;
/** The tools that trace any event begin with the probe pattern (bcc's positional) and -p. */
const PROBE_AND_PID = { pattern: {}, pid: { flag: FLAG.probePid } } as const satisfies Partial<Record<OptionName, ToolOption>>;

/** The options offcputime and offwaketime share, in bcc's order (after their own -p/-t). */
const BLOCKED_OPTIONS = {
  userThreadsOnly: { flag: FLAG.userThreadsOnly },
  kernelThreadsOnly: { flag: FLAG.kernelThreadsOnly },
  userStacksOnly: { flag: FLAG.userStacksOnly },
  kernelStacksOnly: { flag: FLAG.kernelStacksOnly },
  stackStorageSize: { flag: FLAG.stackStorageSize },
  minBlockUs: { flag: FLAG.minBlockUs },
  maxBlockUs: { flag: FLAG.maxBlockUs },
} as const satisfies Partial<Record<OptionName, ToolOption>>;

export const TOOLS = {
  profile: {
    label: 'CPU profile',
    description: 'Profile CPU stack traces at a timed interval',
    blurb: 'Samples on-CPU stacks at a fixed frequency (bcc profile): where CPU time goes.',
    kind: 'stacks',
    unit: 'samples',
    palette: 'cpu',
    timeline: true,
    options: {
      pid: threadIds('p', 'pid', 'PID', 'profile processes with one or more comma-separated PIDs only'),
      tid: threadIds('L', 'tid', 'TID', 'profile threads with one or more comma-separated TIDs only'),
      userStacksOnly: { flag: FLAG.userStacksOnly },
      kernelStacksOnly: { flag: FLAG.kernelStacksOnly },
      frequency: { flag: { short: 'F', long: 'frequency', metavar: 'FREQUENCY', value: 'nonzero', help: 'sample frequency, Hertz (default 49)' } },
      includeIdle: { flag: { short: 'I', long: 'include-idle', help: 'include CPU idle stacks' } },
      stackStorageSize: { flag: FLAG.stackStorageSize },
      ...UNWIND_AND_INTERVAL,
    },
  },
  offcputime: {
    label: 'Off-CPU time',
    description: 'Summarize off-CPU time by stack trace',
    blurb: 'Time threads spent blocked, by the stack they blocked in (bcc offcputime).',
    kind: 'stacks',
    unit: 'microseconds',
    palette: 'offcpu',
    options: {
      pid: threadIds('p', 'pid', 'PID', 'trace these PIDs only, comma separated list'),
      tid: threadIds('t', 'tid', 'TID', 'trace these TIDs only, comma separated list'),
      ...BLOCKED_OPTIONS,
      state: {
        flag: {
          long: 'state',
          metavar: 'STATE',
          value: 'positive',
          help: 'filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE) see include/linux/sched.h',
        },
      },
      ...UNWIND_AND_INTERVAL,
    },
  },
  wakeuptime: {
    label: 'Wakeups',
    description: 'Summarize sleep to wakeup time by waker kernel stack',
    blurb: 'Blocked time by the stack of the thread that woke the sleeper (bcc wakeuptime).',
    kind: 'stacks',
    unit: 'microseconds',
    palette: 'wakeup',
    options: {
      userThreadsOnly: { flag: { short: 'u', long: 'useronly', group: 'thread', help: 'user threads only (no kernel threads)' } },
      pid: threadIds('p', 'pid', 'PID', 'trace this PID only'),
      stackStorageSize: { flag: FLAG.stackStorageSize },
      minBlockUs: { flag: FLAG.minBlockUs },
      maxBlockUs: { flag: FLAG.maxBlockUs },
      // accepted by the protocol (the engine honours them); bcc's wakeuptime has no -U/-K
      userStacksOnly: { form: false },
      kernelStacksOnly: { form: false },
      ...UNWIND_AND_INTERVAL,
    },
  },
  offwaketime: {
    label: 'Off-CPU with wakers',
    description: 'Summarize blocked time by kernel stack trace + waker stack',
    blurb: 'Blocked stacks joined with their wakers\u2019 stacks (bcc offwaketime).',
    kind: 'stacks',
    unit: 'microseconds',
    palette: 'wakeup',
    options: {
      pid: threadIds('p', 'pid', 'PIDS', 'trace these PIDS only. Can be a comma separated list of PIDS.'),
      tid: threadIds('t', 'tid', 'TIDS', 'trace these TIDS only. Can be a comma separated list of TIDS.'),
      ...BLOCKED_OPTIONS,
      ...UNWIND_AND_INTERVAL,
    },
  },
  biolatency: {
    label: 'Block I/O latency',
    description: 'Summarize block device I/O latency as a histogram',
    blurb: 'Block device I/O latency as log2 histograms over time (bcc biolatency).',
    kind: 'histogram',
    unit: 'count',
    palette: 'cpu',
    options: {
      queued: { flag: { short: 'Q', long: 'queued', help: 'include OS queued time in I/O time' } },
      milliseconds: { flag: FLAG.milliseconds },
      perDisk: { flag: { short: 'D', long: 'disks', group: 'key', help: 'print a histogram per disk device' } },
      perFlag: { flag: { short: 'F', long: 'flags', group: 'key', help: 'print a histogram per set of I/O flags' } },
      ...HEATMAP_INTERVAL,
    },
  },
  stackcount: {
    label: 'Any function: stacks',
    description: 'Count events and their stack traces',
    blurb: 'Who calls this? The stacks that reach a kernel or user function or a tracepoint, counted (bcc stackcount).',
    kind: 'stacks',
    unit: 'count',
    palette: 'cpu',
    options: {
      ...PROBE_AND_PID,
      cpu: { flag: { short: 'c', long: 'cpu', metavar: 'CPU', value: 'positive', help: 'trace this CPU only' } },
      regex: { flag: FLAG.regexp },
      perPid: { flag: { short: 'P', long: 'perpid', help: 'display stacks separately for each process' } },
      kernelStacksOnly: { flag: { short: 'K', long: 'kernel-stacks-only', group: 'stack', help: 'kernel stack only' } },
      userStacksOnly: { flag: { short: 'U', long: 'user-stacks-only', group: 'stack', help: 'user stack only' } },
      maxProbes: { flag: FLAG.maxProbes },
      ...UNWIND_AND_INTERVAL,
    },
  },
  funccount: {
    label: 'Any function: counts',
    description: 'Count functions and tracepoints',
    blurb: 'How often kernel or user functions or tracepoints are called, per function (bcc funccount): one bar per function, the sortable table below.',
    kind: 'stacks',
    unit: 'count',
    palette: 'cpu',
    options: {
      ...PROBE_AND_PID,
      regex: { flag: FLAG.regexp },
      maxProbes: { flag: FLAG.maxProbes },
      intervalSec: INTERVAL,
    },
  },
  funclatency: {
    label: 'Any function: latency',
    description: 'Time functions and print latency as a histogram',
    blurb: 'How long calls of kernel or user functions take, entry to return, as log2 histograms over time (bcc funclatency).',
    kind: 'histogram',
    unit: 'count',
    palette: 'cpu',
    options: {
      ...PROBE_AND_PID,
      milliseconds: { flag: { ...FLAG.milliseconds, group: 'unit' } },
      perFunction: { flag: { short: 'F', long: 'function', help: 'show a separate histogram per function' } },
      regex: { flag: FLAG.regexp },
      maxProbes: { flag: FLAG.maxProbes },
      ...HEATMAP_INTERVAL,
    },
  },
  runqlat: {
    label: 'Run-queue latency',
    description: 'Summarize run queue (scheduler) latency as a histogram',
    blurb: 'Time from a thread becoming runnable to running, as log2 histograms over time (bcc runqlat).',
    kind: 'histogram',
    unit: 'count',
    palette: 'cpu',
    options: {
      milliseconds: { flag: FLAG.milliseconds },
      perProcess: { flag: { short: 'P', long: 'pids', group: 'key', help: 'print a histogram per process ID' } },
      perThread: { flag: { short: 'L', long: 'tids', group: 'key', help: 'print a histogram per thread ID' } },
      pid: { flag: { short: 'p', long: 'pid', metavar: 'PID', value: 'list', help: 'trace this PID only' } },
      ...HEATMAP_INTERVAL,
    },
  },
} as const satisfies Record<string, ToolDef>;

export type ToolName = keyof typeof TOOLS;
/** Every tool, in the order the CLI and the console list them. */
export const TOOL_NAMES = Object.keys(TOOLS) as [ToolName, ...ToolName[]];
/** The tools whose data is stacks (flame graphs). */
export type StackToolName = { [T in ToolName]: (typeof TOOLS)[T]['kind'] extends 'stacks' ? T : never }[ToolName];

export function isToolName(s: unknown): s is ToolName {
  return typeof s === 'string' && Object.hasOwn(TOOLS, s);
}

export function toolDef(tool: ToolName): ToolDef {
  return TOOLS[tool];
}

/** The options that apply to `tool`, in table order. */
export function toolOptionNames(tool: ToolName): OptionName[] {
  return Object.keys(TOOLS[tool].options) as OptionName[];
}

export function optionApplies(tool: ToolName, option: string): option is OptionName {
  return Object.hasOwn(TOOLS[tool].options, option);
}

/** Keys of `options` (set, i.e. not undefined) that do not apply to `tool`. */
export function inapplicableOptions(tool: ToolName, options: object): string[] {
  return Object.entries(options)
    .filter(([k, v]) => v !== undefined && !optionApplies(tool, k))
    .map(([k]) => k);
}

/** Does the web form offer a field for this option of this tool? */
export function optionInForm(tool: ToolName, option: OptionName): boolean {
  const use: ToolOption | undefined = (TOOLS[tool].options as Partial<Record<OptionName, ToolOption>>)[option];
  if (!use) return false;
  const def: OptionDef = OPTIONS[option];
  return use.form ?? def.form ?? true;
}
