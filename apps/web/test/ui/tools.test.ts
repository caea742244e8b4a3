/** Console form → POST /api/captures body, validated by the real wire schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureOptionsSchema, TOOL_NAMES } from '@bpfscope/viz/wire';
import { TOOLS, captureRequest, defaultForm, isHistogramTool, parseIdList, parseSelector } from '../../lib/tools';
import { hostSlice, mergeHosts, weightByHost } from '../../lib/fleet';
import { parseCaptureBody } from '../../server/api';

test('every wire tool has a tab, and the defaults are bcc-like', () => {
  assert.deepEqual(TOOLS.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
  const f = defaultForm();
  assert.equal(f.frequency, 49);
  assert.equal(f.durationSec, 10);
  assert.equal(f.minBlockUs, 1);
});

test('the default request of every tool passes captureOptionsSchema and is never saved automatically', () => {
  for (const t of TOOLS) {
    const body = captureRequest(defaultForm(t.name));
    assert.equal(body.save, false, t.name);
    assert.equal(body.tool, t.name);
    const r = captureOptionsSchema.safeParse(body.options);
    assert.ok(r.success, `${t.name}: ${JSON.stringify(body.options)} ${r.success ? '' : r.error.message}`);
  }
});

test('options are mapped to the API names and only for the tool that has them', () => {
  const f = { ...defaultForm('profile'), pids: [42, 43], stacks: 'user' as const, minBlockUs: 5, extra: { includeIdle: true, perDisk: true } };
  const b = captureRequest(f);
  assert.deepEqual(b.options, { pid: [42, 43], frequency: 49, userStacksOnly: true, includeIdle: true });

  const o = captureRequest({ ...defaultForm('offcputime'), pids: [7], threads: 'kernel', stacks: 'kernel', minBlockUs: 1000, maxBlockUs: 5000 });
  assert.deepEqual(o.options, { pid: 7, kernelThreadsOnly: true, kernelStacksOnly: true, minBlockUs: 1000, maxBlockUs: 5000 });
  assert.ok(captureOptionsSchema.safeParse(o.options).success);

  const bio = captureRequest({ ...defaultForm('biolatency'), extra: { perDisk: true, queued: true, milliseconds: true }, intervalSec: 0.5, pids: [1] });
  assert.deepEqual(bio.options, { perDisk: true, queued: true, milliseconds: true, intervalSec: 0.5 });
  assert.ok(captureOptionsSchema.safeParse(bio.options).success);
});

test('bad form values are refused with words', () => {
  assert.throws(() => captureRequest({ ...defaultForm('offcputime'), minBlockUs: 10, maxBlockUs: 5 }), /Max block time must be at least/);
  assert.throws(() => captureRequest({ ...defaultForm('profile'), durationSec: 0 }), /Duration/);
  assert.throws(() => parseIdList('12, abc'), /PID "abc" is not a positive whole number/);
  assert.throws(() => parseIdList('0'), /PID "0"/);
  assert.deepEqual(parseIdList(' 1, 2 3 '), [1, 2, 3]);
  assert.deepEqual(parseIdList(''), []);
});

test('the form fields of each tool follow the tool table', () => {
  const fields = Object.fromEntries(TOOLS.map((t) => [t.name, [...t.fields].sort()]));
  assert.deepEqual(fields, {
    profile: ['frequency', 'pid', 'stacks', 'tid'],
    offcputime: ['block', 'pid', 'stacks', 'threads', 'tid'],
    wakeuptime: ['block', 'pid', 'threadsUserOnly'],
    offwaketime: ['block', 'pid', 'stacks', 'threads', 'tid'],
    biolatency: ['intervalSec'],
    stackcount: ['pid', 'stacks'],
    funccount: ['pid'],
    funclatency: ['intervalSec', 'pid'],
    runqlat: ['intervalSec', 'pid'],
  });
  // options without a dedicated field get a generic control by their type, in the tool's CLI order:
  // the stack tools' unwinding (a select), the probe pattern (text), and the switches (checkboxes:
  // profile's idle task, biolatency's and the other histograms' keys and units, the any-event ones)
  const generic = Object.fromEntries(TOOLS.map((t) => [t.name, [...t.generic]]));
  assert.deepEqual(generic, {
    profile: ['includeIdle', 'unwind'],
    offcputime: ['unwind'],
    wakeuptime: ['unwind'],
    offwaketime: ['unwind'],
    biolatency: ['queued', 'milliseconds', 'perDisk', 'perFlag'],
    stackcount: ['pattern', 'regex', 'perPid', 'unwind'],
    funccount: ['pattern', 'regex'],
    funclatency: ['pattern', 'milliseconds', 'perFunction', 'regex'],
    runqlat: ['milliseconds', 'perProcess', 'perThread'],
  });
});

test('histogram tools are told apart by the tool table, not by name', () => {
  assert.equal(isHistogramTool('biolatency'), true);
  assert.equal(isHistogramTool('profile'), false);
  assert.equal(isHistogramTool('import'), false);
  assert.equal(isHistogramTool(undefined), false);
});

test('fleet targets: one host, several hosts or a label become collector / hosts / selector, accepted by the API parser', () => {
  const f = defaultForm();
  assert.equal(captureRequest(f).collector, 'local');
  const several = captureRequest({ ...f, target: 'hosts', hosts: ['a', 'b'] });
  assert.deepEqual([several.hosts, several.collector], [['a', 'b'], undefined]);
  assert.deepEqual(parseCaptureBody(several as unknown as Record<string, unknown>).hosts, ['a', 'b']);
  const label = captureRequest({ ...f, target: 'label', selector: 'role=web, zone=a' });
  assert.deepEqual(label.selector, { role: 'web', zone: 'a' });
  assert.deepEqual(parseCaptureBody(label as unknown as Record<string, unknown>).selector, { role: 'web', zone: 'a' });
  assert.throws(() => captureRequest({ ...f, target: 'hosts', hosts: [] }), /at least one host/);
  assert.throws(() => parseSelector('role'), /key=value/);
  assert.throws(() => parseCaptureBody({ tool: 'profile', durationSec: 1, collector: 'local', hosts: ['a'] }), /one of collector, hosts or selector/);
});

test('multi-host profile views: merged drops the host root, weights per host, one host against the rest', () => {
  const frames = [
    { name: 'a', kind: 'unknown' as const },
    { name: 'b', kind: 'unknown' as const },
    { name: 'app', kind: 'comm' as const },
    { name: 'f', kind: 'user' as const },
  ];
  const p = {
    unit: 'samples' as const,
    frames,
    stacks: [
      { frames: [0, 2, 3], weight: 3 },
      { frames: [1, 2, 3], weight: 5 },
      { frames: [1, 2], weight: 1 },
    ],
    total: 9,
    meta: {
      hosts: [
        { name: 'a', state: 'done' as const, samples: 3 },
        { name: 'b', state: 'done' as const, samples: 6 },
      ],
    },
  };
  assert.deepEqual(
    mergeHosts(p).stacks.map((s) => s.frames),
    [[2, 3], [2, 3], [2]],
  );
  assert.deepEqual(
    [...weightByHost(p)],
    [
      ['a', 3],
      ['b', 6],
    ],
  );
  const rest = hostSlice(p, 'rest', 'a');
  assert.equal(rest.total, 6);
  assert.equal(hostSlice(p, 'a').total, 3);
  assert.equal(hostSlice(p, 'a').meta.hosts, undefined);
});
