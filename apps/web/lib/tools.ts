/**
 * What the console offers per tool: labels, defaults (bcc's where they exist) and how the form
 * state becomes API options. Pure (tested in test/tools.test.ts).
 */
import type { ToolName } from '@bpfscope/viz';

export type StackMode = 'both' | 'user' | 'kernel';
export type ThreadMode = 'all' | 'user' | 'kernel';

/** The console's form state for one capture (all tools share one shape; each uses its part). */
export interface CaptureForm {
  tool: ToolName;
  collector: string;
  durationSec: number;
  /** PIDs (empty: the whole system). */
  pids: number[];
  /** thread ids (empty: all). */
  tids: number[];
  frequency: number;
  stacks: StackMode;
  threads: ThreadMode;
  includeIdle: boolean;
  minBlockUs: number | null;
  maxBlockUs: number | null;
  perDisk: boolean;
  perFlag: boolean;
  queued: boolean;
  milliseconds: boolean;
  intervalSec: number;
}

export interface ToolInfo {
  name: ToolName;
  label: string;
  /** what it measures, one line. */
  blurb: string;
  /** the flame graph palette. */
  palette: 'cpu' | 'offcpu' | 'wakeup';
  /** which form fields apply. */
  fields: ReadonlyArray<
    'pid' | 'tid' | 'frequency' | 'stacks' | 'threads' | 'threadsUserOnly' | 'includeIdle' | 'block' | 'perDisk' | 'perFlag' | 'queued' | 'milliseconds' | 'intervalSec'
  >;
}

export const TOOLS: readonly ToolInfo[] = [
  {
    name: 'profile',
    label: 'CPU profile',
    blurb: 'Samples on-CPU stacks at a fixed frequency (bcc profile): where CPU time goes.',
    palette: 'cpu',
    fields: ['pid', 'tid', 'frequency', 'stacks', 'includeIdle'],
  },
  {
    name: 'offcputime',
    label: 'Off-CPU time',
    blurb: 'Time threads spent blocked, by the stack they blocked in (bcc offcputime).',
    palette: 'offcpu',
    fields: ['pid', 'tid', 'stacks', 'threads', 'block'],
  },
  {
    name: 'wakeuptime',
    label: 'Wakeups',
    blurb: 'Blocked time by the stack of the thread that woke the sleeper (bcc wakeuptime).',
    palette: 'wakeup',
    fields: ['pid', 'threadsUserOnly', 'block'],
  },
  {
    name: 'offwaketime',
    label: 'Off-CPU with wakers',
    blurb: 'Blocked stacks joined with their wakers\u2019 stacks (bcc offwaketime).',
    palette: 'wakeup',
    fields: ['pid', 'tid', 'stacks', 'threads', 'block'],
  },
  {
    name: 'biolatency',
    label: 'Block I/O latency',
    blurb: 'Block device I/O latency as log2 histograms over time (bcc biolatency).',
    palette: 'cpu',
    fields: ['perDisk', 'perFlag', 'queued', 'milliseconds', 'intervalSec'],
  },
];

export function toolInfo(name: string): ToolInfo | undefined {
  return TOOLS.find((t) => t.name === name);
}

export function toolLabel(name: string | undefined): string {
  if (name === 'import') return 'Imported file';
  return toolInfo(name ?? '')?.label ?? name ?? 'unknown';
}

export function paletteFor(tool: string | undefined): 'cpu' | 'offcpu' | 'wakeup' {
  return toolInfo(tool ?? '')?.palette ?? 'cpu';
}

export function defaultForm(tool: ToolName = 'profile', collector = 'local'): CaptureForm {
  return {
    tool,
    collector,
    durationSec: 10,
    pids: [],
    tids: [],
    frequency: 49, // bcc profile's default
    stacks: 'both',
    threads: 'all',
    includeIdle: false,
    minBlockUs: 1, // bcc offcputime's default -m 1
    maxBlockUs: null,
    perDisk: false,
    perFlag: false,
    queued: false,
    milliseconds: false,
    intervalSec: 1,
  };
}

/** Parses "123, 456 789" into PIDs; throws naming the bad token. */
export function parseIdList(text: string, what = 'PID'): number[] {
  const out: number[] = [];
  for (const tok of text.split(/[\s,]+/).filter(Boolean)) {
    if (!/^\d+$/.test(tok) || Number(tok) <= 0) throw new Error(`${what} "${tok}" is not a positive whole number`);
    out.push(Number(tok));
  }
  return out;
}

/** The POST /api/captures body for a form (only options that apply to the tool and differ from "unset"). */
export function captureRequest(form: CaptureForm): { tool: ToolName; durationSec: number; collector: string; save: false; options: Record<string, unknown> } {
  const info = toolInfo(form.tool);
  if (!info) throw new Error(`unknown tool "${form.tool}"`);
  if (!(form.durationSec > 0)) throw new Error('Duration must be more than 0 seconds');
  const f = new Set(info.fields);
  const o: Record<string, unknown> = {};
  if (f.has('pid') && form.pids.length) o.pid = form.pids.length === 1 ? form.pids[0] : form.pids;
  if (f.has('tid') && form.tids.length) o.tid = form.tids.length === 1 ? form.tids[0] : form.tids;
  if (f.has('frequency')) o.frequency = form.frequency;
  if (f.has('stacks')) {
    if (form.stacks === 'user') o.userStacksOnly = true;
    if (form.stacks === 'kernel') o.kernelStacksOnly = true;
  }
  if (f.has('threads')) {
    if (form.threads === 'user') o.userThreadsOnly = true;
    if (form.threads === 'kernel') o.kernelThreadsOnly = true;
  }
  if (f.has('threadsUserOnly') && form.threads === 'user') o.userThreadsOnly = true;
  if (f.has('includeIdle') && form.includeIdle) o.includeIdle = true;
  if (f.has('block')) {
    if (form.minBlockUs !== null) o.minBlockUs = form.minBlockUs;
    if (form.maxBlockUs !== null) o.maxBlockUs = form.maxBlockUs;
    if (form.minBlockUs !== null && form.maxBlockUs !== null && form.minBlockUs > form.maxBlockUs)
      throw new Error('Max block time must be at least the min block time');
  }
  if (f.has('perDisk') && form.perDisk) o.perDisk = true;
  if (f.has('perFlag') && form.perFlag) o.perFlag = true;
  if (f.has('queued') && form.queued) o.queued = true;
  if (f.has('milliseconds') && form.milliseconds) o.milliseconds = true;
  if (f.has('intervalSec')) o.intervalSec = form.intervalSec;
  return { tool: form.tool, durationSec: form.durationSec, collector: form.collector, save: false, options: o };
}
