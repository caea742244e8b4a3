// Unit tests of the bpfscope CLI: argument parsing, usage errors and exit codes, bcc output layouts,
// and the capture loop (periodic drains, Ctrl-C) against a fake engine returning hand-made deltas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistogramDelta, LossStats, StackDelta, StackRecord, SymbolizedFrame } from '@bpfscope/bpf';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { SPECS } from '../src/cli/specs.js';
import { formatHeader, formatLog2Hist, formatMultiline, jsonHist, pyJson, safeText, stars } from '../src/cli/format.js';
import { main } from '../src/cli/main.js';
import { emptyLoss } from '../src/cli/aggregate.js';
import type { CaptureEngine } from '../src/engine.js';
import { TOOL_NAMES, type ToolName } from '@bpfscope/viz/tools';
import type { CaptureOptions } from '@bpfscope/viz/wire';
import type { CliDeps, CliIO } from '../src/cli/run.js';

// ---------- parsing ----------

test('bcc flag forms: -F 99, -F99, -p 1,2, --stack-storage-size=N and N, combined -df, -dfF99', () => {
  const p = (...a: string[]) => parseArgs(SPECS.profile, a).values;
  assert.equal(p('-F', '99').frequency, 99);
  assert.equal(p('-F99').frequency, 99);
  assert.equal(p('--frequency=99').frequency, 99);
  assert.equal(p('--freq', '7').frequency, 7, 'unambiguous long prefix, like argparse');
  assert.deepEqual(p('-p', '1,2').pid, [1, 2]);
  assert.deepEqual(p('-p1').pid, [1]);
  assert.equal(p('--stack-storage-size=1024').stackStorageSize, 1024);
  assert.equal(p('--stack-storage-size', '2048').stackStorageSize, 2048);
  const c = p('-df');
  assert.equal(c.delimited, true);
  assert.equal(c.folded, true);
  const d = p('-dfF99', '5');
  assert.deepEqual([d.delimited, d.folded, d.frequency, d.duration], [true, true, 99, 5]);
  assert.equal(p('--', '3').duration, 3);
  assert.equal(parseArgs(SPECS.profile, ['-h']).help, true);
  const b = parseArgs(SPECS.biolatency, ['-mT', '1', '10']).values;
  assert.deepEqual([b.milliseconds, b.timestamp, b.interval, b.count], [true, true, 1, 10]);
});

test('parse errors name the flag and the reason', () => {
  const err = (spec: keyof typeof SPECS, a: string[], re: RegExp) =>
    assert.throws(
      () => parseArgs(SPECS[spec], a),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      `${a.join(' ')} should fail with ${re}`,
    );
  err('profile', ['-F', 'abc'], /argument -F\/--frequency: invalid value "abc": must be an integer/);
  err('profile', ['-F', '0'], /-F\/--frequency.*must be nonzero/);
  err('profile', ['-F'], /argument -F\/--frequency: expected one argument/);
  err('profile', ['-F', '-d'], /argument -F\/--frequency: expected one argument/);
  err('profile', ['-p', '1,x'], /argument -p\/--pid: invalid value "1,x"/);
  err('profile', ['-p', '1', '-L', '2'], /argument -L\/--tid: not allowed with argument -p\/--pid/);
  err('profile', ['-U', '-K'], /argument -K\/--kernel-stacks-only: not allowed with argument -U\/--user-stacks-only/);
  err('profile', ['-x'], /unrecognized arguments: -x/);
  err('profile', ['-dx'], /unrecognized arguments: -x \(in -dx\)/);
  err('profile', ['--nope'], /unrecognized arguments: --nope/);
  err('profile', ['-c', '1000'], /argument -c\/--count: .*use -F/);
  err('profile', ['1', '2'], /unrecognized arguments: 2/);
  err('profile', ['abc'], /argument duration: invalid value "abc"/);
  err('profile', ['--folded=yes'], /ignored explicit argument/);
  err('offcputime', ['-u', '-k'], /-k\/--kernel-threads-only: not allowed with argument -u\/--user-threads-only/);
  err('offcputime', ['-m', '-5'], /-m\/--min-block-time.*must be positive/);
  err('biolatency', ['-D', '-F'], /-F\/--flags: not allowed with argument -D\/--disks/);
  err('wakeuptime', ['-p', '1', '-u'], /-u\/--useronly: not allowed with argument -p\/--pid/);
});

// ---------- fake engine & IO ----------

const u = (...n: string[]): SymbolizedFrame[] => n.map((name) => ({ name, kind: 'user', module: '/tmp/app', offset: 4 }));
const k = (...n: string[]): SymbolizedFrame[] => n.map((name) => ({ name, kind: 'kernel', offset: 16 }));
const loss = (o: Partial<LossStats> = {}): LossStats => ({ ...emptyLoss(), ...o });
/** One drain of a stack tool: these records, one event each and nothing lost unless `o` says otherwise. */
const stackDelta = (records: StackRecord[], o: Partial<StackDelta> = {}): StackDelta => ({
  kind: 'stacks',
  unit: 'samples',
  records,
  loss: loss(),
  events: records.length,
  ...o,
});
/** One drain of biolatency: these histograms, keyed by `keyKind`. */
const histDelta = (histograms: HistogramDelta['histograms'], keyKind: HistogramDelta['keyKind'] = 'none', events = 1): HistogramDelta => ({
  kind: 'histogram',
  unit: 'usecs',
  keyKind,
  histograms,
  loss: loss(),
  events,
});

interface Fake {
  engine: CaptureEngine;
  opened: Array<{ tool: ToolName; options: CaptureOptions }>;
  drains: number;
  closed: number;
  /** called by open() before it returns a source (a test throws from it) */
  onOpen?: (tool: ToolName) => void;
}

function fakeEngine(stackDeltas: StackDelta[], histDeltas: HistogramDelta[] = []): Fake {
  const f: Fake = { engine: undefined as unknown as CaptureEngine, opened: [], drains: 0, closed: 0 };
  f.engine = {
    open(tool, options) {
      f.onOpen?.(tool);
      f.opened.push({ tool, options });
      return {
        tool,
        startTime: Date.now(),
        drain: () => {
          f.drains++;
          if (tool === 'biolatency') return histDeltas.shift() ?? histDelta([], 'none', 0);
          return stackDeltas.shift() ?? stackDelta([]);
        },
        close: () => void f.closed++,
      };
    },
    system: () => ({ host: 'test', kernel: '6.18.0-test', btf: true, privileged: true, tools: [...TOOL_NAMES], cpus: 2 }),
  };
  return f;
}

interface Captured {
  out: string;
  err: string;
  stop: () => void;
}

function fakeIO(): { io: CliIO; cap: Captured } {
  const listeners = new Set<() => void>();
  const cap: Captured = { out: '', err: '', stop: () => listeners.forEach((l) => l()) };
  return {
    cap,
    io: {
      out: (s) => void (cap.out += s),
      err: (s) => void (cap.err += s),
      onStop: (cb) => {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
    },
  };
}

async function run(argv: string[], fake: Fake, extra: Partial<CliDeps> = {}): Promise<{ code: number } & Captured> {
  const { io, cap } = fakeIO();
  const code = await main(argv, {
    io,
    loadEngine: async () => fake.engine,
    hasPrivileges: () => true,
    pidExists: (p) => p < 100000,
    secondMs: 20,
    drainIntervalMs: 5,
    ...extra,
  });
  return { code, ...cap };
}

/** Runs the CLI on `fake`, checks that it succeeded, and returns what it printed as lines. */
async function outputLines(argv: string[], fake: Fake, extra: Partial<CliDeps> = {}): Promise<string[]> {
  const r = await run(argv, fake, extra);
  assert.equal(r.code, 0, r.err);
  return r.out.split('\n');
}

const recA: StackRecord = { pid: 42, tid: 43, comm: 'app', user: u('_start', 'main', 'hot'), kernel: k('asm_sysvec_apic_timer_interrupt'), value: 3 };
const recB: StackRecord = { pid: 42, tid: 43, comm: 'app', user: u('_start', 'main', 'cold'), kernel: [], value: 1 };

test('exit codes: usage errors 2 with usage line + reason, unknown PID named, no privileges 1', async () => {
  const f = fakeEngine([]);
  let r = await run(['profile', '-F', 'x'], f);
  assert.equal(r.code, 2);
  assert.match(r.err, /^usage: bpfscope profile \[-h\]/);
  assert.match(r.err, /bpfscope profile: error: argument -F\/--frequency: invalid value "x"/);
  assert.equal(r.out, '');

  r = await run(['offcputime', '-p', '123456'], f);
  assert.equal(r.code, 2);
  assert.match(r.err, /argument -p\/--pid: PID 123456 does not exist/);

  r = await run(['profile', '-L', '200000'], f);
  assert.equal(r.code, 2);
  assert.match(r.err, /argument -L\/--tid: TID 200000 does not exist/);

  r = await run(['profile', '1'], f, { hasPrivileges: () => false });
  assert.equal(r.code, 1);
  assert.match(r.err, /^bpfscope profile: needs root, or CAP_BPF \+ CAP_PERFMON/);
  assert.equal(r.err.trim().split('\n').length, 1, 'one sentence');

  // an EPERM BpfError from the engine maps to the same sentence
  const eperm = fakeEngine([]);
  eperm.onOpen = () => {
    throw Object.assign(new Error('load profile: permission denied'), { errno: 1, code: 'EPERM' });
  };
  r = await run(['profile', '1'], eperm);
  assert.equal(r.code, 1);
  assert.match(r.err, /needs root, or CAP_BPF \+ CAP_PERFMON/);

  const other = fakeEngine([]);
  other.onOpen = () => {
    throw Object.assign(new Error('load offcputime: invalid argument (EINVAL)'), { errno: 22 });
  };
  r = await run(['offcputime', '1'], other);
  assert.equal(r.code, 1);
  assert.match(r.err, /bpfscope offcputime: load offcputime: invalid argument/);

  r = await run(['nope'], f);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command "nope"/);
  r = await run(['--help'], f);
  assert.equal(r.code, 0);
  assert.match(r.out, /profile +Profile CPU stack traces/);
  r = await run(['offwaketime', '-h'], f);
  assert.equal(r.code, 0);
  assert.match(r.out, /^usage: bpfscope offwaketime/);
  assert.match(r.out, /--min-block-time/);
});

test('profile -f: options reach the engine, drains merge, folded lines sorted by value', async () => {
  const f = fakeEngine([stackDelta([recA, recB]), stackDelta([{ ...recA, value: 4 }])]);
  const r = await run(['profile', '-dfF99', '-p', '42', '--stack-storage-size=512', '2'], f, { secondMs: 200 });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(f.opened[0], { tool: 'profile', options: { pid: [42], stackStorageSize: 512, frequency: 99 } });
  assert.ok(f.drains >= 2, 'drained periodically');
  assert.equal(f.closed, 1);
  assert.equal(r.out, 'app;_start;main;cold 1\napp;_start;main;hot;-;asm_sysvec_apic_timer_interrupt 7\n');
  assert.equal(r.err, '');
});

test('profile default output: header, kernel leaf first, user leaf first, "- comm (pid)", value', async () => {
  const f = fakeEngine([stackDelta([recA], { events: 3 })]);
  assert.deepEqual(await outputLines(['profile', '-d', '1'], f), [
    'Sampling at 49 Hertz of all threads by user + kernel stack for 1 secs.',
    '',
    '    asm_sysvec_apic_timer_interrupt+0x10 [kernel]',
    '    --',
    '    hot+0x4 [app]',
    '    main+0x4 [app]',
    '    _start+0x4 [app]',
    '    -                app (42)',
    '        3',
    '',
    '',
  ]);
});

test('profile -a annotates kernel frames with _[k]; -K/-U headers', async () => {
  const f = fakeEngine([stackDelta([recA], { events: 3 })]);
  const r = await run(['profile', '-af', '1'], f);
  assert.equal(r.out, 'app;_start;main;hot;asm_sysvec_apic_timer_interrupt_[k] 3\n');
  assert.equal(
    formatHeader({ tool: 'profile', frequency: 99, pid: [1, 2], kernelStacksOnly: true }),
    'Sampling at 99 Hertz of PID [1, 2] by kernel stack... Hit Ctrl-C to end.',
  );
  assert.equal(
    formatHeader({ tool: 'offcputime', tid: [5, 6], userStacksOnly: true, duration: 5 }),
    'Tracing off-CPU time (us) of TIDs 5,6 by user stack for 5 secs.',
  );
  assert.equal(
    formatHeader({ tool: 'offcputime', kernelThreadsOnly: true }),
    'Tracing off-CPU time (us) of kernel threads by user + kernel stack... Hit Ctrl-C to end.',
  );
  assert.equal(formatHeader({ tool: 'wakeuptime' }), 'Tracing blocked time (us) by kernel stack... Hit Ctrl-C to end.');
  assert.equal(formatHeader({ tool: 'offwaketime', duration: 3 }), 'Tracing blocked time (us) by user + kernel off-CPU and waker stack for 3 secs.');
});

test('missed stacks: placeholders in output, warning on stderr like bcc', async () => {
  const missing: StackRecord = { pid: 7, tid: 8, comm: 'w', user: [], userMissing: true, kernel: k('schedule'), value: 10 };
  const f = fakeEngine([stackDelta([missing], { unit: 'microseconds', loss: loss({ stackCollisions: 2 }) })]);
  const r = await run(['offcputime', '-f', '1'], f);
  assert.equal(r.code, 0);
  assert.equal(r.out, 'w;[Missed User Stack];schedule 10\n');
  assert.equal(r.err, 'WARNING: 1 stack traces lost and could not be displayed. Consider increasing --stack-storage-size.\n');

  const g = fakeEngine([stackDelta([{ ...missing, userMissing: false, kernelMissing: true, kernel: [] }], { loss: loss({ mapFull: 4 }) })]);
  const r2 = await run(['profile', '1'], g);
  assert.match(r2.out, /\[Missed Kernel Stack\]/);
  assert.match(r2.err, /^WARNING: 1 stack traces could not be displayed\.\n/);
  assert.match(r2.err, /hash table full: 4 samples were dropped/);
});

test('offcputime default output prints the thread id; -s shows offsets; filters reach the engine', async () => {
  const f = fakeEngine([stackDelta([recA], { unit: 'microseconds' })]);
  const r = await run(['offcputime', '-s', '-u', '-m', '1000', '-M', '5000', '--state', '2', '1'], f);
  assert.equal(r.code, 0);
  assert.deepEqual(f.opened[0], { tool: 'offcputime', options: { userThreadsOnly: true, minBlockUs: 1000, maxBlockUs: 5000, state: 2 } });
  assert.match(r.out, /^Tracing off-CPU time \(us\) of user threads by user \+ kernel stack for 1 secs\.\n\n/);
  assert.match(r.out, /    asm_sysvec_apic_timer_interrupt\+0x10\n    hot\+0x4\n    main\+0x4\n    _start\+0x4\n    -                app \(43\)\n        3\n/);
  const bad = await run(['offcputime', '-f', '-s'], f);
  assert.equal(bad.code, 2);
  const minmax = await run(['offcputime', '-m', '10', '-M', '5'], f);
  assert.equal(minmax.code, 2);
  assert.match(minmax.err, /min-block-time: 10 is above -M\/--max-block-time 5/);
});

test('wakeuptime and offwaketime layouts (folded and default)', async () => {
  const wake: StackRecord = {
    pid: 1,
    tid: 1,
    comm: 'reader',
    user: u('main', 'read'),
    kernel: k('pipe_read', 'schedule'),
    waker: { pid: 2, comm: 'writer', user: u('main', 'write'), kernel: k('pipe_write', 'try_to_wake_up') },
    value: 250,
  };
  const d = () => stackDelta([wake], { unit: 'microseconds' });
  let r = await run(['wakeuptime', '-f', '1'], fakeEngine([d()]));
  assert.equal(r.out, 'writer;main;write;pipe_write;try_to_wake_up;reader 250\n');
  r = await run(['wakeuptime', '1'], fakeEngine([d()]));
  assert.match(
    r.out,
    /\n    target:          reader\n    try_to_wake_up\+0x10\n    pipe_write\+0x10\n    write\+0x4\n    main\+0x4\n    waker:           writer\n        250\n\nDetaching...\n$/,
  );
  r = await run(['offwaketime', '-df', '1'], fakeEngine([d()]));
  assert.equal(r.out, 'reader;main;read;-;pipe_read;schedule;--;try_to_wake_up;pipe_write;-;write;main;writer 250\n');
  r = await run(['offwaketime', '1'], fakeEngine([d()]));
  assert.ok(
    r.out.endsWith(
      [
        '    waker:           writer 2',
        '    main',
        '    write',
        '    pipe_write',
        '    try_to_wake_up',
        '    --               --',
        '    schedule',
        '    pipe_read',
        '    read',
        '    main',
        '    target:          reader 1',
        '        250',
        '',
        '',
      ].join('\n'),
    ),
    r.out,
  );
});

test('hostile comm and symbol names are printed as inert text', () => {
  assert.equal(safeText('a\u001b[31mb\nc\rd'), 'a?[31mb?c?d');
  const lines = formatMultiline('profile', { pid: 1, tid: 1, comm: 'x\u001b]0;pwn\u0007', user: [{ name: 'f\nake', kind: 'user' }], kernel: [], value: 1 });
  assert.ok(lines.every((l) => !/[\u0000-\u001f]/.test(l)));
});

test('SIGINT/SIGTERM ends a capture early and still prints what was gathered', async () => {
  const f = fakeEngine([stackDelta([recA], { events: 3 })]);
  const { io, cap } = fakeIO();
  const started = Date.now();
  const p = main(['profile', '-f'], { io, loadEngine: async () => f.engine, hasPrivileges: () => true, drainIntervalMs: 10 });
  setTimeout(() => cap.stop(), 60);
  const code = await p;
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 2000, 'stopped early');
  assert.equal(cap.out, 'app;_start;main;hot;asm_sysvec_apic_timer_interrupt 3\n');
  assert.equal(f.closed, 1);
});

// ---------- biolatency ----------

test('log2 histogram text matches bcc layout (header, bounds, count column, 40-wide stars)', () => {
  const lines = formatLog2Hist([3, 0, 0, 5, 17, 120, 4, 1], 'usecs');
  assert.deepEqual(lines, [
    '     usecs               : count     distribution',
    '         0 -> 1          : 3        |*                                       |',
    '         2 -> 3          : 0        |                                        |',
    '         4 -> 7          : 0        |                                        |',
    '         8 -> 15         : 5        |*                                       |',
    '        16 -> 31         : 17       |*****                                   |',
    '        32 -> 63         : 120      |****************************************|',
    '        64 -> 127        : 4        |*                                       |',
    '       128 -> 255        : 1        |                                        |',
  ]);
  assert.deepEqual(formatLog2Hist([0, 0], 'usecs'), []);
  const wide = formatLog2Hist([...Array(32).fill(0), 9], 'msecs');
  assert.equal(wide[0], '               msecs                         : count     distribution');
  assert.equal(wide.at(-1), '          4294967296 -> 8589934591           : 9        |********************|');
  assert.equal(stars(5, 10, 40), '*'.repeat(20));
  assert.equal(stars(0, 10, 40), '');
});

test('-j JSON shape: ts, val_type, data buckets up to the last non-zero one, section key', () => {
  const h = jsonHist([2, 0, 7, 0, 0], 'usecs', '2026-01-02 03:04:05', { header: 'disk', value: 'vda' });
  assert.deepEqual(h, {
    ts: '2026-01-02 03:04:05',
    val_type: 'usecs',
    data: [
      { 'interval-start': 0, 'interval-end': 1, count: 2 },
      { 'interval-start': 2, 'interval-end': 3, count: 0 },
      { 'interval-start': 4, 'interval-end': 7, count: 7 },
    ],
    disk: 'vda',
  });
  assert.equal(pyJson({ a: 1, b: [{ c: 'x' }] }), '{"a": 1, "b": [{"c": "x"}]}');
});

test('biolatency: intervals and count, -T timestamps, -D sections, -j one object per interval', async () => {
  const now = () => new Date(2026, 0, 2, 3, 4, 5);
  let f = fakeEngine([], [histDelta([{ key: '', slots: [0, 1, 3] }])]);
  assert.deepEqual(await outputLines(['biolatency', '-T', '1', '2'], f, { now }), [
    'Tracing block device I/O... Hit Ctrl-C to end.',
    '',
    '03:04:05',
    '     usecs               : count     distribution',
    '         0 -> 1          : 0        |                                        |',
    '         2 -> 3          : 1        |*************                           |',
    '         4 -> 7          : 3        |****************************************|',
    '',
    '03:04:05',
    '',
  ]);
  assert.deepEqual(f.opened[0], { tool: 'biolatency', options: {} });

  f = fakeEngine(
    [],
    [
      histDelta(
        [
          { key: 'vdb', slots: [1] },
          { key: 'vda', slots: [0, 2] },
        ],
        'disk',
      ),
    ],
  );
  assert.deepEqual(await outputLines(['biolatency', '-DQ', '1', '1'], f, { now }), [
    'Tracing block device I/O... Hit Ctrl-C to end.',
    '',
    '',
    'disk = vda',
    '     usecs               : count     distribution',
    '         0 -> 1          : 0        |                                        |',
    '         2 -> 3          : 2        |****************************************|',
    '',
    'disk = vdb',
    '     usecs               : count     distribution',
    '         0 -> 1          : 1        |****************************************|',
    '',
  ]);
  assert.deepEqual(f.opened[0].options, { queued: true, perDisk: true });

  f = fakeEngine([], [histDelta([{ key: '', slots: [0, 4] }]), histDelta([{ key: '', slots: [1] }])]);
  const r = await run(['biolatency', '-j', '-T', '1', '2'], f, { now, drainIntervalMs: 50 });
  const objs = r.out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  assert.equal(objs.length, 2);
  assert.deepEqual(objs[0], {
    ts: '2026-01-02 03:04:05',
    val_type: 'usecs',
    data: [
      { 'interval-start': 0, 'interval-end': 1, count: 0 },
      { 'interval-start': 2, 'interval-end': 3, count: 4 },
    ],
  });
  assert.deepEqual(objs[1].data, [{ 'interval-start': 0, 'interval-end': 1, count: 1 }]);
});

test('--unwind fp|cfi|auto reaches the engine for the four stack tools; a bad mode or biolatency is a usage error', async () => {
  for (const tool of ['profile', 'offcputime', 'wakeuptime', 'offwaketime'] as const) {
    const f = fakeEngine([]);
    const r = await run([tool, '-f', '--unwind', 'cfi', '1'], f);
    assert.equal(r.code, 0, r.err);
    assert.equal((f.opened[0].options as { unwind?: string }).unwind, 'cfi', tool);
    // absent: the engine's default (auto); nothing is sent
    const g = fakeEngine([]);
    await run([tool, '-f', '1'], g);
    assert.equal((g.opened[0].options as { unwind?: string }).unwind, undefined);
    assert.match((await run([tool, '-h'], g)).out, /--unwind \{auto,fp,cfi\}/);
  }
  const fp = fakeEngine([]);
  await run(['profile', '--unwind=fp', '1'], fp);
  assert.equal((fp.opened[0].options as { unwind?: string }).unwind, 'fp');
  const bad = await run(['profile', '--unwind', 'dwarf', '1'], fakeEngine([]));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /argument --unwind: invalid value "dwarf": must be one of auto, fp, cfi/);
  const bio = await run(['biolatency', '--unwind', 'fp', '1', '1'], fakeEngine([]));
  assert.equal(bio.code, 2);
  assert.match(bio.err, /unrecognized arguments: --unwind/);
});

test('stacks cut short by CFI unwinding are counted on stderr, by reason', async () => {
  const f = fakeEngine([
    stackDelta([recA], { loss: loss({ unwindNoTable: 3, truncatedStacks: 1 }), events: 3 }),
    stackDelta([], { loss: loss({ unwindNoTable: 2, unwindUnsupported: 4, unwindReadFault: 5 }) }),
  ]);
  const r = await run(['profile', '-f', '1'], f, { secondMs: 200, drainIntervalMs: 50 });
  assert.equal(r.code, 0);
  assert.match(r.err, /WARNING: 1 stack traces were truncated at the maximum stack depth\.\n/);
  assert.match(r.err, /WARNING: 5 user stacks reached code whose unwind table was not loaded yet/);
  assert.match(r.err, /WARNING: 4 user stacks ended early at code without a usable unwind rule/);
  assert.match(r.err, /WARNING: 5 user stacks ended early: reading the stack faulted\.\n/);
});
