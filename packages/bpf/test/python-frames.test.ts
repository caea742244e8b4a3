/**
 * CPython frames in CFI-walked stacks, on Debian's /usr/bin/python3 (3.11, libpython linked into
 * the executable) and the self-built python3 first in PATH (pyenv 3.11.7, shared libpython): each
 * _PyEval_EvalFrameDefault frame replaced by the Python functions it ran, in order, with lines;
 * the blocked time of a thread sleeping in time.sleep under a Python function.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openProfile, openOffcputime } from '../src/index.js';
import { createSymbolizer } from '../src/symbolize/index.js';
import type { StackDelta, StackRecord, ToolHandle } from '../src/tools/types.js';
import { ROOT_SKIP, run, drainUntil, tmpDir } from './helpers.js';
import { tablesReady, useTestTables } from './unwind-walk-helpers.js';
import { lineOfPep657 } from '../src/python/frames.js';
import { readPyObject } from '../src/python/procs.js';
import { DEBUG_OFFSETS_SIZE, layoutFromDebugOffsets, pyLayout } from '../src/python/layouts.js';

useTestTables();

// pyf_outer does 1 unit of work itself for every 3 units in pyf_leaf; a thread sleeps in pyf_sleeper
const SCRIPT = `
import sys, threading, time

def pyf_leaf(n):
    x = 0
    for i in range(n):
        x += i * i
    return x

def pyf_outer(until):
    while time.monotonic() < until:
        x = 0
        for i in range(4000):
            x += i * i
        pyf_leaf(12000)

def pyf_sleeper(until):
    while time.monotonic() < until:
        time.sleep(0.02)

sys.stdout.write("R")
sys.stdout.flush()
sys.stdin.readline()
until = time.monotonic() + 4
t = threading.Thread(target=pyf_sleeper, args=(until,))
t.start()
pyf_outer(until)
t.join()
`;

function script(): string {
  const p = path.join(tmpDir(), 'pyf_work.py');
  fs.writeFileSync(p, SCRIPT);
  return p;
}

/** the interpreters to test: Debian's and the first python3 in PATH that is another one */
function interpreters(): Array<{ label: string; bin?: string; skip?: string }> {
  const out: Array<{ label: string; bin?: string; skip?: string }> = [];
  const deb = '/usr/bin/python3';
  out.push(fs.existsSync(deb) ? { label: `Debian ${deb}`, bin: deb } : { label: deb, skip: `${deb} is not installed` });
  let other: string | undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, 'python3');
    if (!fs.existsSync(p)) continue;
    let exe: string;
    try {
      exe = execFileSync(p, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    if (fs.realpathSync(exe) !== fs.realpathSync(deb)) {
      other = exe;
      break;
    }
  }
  out.push(
    other
      ? { label: `PATH ${other}`, bin: other }
      : { label: 'python3 in PATH', skip: 'no python3 other than /usr/bin/python3 in PATH (the machines have a pyenv 3.11 build first)' },
  );
  return out;
}

function version(bin: string): string {
  return execFileSync(bin, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
}

async function capture(bin: string, open: (pid: number) => ToolHandle<StackDelta>) {
  const { child, done, go, ready } = run(bin, ['-u', script()]);
  await ready;
  const h = open(child.pid!);
  try {
    await tablesReady(h);
    // the interpreter is found by the tracker's scan of the process (before the gate opens)
    go();
    const d = await drainUntil(h, done);
    return { d, pid: child.pid!, info: h.unwind?.() };
  } finally {
    h.close();
    child.kill('SIGKILL');
  }
}

const py = (r: StackRecord) => r.user.filter((f) => f.kind === 'python').map((f) => f.name.replace(/ \(.*\)$/, ''));

/** the other CPython versions pyenv has on these machines (3.8-3.13 layouts, layouts.ts) */
function otherVersions(): Array<{ label: string; bin?: string; skip?: string }> {
  const root = path.join(process.env.PYENV_ROOT ?? '/root/.pyenv', 'versions');
  const out: Array<{ label: string; bin?: string; skip?: string }> = [];
  for (const minor of ['3.8', '3.9', '3.10', '3.12', '3.13']) {
    let dir: string | undefined;
    try {
      dir = fs.readdirSync(root).find((d) => d.startsWith(`${minor}.`) && /^\d+\.\d+\.\d+$/.test(d));
    } catch {
      /* no pyenv */
    }
    const bin = dir && path.join(root, dir, 'bin', `python${minor}`);
    out.push(bin && fs.existsSync(bin) ? { label: `pyenv ${dir}`, bin } : { label: `CPython ${minor}`, skip: `no pyenv CPython ${minor} under ${root}` });
  }
  return out;
}

async function profileCheck(t: { diagnostic(s: string): void }, bin: string) {
  {
    const { d, pid, info } = await capture(bin, (p) => openProfile({ pid: [p], frequency: 997, unwind: 'cfi', userStacksOnly: true }, createSymbolizer()));
    let main = 0;
    let inOuter = 0;
    let inLeaf = 0;
    let evalLeft = 0;
    const lines = new Map<number, number>();
    const top = new Map<string, number>();
    for (const r of d.records) {
      if (r.pid !== pid || r.tid !== pid) continue;
      main += r.value;
      const p = py(r);
      top.set(p.join(';'), (top.get(p.join(';')) ?? 0) + r.value);
      if (p.join(';') === '<module>;pyf_outer') inOuter += r.value;
      if (p.join(';') === '<module>;pyf_outer;pyf_leaf') {
        inLeaf += r.value;
        const leaf = r.user.find((f) => f.kind === 'python' && f.name.startsWith('pyf_leaf '));
        assert.ok(leaf?.name.endsWith('pyf_work.py)'), `the file is named: ${leaf?.name}`);
        if (leaf?.line) lines.set(leaf.line, (lines.get(leaf.line) ?? 0) + r.value);
        // native frames stay around the Python ones: the interpreter's entry below, none replaced twice
        const i = r.user.findIndex((f) => f.kind === 'python');
        assert.ok(i > 0 && r.user[i - 1].kind !== 'python', 'native frames below <module>');
      }
      if (r.user.some((f) => f.name === '_PyEval_EvalFrameDefault')) evalLeft += r.value;
    }
    t.diagnostic(
      `main thread ${main} samples: pyf_outer ${inOuter}, pyf_leaf ${inLeaf}, lines of pyf_leaf ${JSON.stringify([...lines])}, eval frames left ${evalLeft}; top ${JSON.stringify([...top].sort((a, b) => b[1] - a[1]).slice(0, 4))}; loss ${JSON.stringify(d.loss)}; ${JSON.stringify(info?.python)}`,
    );
    assert.ok(main > 60, `samples of the main thread: ${main}`);
    // every sample under the Python functions, in call order (short stacks while tables load excepted)
    assert.ok(inOuter + inLeaf >= main * 0.9, `${inOuter + inLeaf} of ${main} samples are <module>;pyf_outer[;pyf_leaf]`);
    // pyf_leaf does 3 of every 4 units of work
    const share = inLeaf / (inOuter + inLeaf);
    assert.ok(share > 0.6 && share < 0.9, `pyf_leaf has ${(share * 100).toFixed(1)} % of the samples under pyf_outer (work 75 %)`);
    // lines: the loop of pyf_leaf (script lines 6-7), not the def line
    const inLoop = (lines.get(6) ?? 0) + (lines.get(7) ?? 0);
    assert.ok(inLoop >= inLeaf * 0.8, `pyf_leaf samples on lines 6-7: ${inLoop} of ${inLeaf} (${JSON.stringify([...lines])})`);
    assert.ok(evalLeft <= main * 0.05, `_PyEval_EvalFrameDefault left in ${evalLeft} of ${main} samples`);
  }
}

for (const it of otherVersions()) {
  test(`python frames, profile: ${it.label}`, { skip: ROOT_SKIP || it.skip, timeout: 120000 }, async (t) => {
    await profileCheck(t, it.bin!);
  });
}

for (const it of interpreters()) {
  test(`python frames, profile: ${it.label}`, { skip: ROOT_SKIP || it.skip, timeout: 120000 }, async (t) => {
    assert.equal(version(it.bin!), '3.11', `${it.bin} is CPython 3.11 (the version both machines' interpreters have)`);
    await profileCheck(t, it.bin!);
  });

  test(`python frames, offcputime: ${it.label}`, { skip: ROOT_SKIP || it.skip, timeout: 120000 }, async (t) => {
    const bin = it.bin!;
    const { d, pid } = await capture(bin, (p) => openOffcputime({ pid: [p], unwind: 'cfi', userStacksOnly: true }, createSymbolizer()));
    let sleepUs = 0;
    const other = new Map<string, number>();
    for (const r of d.records) {
      if (r.pid !== pid || r.tid === pid) continue;
      const p = py(r);
      const i = p.indexOf('pyf_sleeper');
      // the Python function that blocked is the last Python frame (native time.sleep code above it)
      if (i >= 0 && i === p.length - 1 && /(^|\.)run$/.test(p[i - 1] ?? '') && r.user.at(-1)?.kind !== 'python') sleepUs += r.value;
      else other.set(p.join(';'), (other.get(p.join(';')) ?? 0) + r.value);
    }
    t.diagnostic(`pyf_sleeper blocked ${sleepUs} us; other stacks of the thread ${JSON.stringify([...other].sort((a, b) => b[1] - a[1]).slice(0, 4))}`);
    // it sleeps for 4 s; blocked time of the first stacks (before tables load) may be elsewhere
    assert.ok(sleepUs >= 3.4e6 && sleepUs <= 4.2e6, `blocked in time.sleep under [Thread.]run;pyf_sleeper: ${sleepUs} us of 4 s`);
  });
}

test('PEP 657 line table: the lines of code units (the format of 3.11+ co_linetable)', () => {
  // a table written by CPython 3.11 (compile() of a three-line function, co_firstlineno 1)
  const co = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      'import sys\ndef f(a):\n    b = a + 1\n    return b * 2\nc = f.__code__\nimport dis\nprint(c.co_firstlineno, c.co_linetable.hex())\nfor i in dis.get_instructions(c, show_caches=True):\n    print(i.offset // 2, i.positions.lineno)',
    ],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n');
  const [first, hex] = co[0].split(' ');
  const table = Buffer.from(hex, 'hex');
  let checked = 0;
  for (const l of co.slice(1)) {
    const [idx, line] = l.split(' ');
    const want = line === 'None' ? undefined : Number(line);
    assert.equal(lineOfPep657(table, Number(first), Number(idx)), want, `code unit ${idx}`);
    checked++;
  }
  assert.ok(checked > 5);
  assert.equal(lineOfPep657(Buffer.from([0x01, 0x02]), 1, 0), undefined, 'a corrupt table gives no line');
});

test('CPython 3.13: the layout read from the binary (_Py_DebugOffsets) is the one of the table', (t) => {
  const lib = path.join(process.env.PYENV_ROOT ?? '/root/.pyenv', 'versions', '3.13.0', 'lib', 'libpython3.13.so.1.0');
  if (!fs.existsSync(lib)) {
    t.skip(`no CPython 3.13 with a shared libpython at ${lib}`);
    return;
  }
  const info = readPyObject(lib);
  assert.ok(info, 'libpython3.13 is an interpreter');
  assert.equal(info.version, '3.13');
  assert.equal(info.layoutFrom, 'debug-offsets');
  assert.deepEqual(info.layout, pyLayout('3.13'));
  const bad = Buffer.alloc(DEBUG_OFFSETS_SIZE);
  assert.equal(layoutFromDebugOffsets(bad), undefined, 'no cookie: not read');
});

test('python frames: a Python process started during a host-wide capture', { skip: ROOT_SKIP || interpreters()[1].skip, timeout: 120000 }, async (t) => {
  const bin = interpreters()[1].bin!;
  const h = openProfile({ frequency: 199, unwind: 'cfi', userStacksOnly: true }, createSymbolizer());
  try {
    // the host's tables first (the capture started with every process of the host)
    await tablesReady(h);
    h.drain();
    const { child, done, go, ready } = run(bin, ['-u', script()]);
    await ready;
    go();
    const d = await drainUntil(h, done);
    const pid = child.pid!;
    let main = 0;
    let named = 0;
    const other = new Map<string, number>();
    for (const r of d.records) {
      if (r.pid !== pid || r.tid !== pid) continue;
      main += r.value;
      if (py(r).join(';').startsWith('<module>;pyf_outer')) named += r.value;
      else other.set(r.user.map((f) => f.name).join(';'), (other.get(r.user.map((f) => f.name).join(';')) ?? 0) + r.value);
    }
    t.diagnostic(
      `started during the capture: ${named} of ${main} main-thread samples under <module>;pyf_outer; others ${JSON.stringify([...other].sort((a, b) => b[1] - a[1]).slice(0, 3))}; loss ${JSON.stringify(d.loss)}; ${JSON.stringify(h.unwind?.())}`,
    );
    assert.ok(main > 60, `samples of the new process: ${main}`);
    assert.ok(named >= main * 0.8, `${named} of ${main} samples have the Python frames`);
  } finally {
    h.close();
  }
});

test('python frames: an unsupported CPython (3.7) is counted and keeps its native frames', { timeout: 120000, skip: ROOT_SKIP }, async (t) => {
  const bin = path.join(process.env.PYENV_ROOT ?? '/root/.pyenv', 'versions', '3.7.16', 'bin', 'python3.7');
  if (!fs.existsSync(bin)) {
    t.skip(`no CPython 3.7 at ${bin} (an interpreter older than the layouts, 3.8-3.13)`);
    return;
  }
  const { d, pid, info } = await capture(bin, (p) => openProfile({ pid: [p], frequency: 199, unwind: 'cfi', userStacksOnly: true }, createSymbolizer()));
  let total = 0;
  let evalFrames = 0;
  let pyFrames = 0;
  for (const r of d.records) {
    if (r.pid !== pid) continue;
    total += r.value;
    if (r.user.some((f) => f.name === '_PyEval_EvalFrameDefault')) evalFrames += r.value;
    if (r.user.some((f) => f.kind === 'python')) pyFrames += r.value;
  }
  t.diagnostic(`3.7: ${total} samples, ${evalFrames} with _PyEval_EvalFrameDefault, loss ${JSON.stringify(d.loss)}, ${JSON.stringify(info?.python)}`);
  assert.ok(total > 30, `samples: ${total}`);
  assert.equal(pyFrames, 0, 'no Python frames read with a guessed layout');
  assert.ok(evalFrames >= total * 0.8, `native interpreter frames stay: ${evalFrames} of ${total}`);
  assert.ok((d.loss.pythonUnsupported ?? 0) >= total * 0.8, `counted as unsupported: ${d.loss.pythonUnsupported} of ${total}`);
});
