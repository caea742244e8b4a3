/** The tool table and the wire schema derived from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPTIONS, OPTION_NAMES, TOOLS, TOOL_NAMES, inapplicableOptions, optionInForm, toolOptionNames, type OptionType } from '../src/tools/index.js';
import { captureOptionsSchema, toolNameSchema } from '../src/wire/index.js';

test('the wire accepts exactly the tools of the table', () => {
  for (const t of TOOL_NAMES) assert.ok(toolNameSchema.safeParse(t).success, t);
  assert.equal(toolNameSchema.safeParse('bogus').success, false);
  assert.deepEqual(TOOL_NAMES, Object.keys(TOOLS));
});

/** A value inside and one outside the option's limits. */
function samples(t: OptionType): { ok: unknown[]; bad: unknown[] } {
  switch (t.kind) {
    case 'bool':
      return { ok: [true, false], bad: [1, 'yes'] };
    case 'int':
      return { ok: [t.min, t.max ?? t.min + 1e9], bad: [t.min - 1, t.min + 0.5, ...(t.max === undefined ? [] : [t.max + 1])] };
    case 'number':
      return { ok: [t.min, t.max, (t.min + t.max) / 2], bad: [t.min - 0.01, t.max + 0.01, '1'] };
    case 'ids':
      return { ok: [1, [1, 2]], bad: [0, [], [1.5], Array.from({ length: t.maxItems + 1 }, (_, i) => i + 1)] };
    case 'enum':
      return { ok: [...t.values], bad: ['not-' + t.values[0], 1] };
    case 'string':
      return { ok: ['vfs_read', 'x'.repeat(t.maxLength)], bad: ['', 'x'.repeat(t.maxLength + 1), 'a\nb', 1] };
  }
}

test('every option of the table is in the wire schema with its type and limits', () => {
  for (const name of OPTION_NAMES) {
    const { ok, bad } = samples(OPTIONS[name].type as OptionType);
    for (const v of ok) assert.ok(captureOptionsSchema.safeParse({ [name]: v }).success, `${name}=${JSON.stringify(v)} should pass`);
    for (const v of bad) assert.equal(captureOptionsSchema.safeParse({ [name]: v }).success, false, `${name}=${JSON.stringify(v)} should fail`);
  }
  assert.equal(captureOptionsSchema.safeParse({ frequncy: 99 }).success, false, 'unknown keys are refused');
  assert.equal(captureOptionsSchema.safeParse({ userStacksOnly: true, kernelStacksOnly: true }).success, false);
  assert.equal(captureOptionsSchema.safeParse({ minBlockUs: 10, maxBlockUs: 5 }).success, false);
});

test('which options apply to which tool', () => {
  assert.deepEqual(inapplicableOptions('profile', { frequency: 99, pid: 1, minBlockUs: 3, perDisk: undefined }), ['minBlockUs']);
  assert.deepEqual(inapplicableOptions('biolatency', { perDisk: true, intervalSec: 1, pid: 1 }), ['pid']);
  assert.deepEqual(inapplicableOptions('wakeuptime', { tid: 3, kernelThreadsOnly: true, userThreadsOnly: true }), ['tid', 'kernelThreadsOnly']);
  for (const t of TOOL_NAMES) {
    assert.ok(toolOptionNames(t).includes('intervalSec'), `${t}: every capture has an interval`);
    for (const o of toolOptionNames(t)) assert.ok(Object.hasOwn(OPTIONS, o), `${t}.${o} is described in OPTIONS`);
  }
  assert.equal(optionInForm('biolatency', 'intervalSec'), true);
  assert.equal(optionInForm('profile', 'intervalSec'), false);
  assert.equal(optionInForm('offcputime', 'state'), false);
  assert.equal(optionInForm('wakeuptime', 'userStacksOnly'), false);
  assert.equal(optionInForm('profile', 'minBlockUs'), false, 'an option that does not apply is never in the form');
});

test('protocol v2: unwind is an option of the four stack tools; older clients are sent only the loss counters they know', async () => {
  const { captureOptionsSchema, messageForVersion, PROTOCOL_VERSION, serverMessageSchema } = await import('../src/wire/index.js');
  const { optionApplies } = await import('../src/tools/index.js');
  for (const t of ['profile', 'offcputime', 'wakeuptime', 'offwaketime'] as const) assert.ok(optionApplies(t, 'unwind'), t);
  assert.ok(!optionApplies('biolatency', 'unwind'));
  assert.ok(captureOptionsSchema.safeParse({ unwind: 'cfi' }).success);
  assert.ok(!captureOptionsSchema.safeParse({ unwind: 'dwarf' }).success);
  assert.ok(PROTOCOL_VERSION >= 2);
  const end = {
    type: 'delta',
    captureId: 'c',
    seq: 1,
    progress: { elapsedMs: 1, durationMs: 2, samples: 1, events: 1 },
    loss: { userStackMissing: 1, unwindNoTable: 2, timelineDropped: 3 },
  };
  const text = JSON.stringify(end);
  assert.equal(messageForVersion(text, 2), text, 'unchanged for a v2 client');
  assert.equal(messageForVersion(text, PROTOCOL_VERSION), text, 'unchanged for a current client');
  const v1 = JSON.parse(messageForVersion(text, 1));
  assert.deepEqual(v1.loss, { userStackMissing: 1 });
  assert.ok(serverMessageSchema.safeParse(JSON.parse(text)).success, 'v2 schema knows the new counters');
  const noLoss = JSON.stringify({ type: 'pong' });
  assert.equal(messageForVersion(noLoss, 1), noLoss);
});
