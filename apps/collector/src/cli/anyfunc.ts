/**
 * `bpfscope funccount | stackcount | funclatency | runqlat`: bcc's flags and output for the tools
 * that trace any event (issue 12). Patterns are resolved before anything is loaded, so a pattern
 * that matches nothing, too much, or a missing binary or symbol is a usage error (exit 2) naming it.
 *
 * The four are in the tool table of @bpfscope/viz/tools (the collector protocol and the console
 * offer them): their flags come from there (SPECS); this file runs them and prints like bcc.
 */
import { existsSync } from 'node:fs';
import type { CountDelta, HistogramDelta, LatencyDelta, StackDelta, StackRecord, StackcountOptions } from '@bpfscope/bpf';
import { checkPrivileges } from '@bpfscope/bpf/privileges';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from './args.js';
import { frameText, formatLog2Hist, pyJson, safeText, slotBounds, strftimeDateTime, strftimeTime } from './format.js';
import type { CliIO } from './run.js';
import { SPECS } from './specs.js';
import { stopper } from './stop.js';

export type AnyEventCliTool = 'funccount' | 'stackcount' | 'funclatency' | 'runqlat';

export const ANYFUNC_SPECS: Record<AnyEventCliTool, CommandSpec> = {
  // from the tool table, like the other tools' flags
  get funccount(): CommandSpec {
    return SPECS.funccount;
  },
  get stackcount(): CommandSpec {
    return SPECS.stackcount;
  },
  get funclatency(): CommandSpec {
    return SPECS.funclatency;
  },
  get runqlat(): CommandSpec {
    return SPECS.runqlat;
  },
};

export const ANYFUNC_TOOLS = Object.keys(ANYFUNC_SPECS) as AnyEventCliTool[];
export function isAnyEventTool(s: string): s is AnyEventCliTool {
  return (ANYFUNC_TOOLS as string[]).includes(s);
}

type Bpf = typeof import('@bpfscope/bpf');

export interface AnyfuncDeps {
  io: CliIO;
  /** length of one "second" (tests shorten it) */
  secondMs?: number;
  now?: () => Date;
  loadBpf?: () => Promise<Bpf>;
}

const FOREVER = 99999999;

function usage(tool: AnyEventCliTool, io: CliIO, message: string): number {
  io.err(`usage: ${ANYFUNC_SPECS[tool].usage}\nbpfscope ${tool}: error: ${message}\n`);
  return 2;
}

export async function runAnyEventTool(tool: AnyEventCliTool, argv: readonly string[], deps: AnyfuncDeps): Promise<number> {
  const { io } = deps;
  const spec = ANYFUNC_SPECS[tool];
  let v: Record<string, unknown>;
  try {
    const parsed = parseArgs(spec, argv);
    if (parsed.help) {
      io.out(formatHelp(spec));
      return 0;
    }
    v = parsed.values;
    if (tool !== 'runqlat' && typeof v.pattern !== 'string') throw new UsageError('the following arguments are required: pattern');
    if (tool === 'runqlat' && v.count !== undefined && v.interval === undefined) throw new UsageError('argument count: needs an interval first');
    for (const id of (v.pid as number[] | undefined) ?? []) {
      if (!existsSync(`/proc/${id}`)) throw new UsageError(`argument -p/--pid: PID ${id} does not exist (no /proc/${id})`);
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(tool, io, e.message);
    throw e;
  }
  if (!checkPrivileges().ok) {
    io.err(`bpfscope ${tool}: needs root, or CAP_BPF + CAP_PERFMON, to load BPF programs: run it as root (for example with sudo).\n`);
    return 1;
  }
  let bpf: Bpf;
  try {
    bpf = await (deps.loadBpf ?? (() => import('@bpfscope/bpf')))();
  } catch (e) {
    io.err(`bpfscope ${tool}: ${(e as Error).message}\n`);
    return 1;
  }
  const pid = v.pid as number[] | undefined;
  if (tool !== 'runqlat') {
    // resolve first: what the pattern matches (or why nothing) is the user's input, exit 2
    try {
      bpf.resolveProbes(v.pattern as string, {
        regex: !!v.regex,
        limit: v.maxProbes as number | undefined,
        pid: pid?.[0],
        noTracepoints: tool === 'funclatency',
      });
    } catch (e) {
      return usage(tool, io, (e as Error).message);
    }
  }
  try {
    switch (tool) {
      case 'funccount':
        return await runCounts(bpf, v, deps);
      case 'stackcount':
        return await runStackcount(bpf, v, deps);
      case 'funclatency':
      case 'runqlat':
        return await runLatency(tool, bpf, v, deps);
    }
  } catch (e) {
    const err = e as { message?: string; isPermission?: boolean };
    if (err.isPermission) io.err(`bpfscope ${tool}: needs root, or CAP_BPF + CAP_PERFMON, to load BPF programs: run it as root (for example with sudo).\n`);
    else io.err(`bpfscope ${tool}: ${err.message ?? String(e)}\n`);
    return 1;
  }
}

/** Run `handle` until the duration, the count of intervals or a stop; `report(last)` at each interval end. */
async function loop<D>(
  handle: { drain(): D; close(): void },
  deps: AnyfuncDeps,
  intervalS: number,
  durationS: number,
  count: number,
  take: (d: D) => void,
  report: (last: boolean) => void,
): Promise<void> {
  const stop = stopper(deps.io);
  const secondMs = deps.secondMs ?? 1000;
  const end = Date.now() + durationS * secondMs;
  try {
    for (let n = 0; ; ) {
      const intervalEnd = Math.min(end, Date.now() + intervalS * secondMs);
      let stopped = false;
      for (;;) {
        const left = intervalEnd - Date.now();
        stopped = left > 0 ? await stop.wait(Math.min(1000, left)) : stop.stopped();
        take(handle.drain());
        if (stopped || Date.now() >= intervalEnd) break;
      }
      n++;
      const last = stopped || Date.now() >= end || n >= count;
      report(last);
      if (last) break;
    }
  } finally {
    stop.dispose();
    handle.close();
  }
}

/** loop() with the -i/--interval and -d/--duration flags (each unbounded when not given) and no count. */
function loopFlags<D>(
  handle: { drain(): D; close(): void },
  deps: AnyfuncDeps,
  v: Record<string, unknown>,
  take: (d: D) => void,
  report: (last: boolean) => void,
): Promise<void> {
  return loop(handle, deps, (v.interval as number | undefined) ?? FOREVER, (v.duration as number | undefined) ?? FOREVER, FOREVER, take, report);
}

/**
 * Counts the events the programs saw and, at close, asks the kernel's bpf_stats what they cost:
 * `line()` is the summary printed on stderr at the end (the event rate, the BPF cost per event).
 */
function metered<D extends { events: number }>(h: { drain(): D; close(): void; programStats?(): { runTimeNs: number; runCount: number } }) {
  const t0 = Date.now();
  let events = 0;
  let secs = 0;
  let stats: { runTimeNs: number; runCount: number } | undefined;
  return {
    handle: {
      drain: (): D => {
        const d = h.drain();
        events += d.events;
        return d;
      },
      close: (): void => {
        secs = (Date.now() - t0) / 1000;
        try {
          stats = h.programStats?.();
        } catch {
          /* no stats: say nothing about the cost */
        }
        h.close();
      },
    },
    line(): string {
      const rate = secs > 0 ? Math.round(events / secs) : 0;
      let cost = '';
      if (stats && stats.runCount > 0)
        cost = `; BPF programs: ${Math.round(stats.runTimeNs / stats.runCount)} ns per run over ${stats.runCount} runs (bpf_stats)`;
      else if (stats) cost = '; sysctl kernel.bpf_stats_enabled=1 shows what the BPF programs cost';
      return `${events} events in ${secs.toFixed(1)} s (${rate}/s)${cost}\n`;
    },
  };
}

function warnings(io: CliIO, skipped: string[], loss: { mapFull: number; lostEvents: number }): void {
  if (skipped.length)
    io.err(
      `WARNING: the kernel refused to probe ${skipped.length} matching function(s), not traced: ${skipped.slice(0, 20).map(safeText).join(', ')}${skipped.length > 20 ? ', …' : ''}\n`,
    );
  if (loss.mapFull > 0) io.err(`WARNING: hash table full: ${loss.mapFull} events were dropped.\n`);
  if (loss.lostEvents > 0) io.err(`WARNING: ${loss.lostEvents} events were not timed: the start map was full.\n`);
}

async function runCounts(bpf: Bpf, v: Record<string, unknown>, deps: AnyfuncDeps): Promise<number> {
  const { io } = deps;
  const now = deps.now ?? (() => new Date());
  const h = bpf.openFunccount({ pattern: v.pattern as string, regex: !!v.regex, pid: v.pid as number[] | undefined, limit: v.maxProbes as number | undefined });
  const n = h.attached.probes.length;
  io.out(`Tracing ${n} ${h.attached.kind === 'tracepoint' ? 'tracepoints' : 'functions'} for "${safeText(v.pattern as string)}"... Hit Ctrl-C to end.\n`);
  const meter = metered(h);
  const counts = new Map<string, number>();
  const loss = { mapFull: 0, lostEvents: 0 };
  await loopFlags(
    meter.handle,
    deps,
    v,
    (d: CountDelta) => {
      loss.mapFull += d.loss.mapFull;
      for (const c of d.counts) counts.set(c.key, (counts.get(c.key) ?? 0) + c.value);
    },
    (last) => {
      const lines: string[] = [];
      if (v.timestamp) lines.push(strftimeTime(now()));
      lines.push('', `${'FUNC'.padEnd(36)} ${'COUNT'.padStart(8)}`);
      for (const [k, c] of [...counts].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))) lines.push(`${safeText(k).padEnd(36)} ${String(c).padStart(8)}`);
      if (last) lines.push('Detaching...');
      io.out(lines.join('\n') + '\n');
      counts.clear();
    },
  );
  warnings(io, h.attached.skipped, loss);
  io.err(meter.line());
  return 0;
}

async function runStackcount(bpf: Bpf, v: Record<string, unknown>, deps: AnyfuncDeps): Promise<number> {
  const { io } = deps;
  const now = deps.now ?? (() => new Date());
  const sym = bpf.createSymbolizer();
  const kOnly = !!v.kernelStacksOnly;
  const uOnly = !!v.userStacksOnly;
  const h = bpf.openStackcount(
    {
      pattern: v.pattern as string,
      regex: !!v.regex,
      pid: v.pid as number[] | undefined,
      limit: v.maxProbes as number | undefined,
      cpu: v.cpu as number | undefined,
      userStacksOnly: uOnly,
      kernelStacksOnly: kOnly,
      perPid: !!v.perPid,
      unwind: v.unwind as StackcountOptions['unwind'],
    },
    sym,
  );
  const meter = metered(h);
  const folded = !!v.folded;
  if (!folded) io.out(`Tracing ${h.attached.probes.length} functions for "${safeText(v.pattern as string)}"... Hit Ctrl-C to end.\n`);
  const recs = new Map<string, StackRecord>();
  const loss = { mapFull: 0, lostEvents: 0 };
  const unwound = { unwindNoTable: 0, unwindUnsupported: 0, unwindReadFault: 0 };
  let missing = 0;
  const keyOf = (r: StackRecord) =>
    `${v.perPid ? `${r.pid}/${r.comm}` : ''}|${r.user.map((f) => f.name).join(';')}|${r.kernel.map((f) => f.name).join(';')}|${r.userMissing ? 1 : 0}${r.kernelMissing ? 1 : 0}`;
  await loopFlags(
    meter.handle,
    deps,
    v,
    (d: StackDelta) => {
      loss.mapFull += d.loss.mapFull;
      for (const k of Object.keys(unwound) as Array<keyof typeof unwound>) unwound[k] += d.loss[k] ?? 0;
      for (const r of d.records) {
        const k = keyOf(r);
        const have = recs.get(k);
        if (have) have.value += r.value;
        else recs.set(k, { ...r });
      }
    },
    (last) => {
      const lines: string[] = [];
      if (v.timestamp && !folded) lines.push(strftimeTime(now()));
      const delim = !!v.delimited && !kOnly && !uOnly;
      for (const r of [...recs.values()].sort((a, b) => a.value - b.value)) {
        if (r.userMissing || r.kernelMissing) missing++;
        const user = uOnly || !kOnly ? r.user : [];
        const kernel = kOnly || !uOnly ? r.kernel : [];
        if (folded) {
          const parts = [r.comm, ...user.map((f) => f.name), ...(delim && user.length && kernel.length ? ['-'] : []), ...kernel.map((f) => f.name)];
          lines.push(`${parts.map((p) => safeText(p).replace(/;/g, ':')).join(';')} ${r.value}`);
        } else {
          for (const f of [...kernel].reverse()) lines.push(`  ${frameText(f, { offsets: !!v.offset })}`);
          if (r.kernelMissing && !uOnly) lines.push('  [Missed Kernel Stack]');
          if (delim && user.length && kernel.length) lines.push('    --');
          for (const f of [...user].reverse()) lines.push(`  ${frameText(f, { offsets: !!v.offset })}`);
          if (r.userMissing && !kOnly) lines.push('  [Missed User Stack]');
          if (v.perPid || !kOnly) lines.push(`    ${safeText(r.comm)} [${r.pid}]`);
          lines.push(`    ${r.value}`, '');
        }
      }
      if (last && !folded) lines.push('Detaching...');
      if (lines.length) io.out(lines.join('\n') + '\n');
      recs.clear();
    },
  );
  if (missing > 0) io.err(`WARNING: ${missing} stack traces could not be displayed.\n`);
  // CFI unwinding (--unwind cfi/auto): user stacks that ended before the process root, by reason
  if (unwound.unwindNoTable)
    io.err(
      `WARNING: ${unwound.unwindNoTable} user stacks reached code whose unwind table was not loaded yet (walked on by frame pointers; they may be short).\n`,
    );
  if (unwound.unwindUnsupported)
    io.err(
      `WARNING: ${unwound.unwindUnsupported} user stacks ended early at code without a usable unwind rule (no .eh_frame entry or an unsupported CFI rule).\n`,
    );
  if (unwound.unwindReadFault) io.err(`WARNING: ${unwound.unwindReadFault} user stacks ended early: reading the stack faulted.\n`);
  warnings(io, h.attached.skipped, loss);
  io.err(meter.line());
  return 0;
}

async function runLatency(tool: 'funclatency' | 'runqlat', bpf: Bpf, v: Record<string, unknown>, deps: AnyfuncDeps): Promise<number> {
  const { io } = deps;
  const now = deps.now ?? (() => new Date());
  const json = !!v.json;
  let h: { drain(): LatencyDelta | HistogramDelta; close(): void; programStats?(): { runTimeNs: number; runCount: number } };
  let skipped: string[] = [];
  let intervalS: number;
  let durationS = FOREVER;
  let count = FOREVER;
  if (tool === 'funclatency') {
    const unit = v.milliseconds ? 'msecs' : v.microseconds ? 'usecs' : 'nsecs';
    const ph = bpf.openFunclatency({
      pattern: v.pattern as string,
      regex: !!v.regex,
      pid: v.pid as number[] | undefined,
      limit: v.maxProbes as number | undefined,
      unit,
      perFunction: !!v.perFunction,
    });
    skipped = ph.attached.skipped;
    h = ph;
    intervalS = (v.interval as number | undefined) ?? FOREVER;
    durationS = (v.duration as number | undefined) ?? FOREVER;
    if (!json) io.out(`Tracing ${ph.attached.probes.length} functions for "${safeText(v.pattern as string)}"... Hit Ctrl-C to end.\n`);
  } else {
    h = bpf.openRunqlat({ pid: v.pid as number[] | undefined, perProcess: !!v.perProcess, perThread: !!v.perThread, milliseconds: !!v.milliseconds });
    intervalS = (v.interval as number | undefined) ?? FOREVER;
    count = (v.count as number | undefined) ?? FOREVER;
    if (!json) io.out('Tracing run queue latency... Hit Ctrl-C to end.\n');
  }
  const hists = new Map<string, { slots: number[]; count: number; sum: number; comm?: string }>();
  let unit = 'usecs';
  let keyKind: LatencyDelta['keyKind'] | HistogramDelta['keyKind'] = 'none';
  const loss = { mapFull: 0, lostEvents: 0 };
  const meter = metered(h);
  await loop(
    meter.handle,
    deps,
    intervalS,
    durationS,
    count,
    (d: LatencyDelta | HistogramDelta) => {
      unit = d.unit;
      keyKind = d.keyKind;
      loss.mapFull += d.loss.mapFull;
      loss.lostEvents += d.loss.lostEvents;
      for (const x of d.histograms) {
        let a = hists.get(x.key);
        if (!a) hists.set(x.key, (a = { slots: [], count: 0, sum: 0 }));
        x.slots.forEach((n, i) => (a!.slots[i] = (a!.slots[i] ?? 0) + n));
        if ('count' in x) a.count += x.count ?? 0;
        if ('sum' in x) a.sum += x.sum ?? 0;
        if (x.comm) a.comm = x.comm;
      }
    },
    (last) => {
      const lines: string[] = [];
      const section = keyKind === 'function' ? 'Function' : keyKind === 'pid' ? 'pid' : keyKind === 'tid' ? 'tid' : undefined;
      const keys = [...hists.keys()].sort((a, b) => (keyKind === 'pid' || keyKind === 'tid' ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
      if (json) {
        const ts = strftimeDateTime(now());
        const objs = keys.length ? keys : [''];
        for (const k of objs) {
          const a = hists.get(k) ?? { slots: [], count: 0, sum: 0 };
          const slots = Array.from(a.slots, (x) => x ?? 0);
          let lastSlot = -1;
          slots.forEach((x, i) => (x ? (lastSlot = i) : 0));
          const data = [];
          for (let i = 0; i <= lastSlot; i++) {
            const [lo, hi] = slotBounds(i);
            data.push({ 'interval-start': lo, 'interval-end': hi, count: slots[i] });
          }
          const o: Record<string, unknown> = { ts, val_type: unit, data };
          if (section) o[section === 'Function' ? 'function' : section] = section === 'Function' ? k : Number(k);
          if (a.comm) o.comm = a.comm;
          if (tool === 'funclatency') Object.assign(o, { count: a.count, total: a.sum });
          lines.push(pyJson(o));
        }
      } else {
        lines.push('');
        if (v.timestamp) lines.push(strftimeTime(now()).padEnd(8));
        let total = 0;
        let n = 0;
        for (const k of keys) {
          const a = hists.get(k)!;
          if (section) lines.push('', section === 'Function' ? `Function = ${safeText(k)}` : `${section} = ${k}${a.comm ? ` ${safeText(a.comm)}` : ''}`);
          lines.push(
            ...formatLog2Hist(
              Array.from(a.slots, (x) => x ?? 0),
              unit,
            ),
          );
          total += a.sum;
          n += a.count;
        }
        if (tool === 'funclatency' && n > 0) lines.push('', `avg = ${Math.floor(total / n)} ${unit}, total: ${total} ${unit}, count: ${n}`, '');
        if (last && tool === 'funclatency') lines.push('Detaching...');
      }
      io.out(lines.join('\n') + '\n');
      hists.clear();
    },
  );
  warnings(io, skipped, loss);
  if (tool === 'funclatency') io.err(meter.line());
  return 0;
}
