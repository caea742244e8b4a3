/** --simulate (benchmarks): configuration checks, and a simulated host's samples follow the frequency with per-host variation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/server/config.js';
import { SimulatedEngine, loadRecording } from '../src/server/simulate.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-sim-'));
const rec = path.join(dir, 'rec.folded');
fs.writeFileSync(rec, 'app;main;a 5\napp;main;b 3\napp;main;c 2\napp;main;d 1\n');
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--simulate needs --hub and --simulate-file; both given, the config carries them', () => {
  assert.throws(
    () => loadConfig(['--simulate', '3'], {}),
    (e: Error) => e instanceof ConfigError && /--hub/.test(e.message),
  );
  assert.throws(() => loadConfig(['--simulate', '3', '--hub', 'ws://127.0.0.1:9701'], { BPFSCOPE_JOIN_TOKEN: 'tok-123456' }), /--simulate-file/);
  const c = loadConfig(['--simulate', '3', '--simulate-file', rec, '--hub', 'ws://127.0.0.1:9701', '--name', 'sim'], { BPFSCOPE_JOIN_TOKEN: 'tok-123456' });
  assert.deepEqual(c.simulate, { hosts: 3, file: rec });
  assert.equal(c.join?.name, 'sim');
});

test('a simulated host replays the recorded stacks at frequency × CPUs; other tools are refused', async () => {
  const r = loadRecording(rec);
  const drainAfter = async (seed: number) => {
    const src = new SimulatedEngine(r, `h${seed}`, seed).open('profile', { frequency: 99 });
    await new Promise((res) => setTimeout(res, 500));
    const d = src.drain();
    assert.equal(d.kind, 'stacks');
    return d.kind === 'stacks' ? d : null;
  };
  const d = (await drainAfter(0))!;
  const n = d.records.reduce((a, x) => a + x.value, 0);
  const expected = 0.5 * 99 * os.cpus().length;
  // the drain counts samples for the time elapsed (≥ 0.5 s under load, never less)
  assert.ok(n >= expected * 0.9 && n <= expected * 4, `${n} samples for ~${expected}`);
  assert.equal(d.events, n);
  for (const x of d.records) assert.ok(['a', 'b', 'c', 'd'].includes(x.user.at(-1)!.name));
  assert.throws(() => new SimulatedEngine(r, 'h', 0).open('offcputime', {}), /CPU profiles only/);
});
