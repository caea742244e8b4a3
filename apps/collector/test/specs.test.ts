/** The CLI's flags come from the tool table: every table flag is offered, named in the usage line, and parses into the option. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOOLS, TOOL_NAMES, toolOptionNames, type OptionName, type ToolOption } from '@bpfscope/viz/tools';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { optionFlag, SPECS } from '../src/cli/specs.js';

test("every CLI flag of the tool table is in the tool's command spec and usage line, with the option as its dest", () => {
  for (const tool of TOOL_NAMES) {
    const spec = SPECS[tool];
    assert.equal(spec.description, TOOLS[tool].description);
    for (const o of toolOptionNames(tool)) {
      const flag = (TOOLS[tool].options as Partial<Record<OptionName, ToolOption>>)[o]?.flag;
      if (!flag) continue;
      const f = spec.flags.find((x) => x.long === flag.long);
      assert.ok(f, `${tool}: --${flag.long} is offered`);
      assert.equal(f.dest, o);
      assert.match(
        spec.usage,
        new RegExp(`\\[${f.short ? '-' + f.short : '--' + f.long}[ \\]]|\\| ${f.short ? '-' + f.short : '--' + f.long}[ \\]]`),
        `${tool}: usage names --${flag.long}`,
      );
    }
    // and every supported flag of the spec is in the usage line (hand-written parts included)
    for (const f of spec.flags.filter((x) => !x.unsupported)) {
      assert.ok(spec.usage.includes(f.short ? `-${f.short}` : `--${f.long}`), `${tool}: usage names ${f.long}`);
    }
  }
});

test('parsed flags are capture options (same names)', () => {
  const v = parseArgs(SPECS.offcputime, ['-p', '1,2', '-m', '5', '--state', '0', '-U']).values;
  assert.deepEqual(v, { pid: [1, 2], minBlockUs: 5, state: 0, userStacksOnly: true });
  const b = parseArgs(SPECS.biolatency, ['-QmD']).values;
  assert.deepEqual(b, { queued: true, milliseconds: true, perDisk: true });
});

test('a table flag reads its value the way bcc does (nonzero / positive / list) and names itself on errors', () => {
  const pf = optionFlag('frequency', { long: 'frequency', short: 'F', help: '', value: 'nonzero' });
  assert.equal(pf.kind, 'value');
  assert.equal(pf.metavar, 'FREQUENCY');
  assert.throws(() => pf.parse!('0'), /nonzero/);
  assert.equal(optionFlag('state', { long: 'state', help: '', value: 'positive' }).parse!('0'), 0);
  assert.deepEqual(optionFlag('pid', { long: 'pid', help: '' }).parse!('3,4'), [3, 4]);
  assert.equal(optionFlag('includeIdle', { long: 'include-idle', help: '' }).kind, 'bool');
  const spec = { name: 'x', description: '', usage: 'x', flags: [pf], positionals: [], examples: '' };
  assert.throws(
    () => parseArgs(spec, ['-F', 'abc']),
    (e: unknown) => e instanceof UsageError && /argument -F\/--frequency: invalid value "abc"/.test(e.message),
  );
});
