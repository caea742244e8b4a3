/**
 * Flags, defaults, usage lines and examples of each tool, following bcc's tools of the same name
 * (tools/profile.py, offcputime.py, wakeuptime.py, offwaketime.py, biolatency.py).
 *
 * The flags of capture options (and the tool list and descriptions) come from the tool table,
 * @bpfscope/viz/tools; this file adds what only the CLI has (output flags, positionals, usage,
 * examples) and the help order. A table option with a flag that a spec below does not place is
 * appended to the end of that tool's flags (and of its usage line), so a new option needs no edit here.
 */
import {
  OPTIONS,
  TOOLS,
  TOOL_NAMES,
  isToolName,
  toolOptionNames,
  type CliFlag,
  type OptionName,
  type OptionType,
  type StackToolName,
  type ToolName,
  type ToolOption,
} from '@bpfscope/viz/tools';
import { type CommandSpec, type FlagSpec, type PositionalSpec, positiveInt, positiveIntList, positiveNonzeroInt, ValueError } from './args.js';

export type { StackToolName };
export type CliToolName = ToolName;

/** bcc's "forever" duration (99999999 s). */
export const FOREVER = 99999999;

/** the probe pattern of stackcount / funclatency (bcc's positional `pattern`; the table's option) */
const pattern = { name: 'pattern', help: 'search expression for events', parse: (s: string) => s };

const duration = {
  name: 'duration',
  help: 'duration of trace, in seconds',
  parse: positiveNonzeroInt,
};

/** the histogram tools' positionals (biolatency, runqlat): how often and how many times to print */
const intervalCount: PositionalSpec[] = [
  { name: 'interval', help: 'output interval, in seconds', parse: positiveNonzeroInt },
  { name: 'count', help: 'number of outputs', parse: positiveNonzeroInt },
];

/** Flags only the CLI has: how it prints (several tools spell them the same). */
const cliOnly = {
  delimited: { short: 'd', long: 'delimited', dest: 'delimited', kind: 'bool', help: 'insert delimiter between kernel/user stacks' },
  folded: { short: 'f', long: 'folded', dest: 'folded', kind: 'bool', help: 'output folded format, one line per stack (for flame graphs)' },
  offset: { short: 's', long: 'offset', dest: 'offset', kind: 'bool', help: 'show address offsets' },
  timestamp: { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'bool', help: 'include timestamp on output' },
  json: { short: 'j', long: 'json', dest: 'json', kind: 'bool', help: 'json output' },
} satisfies Record<string, FlagSpec>;

/**
 * The any-event tools' `-i INTERVAL` and duration flag (stackcount spells it -D, funccount and
 * funclatency -d); `unit` is bcc's wording of each tool's help ("seconds" or "in seconds").
 */
function intervalDuration(durationShort: 'd' | 'D', unit: string): FlagSpec[] {
  return [
    { short: 'i', long: 'interval', dest: 'interval', kind: 'value', metavar: 'INTERVAL', parse: positiveNonzeroInt, help: `summary interval, ${unit}` },
    {
      short: durationShort,
      long: 'duration',
      dest: 'duration',
      kind: 'value',
      metavar: 'DURATION',
      parse: positiveNonzeroInt,
      help: `total duration of trace, ${unit}`,
    },
  ];
}

/** offcputime and offwaketime (bcc's order): which threads, which stacks, how printed ... */
const blockedThreadFlags = [
  'pid',
  'tid',
  'userThreadsOnly',
  'kernelThreadsOnly',
  'userStacksOnly',
  'kernelStacksOnly',
  cliOnly.delimited,
  cliOnly.folded,
] as const;
/** ... and, after offcputime's -s, the stack map size and the blocked-time bounds. */
const blockedTimeFlags = ['stackStorageSize', 'minBlockUs', 'maxBlockUs'] as const;

/** A tool's examples block: one `bpfscope <tool> <line>` each (arguments, then the comment aligned as bcc aligns it). */
function examples(tool: ToolName, lines: readonly string[]): string {
  return ['examples:', ...lines.map((l) => `    bpfscope ${tool} ${l}`)].join('\n');
}

/** offcputime's and offwaketime's examples of their thread and stack filters (bcc words them alike). */
const threadStackExamples = [
  '-u          # only trace user threads (no kernel)',
  '-k          # only trace kernel threads (no user)',
  '-U          # only show user space stacks (no kernel)',
  '-K          # only show kernel space stacks (no user)',
];

function enumValue(values: readonly string[]): (raw: string) => string {
  return (raw) => {
    if (!values.includes(raw)) throw new ValueError(`must be one of ${values.join(', ')}`);
    return raw;
  };
}

/** The CLI flag of a table option (its `dest` is the option's name, so parsed values are capture options). */
export function optionFlag(option: OptionName, flag: CliFlag): FlagSpec {
  const type = OPTIONS[option].type as OptionType;
  const spec: FlagSpec = { long: flag.long, dest: option, kind: type.kind === 'bool' ? 'bool' : 'value', help: flag.help };
  if (flag.short) spec.short = flag.short;
  if (flag.group) spec.group = flag.group;
  if (spec.kind === 'value') {
    spec.metavar = flag.metavar ?? option.toUpperCase();
    spec.parse =
      type.kind === 'enum'
        ? enumValue(type.values)
        : flag.value === 'list' || type.kind === 'ids'
          ? positiveIntList
          : flag.value === 'positive'
            ? positiveInt
            : positiveNonzeroInt;
  }
  return spec;
}

/**
 * A tool's flags in help order: `order` names table options (by key) and CLI-only flags; table
 * options with a flag that `order` leaves out follow at the end.
 */
function flagsOf(tool: ToolName, order: ReadonlyArray<OptionName | FlagSpec>): { flags: FlagSpec[]; appended: FlagSpec[] } {
  const uses = TOOLS[tool].options as Partial<Record<OptionName, ToolOption>>;
  const placed = new Set<OptionName>();
  const flags: FlagSpec[] = [];
  for (const item of order) {
    if (typeof item !== 'string') {
      flags.push(item);
      continue;
    }
    const flag = uses[item]?.flag;
    if (!flag) throw new Error(`specs.ts: ${tool} places option ${item}, which has no CLI flag for it in the tool table`);
    placed.add(item);
    flags.push(optionFlag(item, flag));
  }
  const appended: FlagSpec[] = [];
  for (const name of toolOptionNames(tool)) {
    const flag = uses[name]?.flag;
    if (flag && !placed.has(name)) appended.push(optionFlag(name, flag));
  }
  return { flags: [...flags, ...appended], appended };
}

/** `[-x META]` for a usage line. */
function usageToken(f: FlagSpec): string {
  const name = f.short ? `-${f.short}` : `--${f.long}`;
  return f.kind === 'value' ? `[${name} ${f.metavar}]` : `[${name}]`;
}

interface SpecSource {
  /** the usage line's flags, bcc's wording (without `bpfscope <tool>` and the positionals). */
  usageFlags: string;
  order: ReadonlyArray<OptionName | FlagSpec>;
  positionals: PositionalSpec[];
  examples: string;
}

function spec(tool: ToolName, s: SpecSource): CommandSpec {
  const { flags, appended } = flagsOf(tool, s.order);
  const usageFlags = [s.usageFlags, ...appended.map(usageToken)].join(' ');
  // bcc's probe pattern is required (argparse prints it bare); the others are optional
  const positionals = s.positionals.map((p) => (p === pattern ? p.name : `[${p.name}]`)).join(' ');
  return {
    name: tool,
    description: TOOLS[tool].description,
    usage: `bpfscope ${tool} ${usageFlags}${positionals ? ' ' + positionals : ''}`,
    flags,
    positionals: s.positionals,
    examples: s.examples,
  };
}

const SOURCES: Record<ToolName, SpecSource> = {
  profile: {
    usageFlags: '[-h] [-p PID | -L TID] [-U | -K] [-F FREQUENCY] [-d] [-a] [-I] [-f] [--stack-storage-size STACK_STORAGE_SIZE]',
    order: [
      'pid',
      'tid',
      'userStacksOnly',
      'kernelStacksOnly',
      'frequency',
      { short: 'c', long: 'count', dest: 'count', kind: 'value', help: '', unsupported: 'sampling every N events is not supported by bpfscope; use -F HZ' },
      {
        short: 'C',
        long: 'cpu',
        dest: 'cpu',
        kind: 'value',
        help: '',
        unsupported: 'profiling a single CPU is not supported by bpfscope; it samples every online CPU',
      },
      cliOnly.delimited,
      {
        short: 'a',
        long: 'annotations',
        dest: 'annotations',
        kind: 'bool',
        help: 'add _[k] annotations to kernel frames, _[p] to Python functions, _[i] to inlined functions',
      },
      'includeIdle',
      cliOnly.folded,
      'stackStorageSize',
    ],
    positionals: [duration],
    examples: examples('profile', [
      '            # profile stack traces at 49 Hertz until Ctrl-C',
      '-F 99       # profile stack traces at 99 Hertz',
      '5           # profile at 49 Hertz for 5 seconds only',
      '-f 5        # output in folded format for flame graphs',
      '-p 185      # only profile process with PID 185',
      '-L 185      # only profile thread with TID 185',
      '-U          # only show user space stacks (no kernel)',
      '-K          # only show kernel space stacks (no user)',
    ]),
  },
  offcputime: {
    usageFlags:
      '[-h] [-p PID | -t TID | -u | -k] [-U | -K] [-d] [-f] [-s] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME] [--state STATE]',
    order: [...blockedThreadFlags, cliOnly.offset, ...blockedTimeFlags, 'state'],
    positionals: [duration],
    examples: examples('offcputime', [
      '            # trace off-CPU stack time until Ctrl-C',
      '5           # trace for 5 seconds only',
      '-f 5        # 5 seconds, and output in folded format',
      '-s 5        # 5 seconds, and show symbol offsets',
      '-m 1000     # trace only events that last more than 1000 usec',
      '-M 10000    # trace only events that last less than 10000 usec',
      '-p 185,175  # only trace threads for PID 185,175',
      '-t 188,120  # only trace threads 188,120',
      ...threadStackExamples,
    ]),
  },
  wakeuptime: {
    usageFlags: '[-h] [-u] [-p PID] [-f] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME]',
    order: ['userThreadsOnly', 'pid', cliOnly.folded, 'stackStorageSize', 'minBlockUs', 'maxBlockUs'],
    positionals: [duration],
    examples: examples('wakeuptime', [
      '            # trace blocked time with waker stacks',
      '5           # trace for 5 seconds only',
      '-f 5        # 5 seconds, and output in folded format',
      "-u          # don't include kernel threads (user only)",
      '-p 185      # trace for PID 185 only',
    ]),
  },
  offwaketime: {
    usageFlags: '[-h] [-p PIDS | -t TIDS | -u | -k] [-U | -K] [-d] [-f] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME]',
    order: [...blockedThreadFlags, ...blockedTimeFlags],
    positionals: [duration],
    examples: examples('offwaketime', [
      '            # trace off-CPU + waker stack time until Ctrl-C',
      '5           # trace for 5 seconds only',
      '-f 5        # 5 seconds, and output in folded format',
      '-m 1000     # trace only events that last more than 1000 usec',
      '-M 9000     # trace only events that last less than 9000 usec',
      '-p 185      # only trace threads for PID 185',
      '-t 188      # only trace thread 188',
      ...threadStackExamples,
    ]),
  },
  biolatency: {
    usageFlags: '[-h] [-T] [-Q] [-m] [-D] [-F] [-j]',
    order: [
      cliOnly.timestamp,
      'queued',
      'milliseconds',
      'perDisk',
      'perFlag',
      cliOnly.json,
      { short: 'e', long: 'extension', dest: 'extension', kind: 'bool', help: '', unsupported: 'the average/total summary is not supported by bpfscope yet' },
      {
        short: 'd',
        long: 'disk',
        dest: 'disk',
        kind: 'value',
        help: '',
        unsupported: 'tracing a single disk is not supported by bpfscope yet; use -D to split by disk',
      },
    ],
    positionals: intervalCount,
    examples: examples('biolatency', [
      '                   # summarize block I/O latency as a histogram',
      '1 10               # print 1 second summaries, 10 times',
      '-mT 1              # 1s summaries, milliseconds, and timestamps',
      '-Q                 # include OS queued time in I/O time',
      '-D                 # show each disk device separately',
      '-F                 # show I/O flags separately',
      '-j                 # print one JSON object per interval',
    ]),
  },
  // stackcount, funccount and funclatency run through cli/anyfunc.ts; their flags come from the table like the others
  stackcount: {
    usageFlags: '[-h] [-p PID] [-c CPU] [-i INTERVAL] [-D DURATION] [-T] [-r] [-s] [-P] [-K | -U] [-d] [-f] [--max-probes N]',
    order: [
      'pid',
      'cpu',
      ...intervalDuration('D', 'seconds'),
      cliOnly.timestamp,
      'regex',
      cliOnly.offset,
      'perPid',
      'kernelStacksOnly',
      'userStacksOnly',
      cliOnly.delimited,
      { short: 'f', long: 'folded', dest: 'folded', kind: 'bool', help: 'output folded format' },
      'maxProbes',
    ],
    positionals: [pattern],
    examples: examples('stackcount', [
      'submit_bio         # count kernel stack traces for submit_bio',
      '-d ip_output       # include a user/kernel stack delimiter',
      '-s ip_output       # show symbol offsets',
      "'tcp_send*'        # count stacks for funcs matching tcp_send*",
      "-r '^tcp_send.*'   # same as above, using regular expressions",
      '-Ti 5 ip_output    # output every 5 seconds, with timestamps',
      '-p 185 ip_output   # count ip_output stacks for PID 185 only',
      '-c 1 put_prev_entity   # count put_prev_entity stacks for CPU 1 only',
      '-p 185 c:malloc    # count stacks for malloc in PID 185',
      't:sched:sched_fork # count stacks for sched_fork tracepoint',
      '-K t:sched:sched_switch   # kernel stacks only',
      '-U c:malloc        # user stacks only',
    ]),
  },
  funccount: {
    usageFlags: '[-h] [-p PID] [-i INTERVAL] [-d DURATION] [-T] [-r] [--max-probes N]',
    order: ['pid', ...intervalDuration('d', 'seconds'), cliOnly.timestamp, 'regex', 'maxProbes'],
    positionals: [pattern],
    examples: examples('funccount', [
      `'vfs_*'             # count kernel fns starting with "vfs"`,
      "-r '^vfs.*'         # same as above, using regular expressions",
      "-Ti 5 'vfs_*'       # output every 5 seconds, with timestamps",
      "-d 10 'vfs_*'       # trace for 10 seconds only",
      "-p 185 'vfs_*'      # count vfs calls for PID 181 only",
      't:sched:sched_fork  # count calls to the sched_fork tracepoint',
      '-p 185 c:malloc     # count malloc calls in PID 185',
      '/bin/bash:readline  # count readline calls of bash',
    ]),
  },
  funclatency: {
    usageFlags: '[-h] [-p PID] [-i INTERVAL] [-d DURATION] [-T] [-u | -m] [-F] [-r] [-j] [--max-probes N]',
    order: [
      'pid',
      ...intervalDuration('d', 'in seconds'),
      cliOnly.timestamp,
      { short: 'u', long: 'microseconds', dest: 'microseconds', kind: 'bool', group: 'unit', help: 'microsecond histogram' },
      'milliseconds',
      'perFunction',
      'regex',
      cliOnly.json,
      'maxProbes',
    ],
    positionals: [pattern],
    examples: examples('funclatency', [
      'do_sys_open       # time the do_sys_open() kernel function',
      'c:read            # time the read() C library function',
      '-u vfs_read       # time vfs_read(), in microseconds',
      '-m do_nanosleep   # time do_nanosleep(), in milliseconds',
      '-i 2 -d 10 c:open # output every 2 seconds, for duration 10s',
      '-mTi 5 vfs_read   # output every 5 seconds, with timestamps',
      '-p 181 vfs_read   # time process 181 only',
      "'vfs_fstat*'      # time both vfs_fstat() and vfs_fstatat()",
      "'c:*printf'       # time the *printf family of functions",
      "-F 'vfs_r*'       # show one histogram per matched function",
    ]),
  },
  // runqlat runs through cli/anyfunc.ts (its output and -j); its flags come from the table like the others
  runqlat: {
    usageFlags: '[-h] [-T] [-m] [-P | -L] [-p PID] [-j]',
    order: [cliOnly.timestamp, 'milliseconds', 'perProcess', 'perThread', 'pid', cliOnly.json],
    positionals: intervalCount,
    examples: examples('runqlat', [
      '           # summarize run queue latency as a histogram',
      '1 10       # print 1 second summaries, 10 times',
      '-mT 1      # 1s summaries, milliseconds, and timestamps',
      '-P         # show each PID separately',
      '-p 185     # trace PID 185 only',
      '-j         # print one JSON object per interval',
    ]),
  },
};

export const SPECS = Object.fromEntries(TOOL_NAMES.map((t) => [t, spec(t, SOURCES[t])])) as Record<ToolName, CommandSpec>;

export { TOOL_NAMES, isToolName, ValueError };
