import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { checkPrivileges, probeSystem } from '../src/index.js';
import { ROOT_SKIP, PKG_DIR, isRoot, sleep } from './helpers.js';
import { bundleForNobody, runAsNobody } from '../../../tests/support/unprivileged.js';

const CHILD = path.join(PKG_DIR, 'test/fixtures/capture-child.ts');

/** Start the capture child; resolves with its first stdout line. */
function startChild(tool: string) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, tool], { cwd: PKG_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr += b));
  const line = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited ${code} before reporting: ${stderr}`)));
    setTimeout(() => reject(new Error(`child did not report within 20 s: ${stderr}`)), 20000).unref();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, line, exited };
}

/** BPF program and map ids held by a process, from /proc/PID/fdinfo. */
function bpfIdsOf(pid: number): { progs: Set<number>; maps: Set<number> } {
  const progs = new Set<number>();
  const maps = new Set<number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const p = info.match(/^prog_id:\s*(\d+)/m);
    if (p) progs.add(Number(p[1]));
    const m = info.match(/^map_id:\s*(\d+)/m);
    if (m) maps.add(Number(m[1]));
  }
  return { progs, maps };
}

function progLoaded(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

{
  const tool = 'profile,offcputime,biolatency';
  test(`kill -9 during a capture (${tool}): nothing of ours stays loaded`, { skip: ROOT_SKIP, timeout: 60000 }, async () => {
    const { child, line, exited } = startChild(tool);
    try {
      const first = await line;
      assert.match(first, /^ready \d+$/, first);
      const { progs, maps } = bpfIdsOf(child.pid!);
      assert.ok(progs.size >= 4, `the capture holds program fds: do_sample, sched_switch, block_rq_issue, block_rq_complete (${[...progs]})`);
      assert.ok(maps.size >= 2, `and map fds (${[...maps]})`);
      for (const id of progs) assert.ok(progLoaded(id), `bpftool sees program ${id} while the capture runs`);
      child.kill('SIGKILL');
      await exited;
      // programs are freed when the last fd closes (after an RCU grace period, slower on a busy
      // machine): poll until they are gone, with a generous deadline
      const deadline = Date.now() + 20000;
      let left = [...progs].filter(progLoaded);
      while (left.length && Date.now() < deadline) {
        await sleep(100);
        left = left.filter(progLoaded);
      }
      assert.deepEqual(left, [], `programs still loaded after kill -9: ${left}`);
      const pinned = fs.existsSync('/sys/fs/bpf') ? execFileSync('find', ['/sys/fs/bpf', '-name', '*bpfscope*'], { encoding: 'utf8' }) : '';
      assert.equal(pinned.trim(), '', 'nothing pinned');
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test('without root: a clear privileges error (uid 65534)', {
  skip: isRoot ? false : 'needs root to switch to uid 65534 with setpriv',
  timeout: 60000,
}, async () => {
  // the capture child bundled into a world-readable temp dir: user nobody may not be able to enter
  // the checkout (a clone under /root or in a 0700 directory)
  const bundle = await bundleForNobody(CHILD);
  try {
    const r = await runAsNobody(bundle, ['profile']);
    const first = r.stdout.split('\n')[0];
    assert.match(first, /^error /, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const err = JSON.parse(first.slice('error '.length));
    assert.equal(err.isBpfError, true);
    assert.equal(err.name, 'BpfError');
    assert.equal(err.code, 'EPERM');
    assert.equal(err.errno, 1);
    assert.match(err.message, /needs root, or CAP_BPF \+ CAP_PERFMON/);
    assert.equal(r.code, 1, r.stderr);
  } finally {
    bundle.dispose();
  }
});

test('checkPrivileges / probeSystem describe this machine', { timeout: 60000 }, () => {
  const p = checkPrivileges();
  assert.equal(p.root, isRoot);
  if (isRoot) assert.equal(p.ok, true);
  const s = probeSystem();
  assert.equal(s.btf, fs.existsSync('/sys/kernel/btf/vmlinux'));
  assert.match(s.libbpf, /^1\.\d+$/);
  if (p.ok) {
    for (const t of ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency', 'runqlat'] as const) {
      assert.equal(s.tools[t]?.ok, true, `${t} loads: ${JSON.stringify(s.tools[t])}`);
      assert.equal(s.tools[t]?.mode, s.btf ? 'tp_btf' : 'raw_tp');
    }
  } else {
    assert.deepEqual(s.tools, {});
  }
});
