/**
 * funccount, stackcount and funclatency: one BPF object (src/c/anyfunc.bpf.c) attached to whatever
 * a bcc probe pattern matched (tools/probes.ts), every attachment carrying its probe index as the
 * BPF cookie. Kernel functions: one kprobe.multi link (fentry/fexit for the latency of a single
 * function), per-function kprobes where the kernel has no kprobe.multi; user functions: uprobes at
 * the symbol's file offset; tracepoints: raw tracepoint links. Aggregated in the kernel, drained.
 */
import { BpfObject } from '../object.js';
import { BpfError } from '../errors.js';
import { drainerOf, StatsReader } from '../maps.js';
import { withDrainAsync } from './drain-async.js';
import { attachKprobe, attachKprobeMulti, attachRawTracepoint, attachUprobe, destroyLink } from '../attach.js';
import { kernelBtfNames } from '../btf.js';
import { onlineCpus } from '../privileges.js';
import type { Symbolizer } from '../symbolize/types.js';
import type {
  AttachedProbes,
  CountDelta,
  FunccountOptions,
  FunclatencyOptions,
  LatencyDelta,
  ProbeToolHandle,
  ProbeToolOptions,
  StackcountOptions,
  StackDelta,
  StackRecord,
} from './types.js';
import { ANYFUNC_HIST_SIZE, ANYFUNC_MAX_SLOTS, ANYFUNC_STACK_KEY_SIZE, AnyfuncMode, anyfuncCfg, assertSize, readComm, Stat } from './layout.js';
import { StackResolver, emptyLoss } from './stacks.js';
import { existsSync } from 'node:fs';
import { bad, checkIds, checkStackOpts, fillFilters, trimSlots, withCleanup } from './common.js';
import { resolveProbes, type ProbeSet } from './probes.js';
import type { UnwindMode } from './types.js';
import { loadWithUnwind, openUnwindSession, unwindPrograms, type UnwindSession } from '../unwind/session.js';

const ENOTSUPP = 524;
const EOPNOTSUPP = 95;
const ENOSYS = 38;

interface Opened {
  obj: BpfObject;
  /** fentry: the objects of the other functions (sharing obj's maps) */
  others?: BpfObject[];
  attached: AttachedProbes;
  /** probe name by cookie */
  names: string[];
}

function hasWildcard(o: ProbeToolOptions): boolean {
  return !!o.regex || /[*?]/.test(o.pattern);
}

function check(o: ProbeToolOptions): number[] {
  if (!o || typeof o.pattern !== 'string') throw bad('pattern: expected a probe pattern string like vfs_read, c:malloc or t:sched:sched_switch');
  return checkIds('pid', o.pid);
}

/** The kprobe.multi attach of `names` failed: find the functions the kernel refuses by bisection. */
function refusedKernelFunctions(obj: BpfObject, prog: string, names: string[], retprobe: boolean): string[] {
  const out: string[] = [];
  const walk = (part: string[]): void => {
    try {
      destroyLink(
        attachKprobeMulti(
          obj,
          prog,
          part,
          part.map(() => 0),
          retprobe,
          false,
        ),
      );
      return;
    } catch {
      if (part.length === 1) {
        out.push(part[0]);
        return;
      }
    }
    const mid = part.length >> 1;
    walk(part.slice(0, mid));
    walk(part.slice(mid));
  };
  walk(names);
  return out;
}

function load(
  mode: number,
  method: string,
  rodata: Buffer,
  maxEntries?: Record<string, number>,
  fentryTarget?: string,
  reuseMapsOf?: BpfObject,
  cfi = false,
): BpfObject {
  const latency = mode === AnyfuncMode.LATENCY;
  const progs: Record<string, [string, string]> = {
    'kprobe.multi': ['kmulti_entry', 'kmulti_return'],
    kprobe: ['kprobe_entry', 'kprobe_return'],
    fentry: ['fentry_entry', 'fexit_return'],
    uprobe: ['uprobe_entry', 'uprobe_return'],
    raw_tp: ['rawtp_entry', ''],
  };
  const [entry, ret] = progs[method];
  // the CFI walker's exec hook (it forgets a process's mappings at exec) only with the walker, and
  // only in the first object of a set sharing maps
  const hook = unwindPrograms(cfi && !reuseMapsOf);
  return BpfObject.load('anyfunc', {
    rodata,
    maxEntries,
    enable: (n) => n === entry || (latency && n === ret) || (n === 'sched_process_exec' && hook(n)),
    attachTargets: fentryTarget ? { fentry_entry: fentryTarget, fexit_return: fentryTarget } : undefined,
    reuseMapsOf,
  });
}

/** The rodata of one object: the mode, the probe index of fentry objects, whether the object
 * targets one process (the uprobes are attached to it alone), whether the CFI walker is on. */
type CfgFn = (mode: number, probe?: number, pidScoped?: boolean, unwind?: boolean) => Buffer;

/**
 * Loads the objects of one capture: stackcount's user stacks by the CFI walker (unwind 'cfi'/'auto',
 * falling back to frame pointers in 'auto' when the kernel rejects the walker), every other mode
 * and -K without it. `cfi` says what the first load chose; the others of a set follow it.
 */
class Loader {
  cfi = false;
  private first = true;
  constructor(
    private readonly mode: number,
    private readonly cfg: CfgFn,
    private readonly maxEntries: Record<string, number> | undefined,
    private readonly unwind: UnwindMode | undefined,
    private readonly userStacks: boolean,
  ) {}

  load(method: string, o: { probe?: number; pidScoped?: boolean; fentryTarget?: string; reuseMapsOf?: BpfObject } = {}): BpfObject {
    const wanted = this.mode === AnyfuncMode.STACKS && this.userStacks;
    const one = (u: boolean) =>
      load(this.mode, method, this.cfg(this.mode, o.probe, o.pidScoped, u), o.reuseMapsOf ? undefined : this.maxEntries, o.fentryTarget, o.reuseMapsOf, u);
    if (!this.first || o.reuseMapsOf) return one(this.cfi);
    const { obj, cfi } = loadWithUnwind(this.unwind, wanted, one);
    this.cfi = cfi;
    this.first = false;
    return obj;
  }
}

class Unsupported extends Error {}

function kprobePmu(): boolean {
  return existsSync('/sys/bus/event_source/devices/kprobe');
}

function refusedError(refused: string[], how: string, cause?: unknown): BpfError {
  const why = cause instanceof Error && cause.message ? `: ${cause.message}` : '';
  return bad(
    `the kernel cannot probe ${refused.length === 1 ? 'the function' : `${refused.length} functions`} ${refused.slice(0, 20).join(', ')}${refused.length > 20 ? ', …' : ''} with ${how} (not traceable: notrace, inlined, blacklisted or without BTF)${why}`,
  );
}

/**
 * Kernel functions: kprobe.multi (one link; needs CONFIG_FPROBE), else a kprobe per function (needs
 * CONFIG_KPROBES), else fentry/fexit (BPF trampolines; one object per function sharing the maps).
 * Latency prefers fentry/fexit: cheaper than kretprobes. Functions the kernel refuses are skipped
 * when the pattern has wildcards (named in attached.skipped) and are an error when named exactly.
 */
function openKernel(tool: string, mode: number, o: ProbeToolOptions, set: ProbeSet, loader: Loader): Opened {
  const latency = mode === AnyfuncMode.LATENCY;
  const wild = hasWildcard(o);
  const names = set.probes.map((p) => p.name);
  const order = latency ? ['fentry', 'kprobe.multi', 'kprobe'] : ['kprobe.multi', 'kprobe', 'fentry'];
  const failures: string[] = [];
  for (const method of order) {
    try {
      if (method === 'kprobe.multi') return viaKprobeMulti();
      if (method === 'kprobe') {
        if (!kprobePmu()) throw new Unsupported('no kprobe PMU (CONFIG_KPROBES is off)');
        return viaKprobes();
      }
      return viaFentry();
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      failures.push(`${method}: ${e.message}`);
    }
  }
  throw bad(`${tool}: this kernel offers no way to probe kernel functions (${failures.join('; ')})`);

  function viaKprobeMulti(): Opened {
    const obj = loader.load('kprobe.multi');
    return withCleanup(obj, () => {
      let targets = set.probes.map((p) => p.target);
      let cookies = targets.map((_, i) => i);
      const skipped: string[] = [];
      try {
        attachKprobeMulti(obj, 'kmulti_entry', targets, cookies, false);
      } catch (e) {
        const errno = e instanceof BpfError ? e.errno : 0;
        if (errno === ENOTSUPP || errno === EOPNOTSUPP || errno === ENOSYS) throw new Unsupported((e as Error).message);
        const refused = refusedKernelFunctions(obj, 'kmulti_entry', targets, false);
        if (refused.length === targets.length) throw new Unsupported((e as Error).message);
        if (refused.length === 0) throw e;
        if (!wild) throw refusedError(refused, 'kprobe.multi', e);
        skipped.push(...refused);
        const no = new Set(refused);
        cookies = cookies.filter((i) => !no.has(targets[i]));
        targets = cookies.map((i) => set.probes[i].target);
        attachKprobeMulti(obj, 'kmulti_entry', targets, cookies, false);
      }
      if (latency) attachKprobeMulti(obj, 'kmulti_return', targets, cookies, true);
      return { obj, names, attached: { kind: 'kernel', method: 'kprobe.multi', probes: targets, skipped } };
    });
  }

  function viaKprobes(): Opened {
    const obj = loader.load('kprobe');
    return withCleanup(obj, () => {
      const done: string[] = [];
      const skipped: string[] = [];
      set.probes.forEach((p, i) => {
        try {
          attachKprobe(obj, 'kprobe_entry', p.target, i, false);
          if (latency) attachKprobe(obj, 'kprobe_return', p.target, i, true);
          done.push(p.name);
        } catch (err) {
          if (!wild) throw refusedError([p.name], 'a kprobe', err);
          skipped.push(p.name);
        }
      });
      if (done.length === 0) throw refusedError(skipped, 'kprobes');
      return { obj, names, attached: { kind: 'kernel', method: 'kprobe', probes: done, skipped } };
    });
  }

  function viaFentry(): Opened {
    const btf = kernelBtfNames().functions;
    const skipped: string[] = [];
    const objs: BpfObject[] = [];
    const done: string[] = [];
    try {
      set.probes.forEach((p, i) => {
        if (!btf.has(p.target)) {
          if (!wild) throw refusedError([p.name], 'fentry', new Error('no BTF for it'));
          skipped.push(p.name);
          return;
        }
        let obj: BpfObject | undefined;
        try {
          obj = loader.load('fentry', { probe: i, fentryTarget: p.target, reuseMapsOf: objs[0] });
          obj.attachAll();
          objs.push(obj);
          done.push(p.name);
        } catch (err) {
          obj?.destroy();
          // the first function failing to load says the kernel cannot do fentry at all (no
          // trampolines: EPERM/ENOTSUPP), rather than that this one function is refused
          if (objs.length === 0 && done.length === 0 && skipped.length === 0 && err instanceof BpfError) throw new Unsupported(err.message);
          if (!wild) throw refusedError([p.name], 'fentry', err);
          skipped.push(p.name);
        }
      });
      if (objs.length === 0) throw refusedError(skipped, 'fentry');
    } catch (e) {
      for (const x of objs) x.destroy();
      throw e;
    }
    void tool;
    return { obj: objs[0], others: objs.slice(1), names, attached: { kind: 'kernel', method: latency ? 'fentry/fexit' : 'fentry', probes: done, skipped } };
  }
}

/** Resolve, load and attach; the object is destroyed on any failure. */
function open(tool: 'funccount' | 'stackcount' | 'funclatency', mode: number, o: ProbeToolOptions, loader: Loader): Opened {
  const pids = check(o);
  const latency = mode === AnyfuncMode.LATENCY;
  const set = resolveProbes(o.pattern, { regex: o.regex, limit: o.limit, pid: pids[0], noTracepoints: latency });
  const names = set.probes.map((p) => p.name);
  const skipped: string[] = [];
  const wild = hasWildcard(o);

  if (set.kind === 'kernel') return openKernel(tool, mode, o, set, loader);

  if (set.kind === 'user') {
    // one traced process: the uprobes are attached to it alone, so the program need not check the pid
    const obj = loader.load('uprobe', { pidScoped: pids.length === 1 });
    return withCleanup(obj, () => {
      // one traced process: the kernel filters for us; several: the pid_filter map does
      const upid = pids.length === 1 ? pids[0] : -1;
      const done: string[] = [];
      set.probes.forEach((p, i) => {
        try {
          attachUprobe(obj, 'uprobe_entry', upid, set.path!, p.offset!, i, false, `${p.name} (${set.path} offset 0x${p.offset!.toString(16)})`);
          if (latency) attachUprobe(obj, 'uprobe_return', upid, set.path!, p.offset!, i, true, `${p.name} (${set.path})`);
          done.push(p.name);
        } catch (e) {
          if (!wild) throw e;
          skipped.push(p.name);
        }
      });
      if (done.length === 0)
        throw bad(`could not attach a uprobe to any function matching ${JSON.stringify(o.pattern)} in ${set.path}: ${skipped.slice(0, 20).join(', ')}`);
      return { obj, names, attached: { kind: 'user', method: 'uprobe', probes: done, path: set.path, skipped } };
    });
  }

  const obj = loader.load('raw_tp');
  return withCleanup(obj, () => {
    const done: string[] = [];
    set.probes.forEach((p, i) => {
      try {
        attachRawTracepoint(obj, 'rawtp_entry', p.target, i);
        done.push(p.name);
      } catch (e) {
        if (!wild) throw e;
        skipped.push(p.name);
      }
    });
    if (done.length === 0) throw bad(`could not attach to any tracepoint matching ${JSON.stringify(o.pattern)}: ${skipped.slice(0, 20).join(', ')}`);
    return { obj, names, attached: { kind: 'tracepoint', method: 'raw_tp', probes: done, skipped } };
  });
}

/** funccount: calls per probe. */
export function openFunccount(opts: FunccountOptions): ProbeToolHandle<CountDelta> {
  const pids = check(opts);
  const { obj, others, names, attached } = open(
    'funccount',
    AnyfuncMode.COUNT,
    opts,
    new Loader(
      AnyfuncMode.COUNT,
      (mode, probe, pidScoped) =>
        anyfuncCfg({ mode, filterPid: pids.length > 0 && !pidScoped, userOnly: false, kernelOnly: false, perPid: false, perFunc: true, divisor: 1n, probe }),
      undefined,
      'fp',
      false,
    ),
  );
  return withCleanupAll(obj, others, () => {
    fillFilters(obj, pids, []);
    const counts = obj.map('counts');
    assertSize(counts, 4, 8);
    const drainer = drainerOf(obj, 'counts');
    const stats = new StatsReader(obj.map('stats'));
    return withDrainAsync(
      {
        tool: 'funccount' as const,
        startTime: Date.now(),
        attached,
        drain(): CountDelta {
          const n = drainer.drain();
          const st = stats.read();
          const out: CountDelta['counts'] = [];
          for (let i = 0; i < n; i++) {
            const probe = drainer.keys.readUInt32LE(i * 4);
            out.push({ key: names[probe] ?? `probe ${probe}`, value: Number(drainer.values.readBigUInt64LE(i * 8)) });
          }
          out.sort((a, b) => a.value - b.value || (a.key < b.key ? -1 : 1));
          const loss = emptyLoss();
          loss.mapFull = st[Stat.MAP_FULL];
          return { kind: 'counts', counts: out, loss, events: st[Stat.EVENTS] };
        },
        programStats: () => statsOf(obj, others),
        close: () => closeAll(obj, others),
      },
      [drainer],
    );
  });
}

/** stackcount: calls per stack (and per process with perPid / user stacks). */
export function openStackcount(opts: StackcountOptions, sym: Symbolizer): ProbeToolHandle<StackDelta> {
  checkStackOpts(opts);
  const pids = check(opts);
  if (opts.cpu !== undefined) {
    const cpus = onlineCpus();
    if (!Number.isInteger(opts.cpu) || !cpus.includes(opts.cpu)) throw bad(`invalid cpu ${opts.cpu}: not an online CPU (online: ${cpus.join(',')})`);
  }
  // user stacks are symbolized per process: keep the pid when they are collected
  const perPid = !!opts.perPid || !opts.kernelStacksOnly;
  const loader = new Loader(
    AnyfuncMode.STACKS,
    (mode, probe, pidScoped, unwind) =>
      anyfuncCfg({
        mode,
        probe,
        filterPid: pids.length > 0 && !pidScoped,
        userOnly: !!opts.userStacksOnly,
        kernelOnly: !!opts.kernelStacksOnly,
        perPid,
        perFunc: true,
        cpu: opts.cpu,
        divisor: 1n,
        unwind: !!unwind,
      }),
    opts.stackStorageSize ? { stacks: opts.stackStorageSize, ustacks: opts.stackStorageSize } : undefined,
    opts.unwind,
    !opts.kernelStacksOnly,
  );
  const { obj, others, attached } = open('stackcount', AnyfuncMode.STACKS, opts, loader);
  let unwind: UnwindSession | undefined;
  return withCleanupAll(
    obj,
    others,
    () => {
      fillFilters(obj, pids, []);
      for (const pid of pids) sym.notePid(pid);
      const counts = obj.map('stack_counts');
      assertSize(counts, ANYFUNC_STACK_KEY_SIZE, 8);
      const drainer = drainerOf(obj, 'stack_counts');
      const stats = new StatsReader(obj.map('stats'));
      if (loader.cfi) {
        unwind = openUnwindSession(obj, pids);
        // the walker's exec hook (the probes themselves were attached by open)
        obj.attachAll((n) => n.startsWith('sched_process_exec'));
      }
      const stacks = new StackResolver(obj.map('stacks'), sym, false, unwind?.store, unwind?.python);
      return withDrainAsync(
        {
          tool: 'stackcount' as const,
          startTime: Date.now(),
          attached,
          unwind: unwind ? () => unwind!.info() : undefined,
          drain(): StackDelta {
            const n = drainer.drain();
            const st = stats.read();
            const k = drainer.keys;
            const records: StackRecord[] = [];
            const index = new Map<string, number>();
            for (let i = 0; i < n; i++) {
              const o = i * ANYFUNC_STACK_KEY_SIZE;
              const pid = k.readUInt32LE(o + 4);
              const uid = k.readInt32LE(o + 8);
              const kid = k.readInt32LE(o + 12);
              const comm = readComm(k, o + 16);
              const count = Number(drainer.values.readBigUInt64LE(i * 8));
              // the probe index is not shown: the stack's leaf names the function (or the tracepoint's caller)
              const rk = `${pid}/${uid}/${kid}/${comm}`;
              let ri = index.get(rk);
              if (ri === undefined) {
                ri = records.push({ ...stacks.thread(pid, pid, comm, uid, kid), value: 0 }) - 1;
                index.set(rk, ri);
              }
              records[ri].value += count;
            }
            stacks.endInterval();
            return { kind: 'stacks', unit: 'events', records, loss: stacks.loss(st), events: st[Stat.EVENTS] };
          },
          programStats: () => statsOf(obj, others),
          close: () => {
            unwind?.close();
            closeAll(obj, others);
          },
        },
        [drainer],
      );
    },
    () => unwind?.close(),
  );
}

function statsOf(obj: BpfObject, others?: BpfObject[]): { runTimeNs: number; runCount: number } {
  const out = obj.programStats();
  for (const x of others ?? []) {
    const s = x.programStats();
    out.runTimeNs += s.runTimeNs;
    out.runCount += s.runCount;
  }
  return out;
}

function closeAll(obj: BpfObject, others?: BpfObject[]): void {
  for (const x of others ?? []) x.destroy();
  obj.destroy();
}

function withCleanupAll<T>(obj: BpfObject, others: BpfObject[] | undefined, fn: () => T, also?: () => void): T {
  try {
    return fn();
  } catch (e) {
    also?.();
    closeAll(obj, others);
    throw e;
  }
}

const DIVISOR = { nsecs: 1n, usecs: 1000n, msecs: 1000000n } as const;

/** funclatency: entry → return durations as log2 histograms, for all probes or per function. */
export function openFunclatency(opts: FunclatencyOptions): ProbeToolHandle<LatencyDelta> {
  const pids = check(opts);
  const unit = opts.unit ?? 'nsecs';
  if (!(unit in DIVISOR)) throw bad(`invalid unit ${JSON.stringify(unit)}: expected nsecs, usecs or msecs`);
  const perFunc = !!opts.perFunction;
  const { obj, others, names, attached } = open(
    'funclatency',
    AnyfuncMode.LATENCY,
    opts,
    new Loader(
      AnyfuncMode.LATENCY,
      (mode, probe, pidScoped) =>
        anyfuncCfg({
          mode,
          filterPid: pids.length > 0 && !pidScoped,
          userOnly: false,
          kernelOnly: false,
          perPid: false,
          perFunc,
          divisor: DIVISOR[unit],
          probe,
        }),
      undefined,
      'fp',
      false,
    ),
  );
  return withCleanupAll(obj, others, () => {
    fillFilters(obj, pids, []);
    const hists = obj.map('hists');
    assertSize(hists, 4, ANYFUNC_HIST_SIZE);
    const drainer = drainerOf(obj, 'hists');
    const stats = new StatsReader(obj.map('stats'));
    return withDrainAsync(
      {
        tool: 'funclatency' as const,
        startTime: Date.now(),
        attached,
        drain(): LatencyDelta {
          const n = drainer.drain();
          const st = stats.read();
          const v = drainer.values;
          const histograms: LatencyDelta['histograms'] = [];
          for (let i = 0; i < n; i++) {
            const probe = drainer.keys.readUInt32LE(i * 4);
            const o = i * ANYFUNC_HIST_SIZE;
            const slots: number[] = [];
            for (let s = 0; s < ANYFUNC_MAX_SLOTS; s++) slots.push(Number(v.readBigUInt64LE(o + s * 8)));
            histograms.push({
              key: perFunc ? (names[probe] ?? `probe ${probe}`) : '',
              slots: trimSlots(slots),
              count: Number(v.readBigUInt64LE(o + ANYFUNC_MAX_SLOTS * 8)),
              sum: Number(v.readBigUInt64LE(o + ANYFUNC_MAX_SLOTS * 8 + 8)),
            });
          }
          histograms.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          const loss = emptyLoss();
          loss.mapFull = st[Stat.MAP_FULL];
          loss.lostEvents = st[Stat.START_FULL];
          return { kind: 'latency', unit, keyKind: perFunc ? 'function' : 'none', histograms, loss, events: st[Stat.EVENTS] };
        },
        programStats: () => statsOf(obj, others),
        close: () => closeAll(obj, others),
      },
      [drainer],
    );
  });
}
