/**
 * Runs one bcc-compatible tool: parse flags → check PIDs and privileges → open the BPF tool →
 * drain about every second into an in-memory aggregate until the duration ends or SIGINT/SIGTERM
 * → print like bcc. Returns the exit code (0 ok, 1 runtime/privilege error, 2 usage error).
 */
import { existsSync } from 'node:fs';
import type { HistogramDelta, StackDelta } from '@bpfscope/bpf';
import { checkPrivileges } from '@bpfscope/bpf/privileges';
import { OPTIONS, toolOptionNames, type ToolName } from '@bpfscope/viz/tools';
import type { CaptureOptions } from '@bpfscope/viz/wire';
import { isPermissionError, loadEngine, type CaptureEngine, type CaptureSource } from '../engine.js';
import { formatHelp, parseArgs, UsageError } from './args.js';
import { HistogramAggregate, StackAggregate } from './aggregate.js';
import {
  formatFolded,
  formatHeader,
  formatLog2Hist,
  formatMultiline,
  jsonHist,
  pyJson,
  strftimeDateTime,
  strftimeTime,
  type StackFormatOptions,
} from './format.js';
import { SPECS, type CliToolName, type StackToolName } from './specs.js';
import { DeferredSymbolizer, nextDrainMs } from './deferred.js';
import { runAnyEventTool } from './anyfunc.js';
import { stopper } from './stop.js';

/** how long the CLI waits at the end of a capture for debug files being fetched from debuginfod */
const DEBUGINFOD_WAIT_MS = 5000;

/** the BPF programs' map sizes (bpfscope.bpf.h COUNTS_MAP, STACKS_MAP) */
const COUNTS_CAPACITY = 65536;
const DEFAULT_STACK_CAPACITY = 16384;

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Register the stop request (SIGINT / SIGTERM); returns an unsubscribe function. */
  onStop(cb: () => void): () => void;
}

export const PRIVILEGE_SENTENCE = 'needs root, or CAP_BPF + CAP_PERFMON, to load BPF programs: run it as root (for example with sudo).';

export interface CliDeps {
  io: CliIO;
  /** the BPF engine, loaded after the flags and privileges were checked (tests inject a fake). */
  loadEngine?: () => Promise<CaptureEngine>;
  /** how often the kernel maps are drained (ms); default: stack tools size it from the maps'
   * capacity and the rate of new stacks (nextDrainMs), biolatency every 1000 ms */
  drainIntervalMs?: number;
  /** symbolize at every drain instead of once at the end (the output is the same; tests compare) */
  eagerSymbols?: boolean;
  /** length of one "second" of duration/interval (tests shorten it), default 1000 ms */
  secondMs?: number;
  pidExists?: (pid: number) => boolean;
  /** privilege check done before loading the engine; default: @bpfscope/bpf's checkPrivileges (CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN) */
  hasPrivileges?: () => boolean;
  now?: () => Date;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function usageError(tool: CliToolName, io: CliIO, message: string): number {
  io.err(`usage: ${SPECS[tool].usage}\nbpfscope ${tool}: error: ${message}\n`);
  return 2;
}

function defaultPidExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

export async function runTool(tool: CliToolName, argv: readonly string[], deps: CliDeps): Promise<number> {
  // the any-event tools' flags come from the tool table (SPECS), their run and output from cli/anyfunc.ts
  if (tool === 'runqlat' || tool === 'stackcount' || tool === 'funccount' || tool === 'funclatency') return runAnyEventTool(tool, argv, deps);
  const { io } = deps;
  const spec = SPECS[tool];
  let values: Record<string, unknown>;
  try {
    const parsed = parseArgs(spec, argv);
    if (parsed.help) {
      io.out(formatHelp(spec));
      return 0;
    }
    values = parsed.values;
    if (tool === 'offcputime' && values.folded && values.offset)
      throw new UsageError('argument -s/--offset: not allowed with argument -f/--folded (can only use -f or -s)');
    if (tool === 'offcputime' && values.kernelThreadsOnly && values.userStacksOnly) {
      throw new UsageError(
        "argument -U/--user-stacks-only: not allowed with argument -k/--kernel-threads-only (displaying user stacks for kernel threads doesn't make sense)",
      );
    }
    if (values.minBlockUs !== undefined && values.maxBlockUs !== undefined && (values.minBlockUs as number) > (values.maxBlockUs as number)) {
      throw new UsageError(`argument -m/--min-block-time: ${values.minBlockUs} is above -M/--max-block-time ${values.maxBlockUs}`);
    }
    if (tool === 'biolatency' && values.count !== undefined && values.interval === undefined) throw new UsageError('argument count: needs an interval first');
    const pidExists = deps.pidExists ?? defaultPidExists;
    for (const [dest, label, what] of [
      ['pid', '-p/--pid', 'PID'],
      ['tid', tool === 'profile' ? '-L/--tid' : '-t/--tid', 'TID'],
    ] as const) {
      for (const id of (values[dest] as number[] | undefined) ?? []) {
        if (!pidExists(id)) throw new UsageError(`argument ${label}: ${what} ${id} does not exist (no /proc/${id})`);
      }
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(tool, io, e.message);
    throw e;
  }

  if (!(deps.hasPrivileges ?? (() => checkPrivileges().ok))()) {
    io.err(`bpfscope ${tool}: ${PRIVILEGE_SENTENCE}\n`);
    return 1;
  }

  let engine: CaptureEngine;
  try {
    engine = await (deps.loadEngine ?? loadEngine)();
  } catch (e) {
    return runtimeError(tool, io, e);
  }

  try {
    if (tool === 'biolatency') return await runBiolatency(engine, values, deps);
    return await runStacks(tool, engine, values, deps);
  } catch (e) {
    return runtimeError(tool, io, e);
  }
}

function runtimeError(tool: CliToolName, io: CliIO, e: unknown): number {
  if (isPermissionError(e)) {
    io.err(`bpfscope ${tool}: ${PRIVILEGE_SENTENCE}\n`);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`bpfscope ${tool}: ${msg}\n`);
  if (process.env.BPFSCOPE_DEBUG && e instanceof Error && e.stack) io.err(e.stack + '\n');
  return 1;
}

/** The capture options among the parsed values (a table option's flag has the option's name as its dest). */
function captureOptions(tool: ToolName, v: Record<string, unknown>): CaptureOptions {
  const o: Record<string, unknown> = {};
  for (const k of toolOptionNames(tool)) if (v[k] !== undefined) o[k] = v[k];
  return o as CaptureOptions;
}

function stackDelta(d: StackDelta | HistogramDelta): StackDelta {
  if (d.kind !== 'stacks') throw new Error(`the engine returned ${d.kind} data for a stack tool`);
  return d;
}

function histogramDelta(d: StackDelta | HistogramDelta): HistogramDelta {
  if (d.kind !== 'histogram') throw new Error(`the engine returned ${d.kind} data for a histogram tool`);
  return d;
}

async function runStacks(tool: StackToolName, engine: CaptureEngine, v: Record<string, unknown>, deps: CliDeps): Promise<number> {
  const { io } = deps;
  const folded = !!v.folded;
  const durationS = v.duration as number | undefined;
  const pid = v.pid as number[] | undefined;
  const tid = v.tid as number[] | undefined;
  const common = {
    userStacksOnly: !!v.userStacksOnly,
    kernelStacksOnly: !!v.kernelStacksOnly,
    userThreadsOnly: !!v.userThreadsOnly,
    kernelThreadsOnly: !!v.kernelThreadsOnly,
  };
  const frequency = (v.frequency as number | undefined) ?? OPTIONS.frequency.default;

  const stop = stopper(io);
  let handle: CaptureSource | undefined;
  let agg = new StackAggregate();
  let deferred: DeferredSymbolizer | undefined;
  try {
    // the engine reads the traced processes' maps and the kernel symbols before it attaches; the
    // output goes at the end, so stacks are named then, once (DeferredSymbolizer), and profile's
    // samples of a stack share one key per minute (the CLI prints no timeline)
    handle = engine.open(tool, captureOptions(tool, v), {
      timelineMs: 60000,
      symbolizer: deps.eagerSymbols ? undefined : (inner, trimKernel) => (deferred = new DeferredSymbolizer(inner, trimKernel)),
    });
    if (!folded) {
      io.out(
        formatHeader({
          tool,
          frequency,
          pid,
          tid,
          userThreadsOnly: common.userThreadsOnly,
          kernelThreadsOnly: common.kernelThreadsOnly,
          userStacksOnly: common.userStacksOnly,
          kernelStacksOnly: common.kernelStacksOnly,
          duration: durationS,
        }) + '\n',
      );
    }
    // the CFI walker's tools start sampling once the traced processes' unwind tables are loaded
    // (bounded); the duration counts from then
    await handle.ready;
    const secondMs = deps.secondMs ?? 1000;
    // The CLI prints only at the end, so it drains just often enough to keep the kernel maps from
    // filling (nextDrainMs: from their capacity and the rate of new stacks and keys, 1 to 30 s) and
    // names the stacks once, after the capture: the traced workload pays for little more than the
    // BPF programs (measured in bench/bpf). The maps' fill is counted either way.
    const stackCapacity = (v.stackStorageSize as number | undefined) ?? DEFAULT_STACK_CAPACITY;
    let drainMs = deps.drainIntervalMs ?? 1000;
    const start = Date.now();
    const end = durationS !== undefined ? start + durationS * secondMs : Infinity;
    // the drain that ends the capture always starts at (or after) the end, so what the kernel
    // gathered while an earlier drain ran is never left behind
    let last = false;
    while (!last) {
      const left = end - Date.now();
      const t0 = Date.now();
      const stopped = left > 0 ? await stop.wait(Math.min(drainMs, left)) : stop.stopped();
      last = stopped || Date.now() >= end;
      const asked0 = deferred?.asked ?? 0;
      const d = stackDelta(handle.drain());
      agg.add(d);
      if (deps.drainIntervalMs === undefined) {
        drainMs = nextDrainMs({
          stacks: deferred ? deferred.asked - asked0 : 2 * d.records.length,
          keys: d.timeline?.entries.length ?? d.records.length,
          coveredMs: Date.now() - t0,
          stackCapacity,
          countsCapacity: COUNTS_CAPACITY,
        });
      }
      deferred?.endDrain();
    }
  } finally {
    stop.dispose();
    handle?.close();
  }
  if (deferred) {
    // debug files still on their way from debuginfod (DEBUGINFOD_URLS): a few seconds for their names
    await deferred.settle(DEBUGINFOD_WAIT_MS);
    // name each distinct stack once, then merge records whose stacks got the same names (as the
    // per-drain path's aggregate does), in the order they first appeared
    const resolved = new StackAggregate();
    const named = deferred;
    resolved.add({ kind: 'stacks', unit: 'samples', records: agg.inOrder().map((r) => named.resolve(r)), loss: agg.loss, events: agg.events });
    agg = resolved;
  }

  // print
  const fmt: StackFormatOptions = {
    delimited: !!v.delimited && !common.userStacksOnly && !common.kernelStacksOnly,
    annotations: !!v.annotations,
    userStacksOnly: common.userStacksOnly,
    kernelStacksOnly: common.kernelStacksOnly,
    offsets: tool === 'profile' || !!v.offset,
    modules: tool === 'profile',
  };
  const records = agg.sorted();
  const chunks: string[] = [];
  if (!folded) chunks.push('');
  if (folded) {
    // distinct stacks that symbolize to the same names become one line (flamegraph.pl would merge them anyway)
    const lines = new Map<string, { text: string; value: number }>();
    for (const r of records) {
      const line = formatFolded(tool, { ...r, value: 0 }, fmt);
      const text = line.slice(0, line.lastIndexOf(' '));
      const have = lines.get(text);
      if (have) have.value += r.value;
      else lines.set(text, { text, value: r.value });
    }
    for (const l of [...lines.values()].sort((a, b) => a.value - b.value)) chunks.push(`${l.text} ${l.value}`);
  } else {
    for (const r of records) chunks.push(...formatMultiline(tool, r, fmt));
  }
  if (tool === 'wakeuptime' && !folded) chunks.push('Detaching...');
  if (chunks.length) io.out(chunks.join('\n') + '\n');

  // warnings, like bcc, on stderr
  let missing = 0;
  for (const r of records) {
    const sides = tool === 'wakeuptime' ? [r.waker] : tool === 'offwaketime' ? [r, r.waker] : [r];
    for (const s of sides) {
      if (!s) continue;
      if (!common.kernelStacksOnly && s.userMissing) missing++;
      if (!common.userStacksOnly && s.kernelMissing) missing++;
    }
  }
  const l = agg.loss;
  const sizeHint = l.stackCollisions + l.stackNoMem > 0 ? ' Consider increasing --stack-storage-size.' : '';
  const lost = tool === 'profile' || tool === 'wakeuptime' ? '' : ' lost and';
  if (missing > 0) io.err(`WARNING: ${missing} stack traces${lost} could not be displayed.${sizeHint}\n`);
  else if (sizeHint) io.err(`WARNING: ${l.stackCollisions + l.stackNoMem} stack traces could not be stored.${sizeHint}\n`);
  if (l.mapFull > 0) io.err(`WARNING: hash table full: ${l.mapFull} ${tool === 'profile' ? 'samples' : 'events'} were dropped.\n`);
  if (l.truncatedStacks > 0) io.err(`WARNING: ${l.truncatedStacks} stack traces were truncated at the maximum stack depth.\n`);
  // CFI unwinding (--unwind cfi/auto): user stacks that ended before the process root, by reason
  if (l.unwindNoTable)
    io.err(`WARNING: ${l.unwindNoTable} user stacks reached code whose unwind table was not loaded yet (walked on by frame pointers; they may be short).\n`);
  if (l.unwindUnsupported)
    io.err(`WARNING: ${l.unwindUnsupported} user stacks ended early at code without a usable unwind rule (no .eh_frame entry or an unsupported CFI rule).\n`);
  if (l.unwindReadFault) io.err(`WARNING: ${l.unwindReadFault} user stacks ended early: reading the stack faulted.\n`);
  if (l.pythonUnsupported)
    io.err(
      `WARNING: ${l.pythonUnsupported} stacks of Python processes keep the interpreter's native frames: their CPython version has no known layout (3.8-3.13 are supported).\n`,
    );
  if (l.lostEvents > 0) io.err(`WARNING: ${l.lostEvents} events were lost.\n`);
  return 0;
}

async function runBiolatency(engine: CaptureEngine, v: Record<string, unknown>, deps: CliDeps): Promise<number> {
  const { io } = deps;
  const json = !!v.json;
  const intervalS = (v.interval as number | undefined) ?? 99999999;
  let countdown = (v.count as number | undefined) ?? 99999999;
  const perDisk = !!v.perDisk;
  const perFlag = !!v.perFlag;
  const now = deps.now ?? (() => new Date());
  const stop = stopper(io);
  const agg = new HistogramAggregate();
  let handle: CaptureSource | undefined;
  try {
    handle = engine.open('biolatency', captureOptions('biolatency', v));
    if (!json) io.out('Tracing block device I/O... Hit Ctrl-C to end.\n');
    const secondMs = deps.secondMs ?? 1000;
    const drainMs = deps.drainIntervalMs ?? 1000;
    for (;;) {
      const end = Date.now() + intervalS * secondMs;
      let exiting = false;
      for (;;) {
        const left = end - Date.now();
        const stopped = left > 0 ? await stop.wait(Math.min(drainMs, left)) : stop.stopped();
        const last = stopped || Date.now() >= end;
        agg.add(histogramDelta(handle.drain()));
        if (stopped) exiting = true;
        if (last) break;
      }
      if (stop.stopped()) exiting = true;
      const valType = agg.unit ?? (v.milliseconds ? 'msecs' : 'usecs');
      const hists = agg.take();
      const section = perDisk ? ('disk' as const) : perFlag ? ('flags' as const) : undefined;
      const lines: string[] = [''];
      if (json) {
        // -T: the object's "ts" already carries the time; a bare timestamp line would break JSON readers
        const ts = strftimeDateTime(now());
        if (!section) {
          const slots = hists.reduce<number[]>((acc, h) => (h.slots.forEach((x, i) => (acc[i] = (acc[i] ?? 0) + x)), acc), []);
          lines.push(
            pyJson(
              jsonHist(
                Array.from(slots, (x) => x ?? 0),
                valType,
                ts,
              ),
            ),
          );
        } else {
          for (const h of hists) lines.push(pyJson(jsonHist(h.slots, valType, ts, { header: section, value: h.key })));
        }
      } else {
        if (v.timestamp) lines.push(strftimeTime(now()).padEnd(8));
        if (!section) {
          const slots = hists.reduce<number[]>((acc, h) => (h.slots.forEach((x, i) => (acc[i] = (acc[i] ?? 0) + x)), acc), []);
          lines.push(
            ...formatLog2Hist(
              Array.from(slots, (x) => x ?? 0),
              valType,
            ),
          );
        } else {
          for (const h of hists) {
            lines.push('', `${section} = ${h.key}`);
            lines.push(...formatLog2Hist(h.slots, valType));
          }
        }
      }
      io.out(lines.join('\n') + '\n');
      countdown--;
      if (exiting || countdown === 0) break;
    }
  } finally {
    stop.dispose();
    handle?.close();
  }
  const l = agg.loss;
  if (l.mapFull > 0) io.err(`WARNING: ${l.mapFull} I/O requests were not tracked: the start map was full.\n`);
  if (l.lostEvents > 0) io.err(`WARNING: ${l.lostEvents} events were lost.\n`);
  return 0;
}

export { sleep };
