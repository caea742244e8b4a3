/**
 * Runs one bcc-compatible tool: parse flags → check PIDs and privileges → open the BPF tool →
 * drain about every second into an in-memory aggregate until the duration ends or SIGINT/SIGTERM
 * → print like bcc. Returns the exit code (0 ok, 1 runtime/privilege error, 2 usage error).
 */
import { existsSync } from 'node:fs';
import type { StackDelta, Symbolizer, ToolHandle } from '@bpfscope/bpf';
import { formatHelp, parseArgs, UsageError } from './args.js';
import { HistogramAggregate, StackAggregate } from './aggregate.js';
import { EngineUnavailableError, hasTracingPrivileges, isPermissionError, loadEngine, PRIVILEGE_SENTENCE, privilegesOk, type Engine } from './engine.js';
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

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Register the stop request (SIGINT / SIGTERM); returns an unsubscribe function. */
  onStop(cb: () => void): () => void;
}

export interface CliDeps {
  io: CliIO;
  loadEngine?: () => Promise<Engine>;
  /** how often the kernel maps are drained (ms), default 1000 */
  drainIntervalMs?: number;
  /** length of one "second" of duration/interval (tests shorten it), default 1000 ms */
  secondMs?: number;
  pidExists?: (pid: number) => boolean;
  /** privilege check done before loading the engine; default: euid 0 or the needed capabilities */
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
    if (tool === 'offcputime' && values.folded && values.offset) throw new UsageError('argument -s/--offset: not allowed with argument -f/--folded (can only use -f or -s)');
    if (tool === 'offcputime' && values.kernelThreadsOnly && values.userStacksOnly) {
      throw new UsageError("argument -U/--user-stacks-only: not allowed with argument -k/--kernel-threads-only (displaying user stacks for kernel threads doesn't make sense)");
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

  if (!(deps.hasPrivileges ?? hasTracingPrivileges)()) {
    io.err(`bpfscope ${tool}: ${PRIVILEGE_SENTENCE}\n`);
    return 1;
  }

  let engine: Engine;
  try {
    engine = await (deps.loadEngine ?? loadEngine)();
    if (!privilegesOk(engine)) {
      io.err(`bpfscope ${tool}: ${PRIVILEGE_SENTENCE}\n`);
      return 1;
    }
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
  const msg = e instanceof EngineUnavailableError ? e.message : e instanceof Error ? e.message : String(e);
  io.err(`bpfscope ${tool}: ${msg}\n`);
  if (process.env.BPFSCOPE_DEBUG && e instanceof Error && e.stack) io.err(e.stack + '\n');
  return 1;
}

/** Waits until `ms` passed or a stop was requested; true when stopped. */
function stopper(io: CliIO): { stopped: () => boolean; wait: (ms: number) => Promise<boolean>; dispose: () => void } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const unsub = io.onStop(() => {
    stopped = true;
    wake?.();
  });
  return {
    stopped: () => stopped,
    wait: (ms) =>
      stopped
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const t = setTimeout(() => {
              wake = undefined;
              resolve(stopped);
            }, ms);
            wake = () => {
              clearTimeout(t);
              wake = undefined;
              resolve(true);
            };
          }),
    dispose: unsub,
  };
}

async function runStacks(tool: StackToolName, engine: Engine, v: Record<string, unknown>, deps: CliDeps): Promise<number> {
  const { io } = deps;
  const folded = !!v.folded;
  const durationS = v.duration as number | undefined;
  const pid = v.pid as number[] | undefined;
  const tid = v.tid as number[] | undefined;
  const common = {
    pid,
    tid,
    userStacksOnly: !!v.userStacksOnly,
    kernelStacksOnly: !!v.kernelStacksOnly,
    stackStorageSize: v.stackStorageSize as number | undefined,
  };
  const offcpu = {
    ...common,
    userThreadsOnly: !!v.userThreadsOnly,
    kernelThreadsOnly: !!v.kernelThreadsOnly,
    minBlockUs: v.minBlockUs as number | undefined,
    maxBlockUs: v.maxBlockUs as number | undefined,
  };

  const stop = stopper(io);
  let handle: ToolHandle<StackDelta> | undefined;
  const agg = new StackAggregate();
  try {
    const sym: Symbolizer = await engine.createSymbolizer();
    // read the traced processes' maps and ELF files before the capture starts, so the first drain
    // is not the slow one (and a process that exits during the capture still gets names)
    for (const id of [...(pid ?? []), ...(tid ?? [])]) sym.notePid(id);
    // likewise the kernel symbol table (/proc/kallsyms takes about a second to load)
    if (!common.userStacksOnly) sym.kernel([]);
    switch (tool) {
      case 'profile':
        handle = await engine.openProfile({ ...common, frequency: (v.frequency as number | undefined) ?? 49, includeIdle: !!v.includeIdle }, sym);
        break;
      case 'offcputime':
        handle = await engine.openOffcputime({ ...offcpu, state: v.state as number | undefined }, sym);
        break;
      case 'wakeuptime': {
        const { tid: _t, kernelThreadsOnly: _k, ...w } = offcpu;
        handle = await engine.openWakeuptime(w, sym);
        break;
      }
      case 'offwaketime':
        handle = await engine.openOffwaketime(offcpu, sym);
        break;
    }
    if (!folded) {
      io.out(
        formatHeader({
          tool,
          frequency: (v.frequency as number | undefined) ?? 49,
          pid,
          tid,
          userThreadsOnly: offcpu.userThreadsOnly,
          kernelThreadsOnly: offcpu.kernelThreadsOnly,
          userStacksOnly: common.userStacksOnly,
          kernelStacksOnly: common.kernelStacksOnly,
          duration: durationS,
        }) + '\n',
      );
    }
    const secondMs = deps.secondMs ?? 1000;
    // The CLI prints only at the end, so it drains just often enough to keep the kernel maps from
    // filling: every second for profile (its keys carry 10 ms time buckets), every 5 s for the
    // off-CPU tools, whose keys repeat across intervals — fewer drains, less symbolizing while the
    // traced workload runs (measured in bench/bpf). The maps' fill is counted either way.
    const drainMs = deps.drainIntervalMs ?? (tool === 'profile' ? 1000 : 5000);
    const start = Date.now();
    const end = durationS !== undefined ? start + durationS * secondMs : Infinity;
    // drain about every second; the drain that ends the capture always starts at (or after) the
    // end, so what the kernel gathered while an earlier drain was symbolizing is never left behind
    for (;;) {
      const left = end - Date.now();
      const stopped = left > 0 ? await stop.wait(Math.min(drainMs, left)) : stop.stopped();
      const last = stopped || Date.now() >= end;
      agg.add(await handle.drain());
      if (last) break;
    }
  } finally {
    stop.dispose();
    handle?.close();
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
  if (l.lostEvents > 0) io.err(`WARNING: ${l.lostEvents} events were lost.\n`);
  return 0;
}

async function runBiolatency(engine: Engine, v: Record<string, unknown>, deps: CliDeps): Promise<number> {
  const { io } = deps;
  const json = !!v.json;
  const intervalS = (v.interval as number | undefined) ?? 99999999;
  let countdown = (v.count as number | undefined) ?? 99999999;
  const perDisk = !!v.perDisk;
  const perFlag = !!v.perFlag;
  const now = deps.now ?? (() => new Date());
  const stop = stopper(io);
  const agg = new HistogramAggregate();
  let handle: ToolHandle<import('@bpfscope/bpf').HistogramDelta> | undefined;
  try {
    handle = await engine.openBiolatency({ queued: !!v.queued, perDisk, perFlag, milliseconds: !!v.milliseconds });
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
        agg.add(await handle.drain());
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
          lines.push(pyJson(jsonHist(Array.from(slots, (x) => x ?? 0), valType, ts)));
        } else {
          for (const h of hists) lines.push(pyJson(jsonHist(h.slots, valType, ts, { header: section, value: h.key })));
        }
      } else {
        if (v.timestamp) lines.push(strftimeTime(now()).padEnd(8));
        if (!section) {
          const slots = hists.reduce<number[]>((acc, h) => (h.slots.forEach((x, i) => (acc[i] = (acc[i] ?? 0) + x)), acc), []);
          lines.push(...formatLog2Hist(Array.from(slots, (x) => x ?? 0), valType));
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
