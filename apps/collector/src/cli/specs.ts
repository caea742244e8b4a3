/**
 * Flags, defaults, usage lines and examples of each tool, following bcc's tools of the same name
 * (tools/profile.py, offcputime.py, wakeuptime.py, offwaketime.py, biolatency.py).
 */
import { type CommandSpec, type FlagSpec, positiveInt, positiveIntList, positiveNonzeroInt, ValueError } from './args.js';

export type StackToolName = 'profile' | 'offcputime' | 'wakeuptime' | 'offwaketime';
export type CliToolName = StackToolName | 'biolatency';

/** bcc's "forever" duration (99999999 s). */
export const FOREVER = 99999999;

const duration = {
  name: 'duration',
  help: 'duration of trace, in seconds',
  parse: positiveNonzeroInt,
};

const common = {
  userOnly: { short: 'U', long: 'user-stacks-only', dest: 'userStacksOnly', kind: 'bool', group: 'stack', help: 'show stacks from user space only (no kernel space stacks)' },
  kernelOnly: { short: 'K', long: 'kernel-stacks-only', dest: 'kernelStacksOnly', kind: 'bool', group: 'stack', help: 'show stacks from kernel space only (no user space stacks)' },
  delimited: { short: 'd', long: 'delimited', dest: 'delimited', kind: 'bool', help: 'insert delimiter between kernel/user stacks' },
  folded: { short: 'f', long: 'folded', dest: 'folded', kind: 'bool', help: 'output folded format, one line per stack (for flame graphs)' },
  storage: {
    long: 'stack-storage-size',
    dest: 'stackStorageSize',
    kind: 'value',
    metavar: 'STACK_STORAGE_SIZE',
    parse: positiveNonzeroInt,
    help: 'the number of unique stack traces that can be stored and displayed (default 16384)',
  },
  minBlock: {
    short: 'm',
    long: 'min-block-time',
    dest: 'minBlockUs',
    kind: 'value',
    metavar: 'MIN_BLOCK_TIME',
    parse: positiveNonzeroInt,
    help: 'the amount of time in microseconds over which we store traces (default 1)',
  },
  maxBlock: {
    short: 'M',
    long: 'max-block-time',
    dest: 'maxBlockUs',
    kind: 'value',
    metavar: 'MAX_BLOCK_TIME',
    parse: positiveNonzeroInt,
    help: 'the amount of time in microseconds under which we store traces (default U64_MAX)',
  },
  userThreads: { short: 'u', long: 'user-threads-only', dest: 'userThreadsOnly', kind: 'bool', group: 'thread', help: 'user threads only (no kernel threads)' },
  kernelThreads: { short: 'k', long: 'kernel-threads-only', dest: 'kernelThreadsOnly', kind: 'bool', group: 'thread', help: 'kernel threads only (no user threads)' },
  state: {
    long: 'state',
    dest: 'state',
    kind: 'value',
    metavar: 'STATE',
    parse: positiveInt,
    help: 'filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE) see include/linux/sched.h',
  },
} satisfies Record<string, FlagSpec>;

export const SPECS: Record<CliToolName, CommandSpec> = {
  profile: {
    name: 'profile',
    description: 'Profile CPU stack traces at a timed interval',
    usage:
      'bpfscope profile [-h] [-p PID | -L TID] [-U | -K] [-F FREQUENCY] [-d] [-a] [-I] [-f] [--stack-storage-size STACK_STORAGE_SIZE] [duration]',
    flags: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'value', metavar: 'PID', parse: positiveIntList, group: 'thread', help: 'profile processes with one or more comma-separated PIDs only' },
      { short: 'L', long: 'tid', dest: 'tid', kind: 'value', metavar: 'TID', parse: positiveIntList, group: 'thread', help: 'profile threads with one or more comma-separated TIDs only' },
      common.userOnly,
      common.kernelOnly,
      { short: 'F', long: 'frequency', dest: 'frequency', kind: 'value', metavar: 'FREQUENCY', parse: positiveNonzeroInt, help: 'sample frequency, Hertz (default 49)' },
      { short: 'c', long: 'count', dest: 'count', kind: 'value', help: '', unsupported: 'sampling every N events is not supported by bpfscope; use -F HZ' },
      { short: 'C', long: 'cpu', dest: 'cpu', kind: 'value', help: '', unsupported: 'profiling a single CPU is not supported by bpfscope; it samples every online CPU' },
      common.delimited,
      { short: 'a', long: 'annotations', dest: 'annotations', kind: 'bool', help: 'add _[k] annotations to kernel frames' },
      { short: 'I', long: 'include-idle', dest: 'includeIdle', kind: 'bool', help: 'include CPU idle stacks' },
      common.folded,
      common.storage,
    ],
    positionals: [duration],
    examples: `examples:
    bpfscope profile             # profile stack traces at 49 Hertz until Ctrl-C
    bpfscope profile -F 99       # profile stack traces at 99 Hertz
    bpfscope profile 5           # profile at 49 Hertz for 5 seconds only
    bpfscope profile -f 5        # output in folded format for flame graphs
    bpfscope profile -p 185      # only profile process with PID 185
    bpfscope profile -L 185      # only profile thread with TID 185
    bpfscope profile -U          # only show user space stacks (no kernel)
    bpfscope profile -K          # only show kernel space stacks (no user)`,
  },
  offcputime: {
    name: 'offcputime',
    description: 'Summarize off-CPU time by stack trace',
    usage:
      'bpfscope offcputime [-h] [-p PID | -t TID | -u | -k] [-U | -K] [-d] [-f] [-s] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME] [--state STATE] [duration]',
    flags: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'value', metavar: 'PID', parse: positiveIntList, group: 'thread', help: 'trace these PIDs only, comma separated list' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'value', metavar: 'TID', parse: positiveIntList, group: 'thread', help: 'trace these TIDs only, comma separated list' },
      common.userThreads,
      common.kernelThreads,
      common.userOnly,
      common.kernelOnly,
      common.delimited,
      common.folded,
      { short: 's', long: 'offset', dest: 'offset', kind: 'bool', help: 'show address offsets' },
      common.storage,
      common.minBlock,
      common.maxBlock,
      common.state,
    ],
    positionals: [duration],
    examples: `examples:
    bpfscope offcputime             # trace off-CPU stack time until Ctrl-C
    bpfscope offcputime 5           # trace for 5 seconds only
    bpfscope offcputime -f 5        # 5 seconds, and output in folded format
    bpfscope offcputime -s 5        # 5 seconds, and show symbol offsets
    bpfscope offcputime -m 1000     # trace only events that last more than 1000 usec
    bpfscope offcputime -M 10000    # trace only events that last less than 10000 usec
    bpfscope offcputime -p 185,175  # only trace threads for PID 185,175
    bpfscope offcputime -t 188,120  # only trace threads 188,120
    bpfscope offcputime -u          # only trace user threads (no kernel)
    bpfscope offcputime -k          # only trace kernel threads (no user)
    bpfscope offcputime -U          # only show user space stacks (no kernel)
    bpfscope offcputime -K          # only show kernel space stacks (no user)`,
  },
  wakeuptime: {
    name: 'wakeuptime',
    description: 'Summarize sleep to wakeup time by waker kernel stack',
    usage:
      'bpfscope wakeuptime [-h] [-u] [-p PID] [-f] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME] [duration]',
    flags: [
      { short: 'u', long: 'useronly', dest: 'userThreadsOnly', kind: 'bool', group: 'thread', help: 'user threads only (no kernel threads)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'value', metavar: 'PID', parse: positiveIntList, group: 'thread', help: 'trace this PID only' },
      common.folded,
      common.storage,
      common.minBlock,
      common.maxBlock,
    ],
    positionals: [duration],
    examples: `examples:
    bpfscope wakeuptime             # trace blocked time with waker stacks
    bpfscope wakeuptime 5           # trace for 5 seconds only
    bpfscope wakeuptime -f 5        # 5 seconds, and output in folded format
    bpfscope wakeuptime -u          # don't include kernel threads (user only)
    bpfscope wakeuptime -p 185      # trace for PID 185 only`,
  },
  offwaketime: {
    name: 'offwaketime',
    description: 'Summarize blocked time by kernel stack trace + waker stack',
    usage:
      'bpfscope offwaketime [-h] [-p PIDS | -t TIDS | -u | -k] [-U | -K] [-d] [-f] [--stack-storage-size STACK_STORAGE_SIZE] [-m MIN_BLOCK_TIME] [-M MAX_BLOCK_TIME] [duration]',
    flags: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'value', metavar: 'PIDS', parse: positiveIntList, group: 'thread', help: 'trace these PIDS only. Can be a comma separated list of PIDS.' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'value', metavar: 'TIDS', parse: positiveIntList, group: 'thread', help: 'trace these TIDS only. Can be a comma separated list of TIDS.' },
      common.userThreads,
      common.kernelThreads,
      common.userOnly,
      common.kernelOnly,
      common.delimited,
      common.folded,
      common.storage,
      common.minBlock,
      common.maxBlock,
    ],
    positionals: [duration],
    examples: `examples:
    bpfscope offwaketime             # trace off-CPU + waker stack time until Ctrl-C
    bpfscope offwaketime 5           # trace for 5 seconds only
    bpfscope offwaketime -f 5        # 5 seconds, and output in folded format
    bpfscope offwaketime -m 1000     # trace only events that last more than 1000 usec
    bpfscope offwaketime -M 9000     # trace only events that last less than 9000 usec
    bpfscope offwaketime -p 185      # only trace threads for PID 185
    bpfscope offwaketime -t 188      # only trace thread 188
    bpfscope offwaketime -u          # only trace user threads (no kernel)
    bpfscope offwaketime -k          # only trace kernel threads (no user)
    bpfscope offwaketime -U          # only show user space stacks (no kernel)
    bpfscope offwaketime -K          # only show kernel space stacks (no user)`,
  },
  biolatency: {
    name: 'biolatency',
    description: 'Summarize block device I/O latency as a histogram',
    usage: 'bpfscope biolatency [-h] [-T] [-Q] [-m] [-D] [-F] [-j] [interval] [count]',
    flags: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'bool', help: 'include timestamp on output' },
      { short: 'Q', long: 'queued', dest: 'queued', kind: 'bool', help: 'include OS queued time in I/O time' },
      { short: 'm', long: 'milliseconds', dest: 'milliseconds', kind: 'bool', help: 'millisecond histogram' },
      { short: 'D', long: 'disks', dest: 'perDisk', kind: 'bool', group: 'key', help: 'print a histogram per disk device' },
      { short: 'F', long: 'flags', dest: 'perFlag', kind: 'bool', group: 'key', help: 'print a histogram per set of I/O flags' },
      { short: 'j', long: 'json', dest: 'json', kind: 'bool', help: 'json output' },
      { short: 'e', long: 'extension', dest: 'extension', kind: 'bool', help: '', unsupported: 'the average/total summary is not supported by bpfscope yet' },
      { short: 'd', long: 'disk', dest: 'disk', kind: 'value', help: '', unsupported: 'tracing a single disk is not supported by bpfscope yet; use -D to split by disk' },
    ],
    positionals: [
      { name: 'interval', help: 'output interval, in seconds', parse: positiveNonzeroInt },
      { name: 'count', help: 'number of outputs', parse: positiveNonzeroInt },
    ],
    examples: `examples:
    bpfscope biolatency                    # summarize block I/O latency as a histogram
    bpfscope biolatency 1 10               # print 1 second summaries, 10 times
    bpfscope biolatency -mT 1              # 1s summaries, milliseconds, and timestamps
    bpfscope biolatency -Q                 # include OS queued time in I/O time
    bpfscope biolatency -D                 # show each disk device separately
    bpfscope biolatency -F                 # show I/O flags separately
    bpfscope biolatency -j                 # print one JSON object per interval`,
  },
};

export const TOOL_NAMES = Object.keys(SPECS) as CliToolName[];

export function isToolName(s: string): s is CliToolName {
  return (TOOL_NAMES as string[]).includes(s);
}

export { ValueError };
