/**
 * What the console offers per tool: labels, defaults and which fields apply come from the tool
 * table (@bpfscope/viz/tools); this file turns the form state into API options. Pure (tested in
 * test/ui/tools.test.ts).
 */
import { OPTIONS, TOOLS as TABLE, TOOL_NAMES, isToolName, optionInForm, toolOptionNames, type OptionName, type ToolName } from '@bpfscope/viz/tools';

export type StackMode = 'both' | 'user' | 'kernel';
export type ThreadMode = 'all' | 'user' | 'kernel';

/** A value of an option the form shows with a generic control (one per option type). */
export type OptionValue = boolean | number | string;

/** The console's form state for one capture (all tools share one shape; each uses its part). */
export interface CaptureForm {
  tool: ToolName;
  collector: string;
  /** one host (`collector`), several (`hosts`) or every host with a label (`selector`, "key=value"). */
  target: 'one' | 'hosts' | 'label';
  hosts: string[];
  selector: string;
  durationSec: number;
  /** PIDs (empty: the whole system). */
  pids: number[];
  /** thread ids (empty: all). */
  tids: number[];
  frequency: number;
  stacks: StackMode;
  threads: ThreadMode;
  minBlockUs: number | null;
  maxBlockUs: number | null;
  intervalSec: number;
  /** options without a dedicated field (ToolInfo.generic); absent: the tool's default. */
  extra: Partial<Record<OptionName, OptionValue>>;
}

/**
 * The form's dedicated fields: several options share one (stacks: -U/-K; threads: -u/-k; block:
 * -m/-M, checked against each other), the PID/TID pickers, and the numbers the form always sends
 * (frequency, interval). Every other option is a generic control driven by its type in the table.
 */
export type FormField = 'pid' | 'tid' | 'frequency' | 'stacks' | 'threads' | 'threadsUserOnly' | 'block' | 'intervalSec';

/** Options that have a dedicated field. */
const DEDICATED: ReadonlySet<OptionName> = new Set<OptionName>([
  'pid',
  'tid',
  'frequency',
  'userStacksOnly',
  'kernelStacksOnly',
  'userThreadsOnly',
  'kernelThreadsOnly',
  'minBlockUs',
  'maxBlockUs',
  'intervalSec',
]);

export interface ToolInfo {
  name: ToolName;
  label: string;
  /** what it measures, one line. */
  blurb: string;
  /** the flame graph palette. */
  palette: 'cpu' | 'offcpu' | 'wakeup';
  /** which dedicated form fields apply. */
  fields: ReadonlyArray<FormField>;
  /** options the form shows with a generic control (by type), in table order. */
  generic: ReadonlyArray<OptionName>;
}

function fieldsOf(tool: ToolName): FormField[] {
  const has = (o: OptionName) => optionInForm(tool, o);
  const fields: FormField[] = [];
  const add = (f: FormField, on: boolean) => {
    if (on) fields.push(f);
  };
  add('pid', has('pid'));
  add('tid', has('tid'));
  add('frequency', has('frequency'));
  add('stacks', has('userStacksOnly') || has('kernelStacksOnly'));
  add('threads', has('kernelThreadsOnly'));
  add('threadsUserOnly', has('userThreadsOnly') && !has('kernelThreadsOnly'));
  add('block', has('minBlockUs') || has('maxBlockUs'));
  add('intervalSec', has('intervalSec'));
  return fields;
}

export const TOOLS: readonly ToolInfo[] = TOOL_NAMES.map((name) => ({
  name,
  label: TABLE[name].label,
  blurb: TABLE[name].blurb,
  palette: TABLE[name].palette,
  fields: fieldsOf(name),
  generic: toolOptionNames(name).filter((o) => !DEDICATED.has(o) && optionInForm(name, o)),
}));

export function toolInfo(name: string): ToolInfo | undefined {
  return TOOLS.find((t) => t.name === name);
}

export function toolLabel(name: string | undefined): string {
  if (name === 'import') return 'Imported file';
  return isToolName(name) ? TABLE[name].label : (name ?? 'unknown');
}

/** Does this tool record log2 histograms (latency heat maps) rather than stacks? */
export function isHistogramTool(tool: string | undefined): boolean {
  return isToolName(tool) && TABLE[tool].kind === 'histogram';
}

export function paletteFor(tool: string | undefined): 'cpu' | 'offcpu' | 'wakeup' {
  return isToolName(tool) ? TABLE[tool].palette : 'cpu';
}

export function defaultForm(tool: ToolName = 'profile', collector = 'local'): CaptureForm {
  return {
    tool,
    collector,
    target: 'one',
    hosts: [],
    selector: '',
    durationSec: 10,
    pids: [],
    tids: [],
    frequency: OPTIONS.frequency.default, // bcc profile's default
    stacks: 'both',
    threads: 'all',
    minBlockUs: OPTIONS.minBlockUs.default, // bcc offcputime's default -m 1
    maxBlockUs: null,
    intervalSec: OPTIONS.intervalSec.default,
    extra: {},
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

/** "key=value" → {key: value}; throws naming what is wrong. */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`Label "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (!Object.keys(out).length) throw new Error('Give a label as key=value (e.g. role=web)');
  return out;
}

/** The POST /api/captures body for a form (only options that apply to the tool and differ from "unset"). */
export function captureRequest(form: CaptureForm): {
  tool: ToolName;
  durationSec: number;
  collector?: string;
  hosts?: string[];
  selector?: Record<string, string>;
  save: false;
  options: Record<string, unknown>;
} {
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
  if (f.has('block')) {
    if (form.minBlockUs !== null) o.minBlockUs = form.minBlockUs;
    if (form.maxBlockUs !== null) o.maxBlockUs = form.maxBlockUs;
    if (form.minBlockUs !== null && form.maxBlockUs !== null && form.minBlockUs > form.maxBlockUs)
      throw new Error('Max block time must be at least the min block time');
  }
  if (f.has('intervalSec')) o.intervalSec = form.intervalSec;
  for (const k of info.generic) {
    const v = form.extra[k];
    if (v === undefined || v === false || v === '') continue;
    o[k] = v;
  }
  const target =
    form.target === 'hosts'
      ? (() => {
          if (!form.hosts.length) throw new Error('Pick at least one host');
          return { hosts: form.hosts };
        })()
      : form.target === 'label'
        ? { selector: parseSelector(form.selector) }
        : { collector: form.collector };
  return { tool: form.tool, durationSec: form.durationSec, ...target, save: false, options: o };
}
