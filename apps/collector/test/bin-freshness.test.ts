/**
 * bin/bpfscope.js runs the built CLI only when the collector and every workspace package it imports
 * are built from the sources in the tree, and rebuilds BPF objects older than their C sources. Run
 * here on a small stand-in tree (the real bin files, stub builds and sources whose only job is to say
 * which one ran), with file times set by hand: no dependence on when this checkout was built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript (the bin runs before any TypeScript loader), no declarations
import { staleBpfObjects, staleTypeScript, workspacePackages } from '../bin/freshness.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(REPO, 'apps/collector/bin');

const OLD = new Date('2026-01-01T00:00:00Z');
const NEW = new Date('2026-01-02T00:00:00Z');
const NEWER = new Date('2026-01-03T00:00:00Z');

function write(root: string, rel: string, text: string, at: Date): string {
  const f = path.join(root, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  fs.utimesSync(f, at, at);
  return f;
}
const touch = (root: string, rel: string, at: Date) => fs.utimesSync(path.join(root, rel), at, at);

/** A workspace like the repository's: sources at OLD, builds at NEW. */
function standIn(buildScript: 'ok' | 'fails' = 'ok'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-bin-'));
  for (const f of ['bpfscope.js', 'freshness.js']) write(root, `apps/collector/bin/${f}`, fs.readFileSync(path.join(BIN, f), 'utf8'), OLD);
  write(
    root,
    'apps/collector/package.json',
    JSON.stringify({ name: '@bpfscope/collector', type: 'module', dependencies: { '@bpfscope/bpf': '0.1.0', '@bpfscope/viz': '0.1.0', ws: '^8' } }),
    OLD,
  );
  write(root, 'apps/collector/src/cli/main.ts', "const from: string = 'source';\nconsole.log(from, JSON.stringify(process.argv.slice(2)));\n", OLD);
  write(root, 'apps/collector/dist/cli/main.js', "export async function runAsProgram(args) { console.log('built', JSON.stringify(args)); }\n", NEW);
  write(root, 'apps/collector/dist/index.js', 'export {};\n', NEW);
  for (const p of ['bpf', 'viz']) {
    write(root, `packages/${p}/package.json`, JSON.stringify({ name: `@bpfscope/${p}`, type: 'module' }), OLD);
    write(root, `packages/${p}/src/index.ts`, 'export const x = 1;\n', OLD);
    write(root, `packages/${p}/src/deep/more.ts`, 'export const y = 2;\n', OLD);
    write(root, `packages/${p}/dist/index.js`, 'export const x = 1;\n', NEW);
    fs.mkdirSync(path.join(root, 'node_modules/@bpfscope'), { recursive: true });
    fs.symlinkSync(`../../packages/${p}`, path.join(root, `node_modules/@bpfscope/${p}`));
  }
  write(root, 'packages/bpf/src/c/profile.bpf.c', '// profile\n', OLD);
  write(root, 'packages/bpf/src/c/biolatency.bpf.c', '// biolatency\n', OLD);
  write(root, 'packages/bpf/src/c/common.h', '// shared\n', OLD);
  write(root, 'packages/bpf/build/vmlinux.h', '// vmlinux\n', OLD);
  write(root, 'packages/bpf/build/profile.bpf.o', 'obj', NEW);
  write(root, 'packages/bpf/build/biolatency.bpf.o', 'obj', NEW);
  write(
    root,
    'packages/bpf/build-bpf.sh',
    buildScript === 'ok'
      ? 'here=$(dirname "$0")\necho "build-bpf.sh: built build/profile.bpf.o"\ntouch "$here"/build/*.bpf.o\n'
      : 'echo "build-bpf.sh: \'clang\' not found; install it (apt-get install -y clang bpftool)" >&2\nexit 1\n',
    OLD,
  );
  return root;
}

function run(root: string, env: Record<string, string> = {}) {
  // cwd: the repository, so the from-source path finds tsx as it does in a checkout
  const r = spawnSync(process.execPath, [path.join(root, 'apps/collector/bin/bpfscope.js'), 'profile', '-F', '99'], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, BPFSCOPE_FROM_SOURCE: '', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('freshness: packages found behind node_modules links; a newer source anywhere under src, or a missing dist, makes a package stale', () => {
  const root = standIn();
  try {
    const pkgs: string[] = workspacePackages(path.join(root, 'apps/collector'));
    const real = fs.realpathSync(root);
    assert.deepEqual(pkgs, [path.join(root, 'apps/collector'), path.join(real, 'packages/bpf'), path.join(real, 'packages/viz')]);
    for (const d of pkgs) assert.equal(staleTypeScript(d, root), undefined, d);
    touch(root, 'packages/viz/src/deep/more.ts', NEWER);
    assert.equal(staleTypeScript(path.join(root, 'packages/viz'), root), 'packages/viz/src/deep/more.ts is newer than packages/viz/dist');
    // a build after the edit (tsc -b rewrites the build info even when it leaves dist/index.js alone)
    write(root, 'packages/viz/tsconfig.tsbuildinfo', '{}', NEWER);
    assert.equal(staleTypeScript(path.join(root, 'packages/viz'), root), undefined);
    fs.rmSync(path.join(root, 'packages/bpf/dist'), { recursive: true });
    assert.equal(staleTypeScript(path.join(root, 'packages/bpf'), root), 'packages/bpf/dist is not built');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('freshness: a BPF object older than its .bpf.c, a shared header or vmlinux.h is stale; a missing one is left to the package', () => {
  const root = standIn();
  const bpf = path.join(root, 'packages/bpf');
  try {
    assert.equal(staleBpfObjects(bpf, root), undefined);
    touch(root, 'packages/bpf/src/c/profile.bpf.c', NEWER);
    assert.deepEqual(staleBpfObjects(bpf, root), {
      tools: ['profile'],
      why: 'packages/bpf/src/c/profile.bpf.c is newer than packages/bpf/build/profile.bpf.o',
    });
    touch(root, 'packages/bpf/src/c/profile.bpf.c', OLD);
    touch(root, 'packages/bpf/src/c/common.h', NEWER);
    assert.deepEqual(staleBpfObjects(bpf, root)?.tools.sort(), ['biolatency', 'profile']);
    touch(root, 'packages/bpf/src/c/common.h', OLD);
    touch(root, 'packages/bpf/build/vmlinux.h', NEWER);
    assert.match(staleBpfObjects(bpf, root)?.why ?? '', /^packages\/bpf\/build\/vmlinux\.h is newer than packages\/bpf\/build\/\w+\.bpf\.o$/);
    touch(root, 'packages/bpf/build/vmlinux.h', OLD);
    fs.rmSync(path.join(root, 'packages/bpf/build/profile.bpf.o'));
    assert.equal(staleBpfObjects(bpf, root), undefined, 'built on first use by the package, which says what to install when it cannot');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('bin: the built CLI when everything is current; the sources when any workspace package is stale, unbuilt or BPFSCOPE_FROM_SOURCE is set', () => {
  const root = standIn();
  try {
    assert.deepEqual(run(root), { code: 0, stdout: 'built ["profile","-F","99"]\n', stderr: '' });
    touch(root, 'packages/viz/src/index.ts', NEWER);
    assert.deepEqual(run(root), { code: 0, stdout: 'source ["profile","-F","99"]\n', stderr: '' }, 'a stale @bpfscope/viz');
    touch(root, 'packages/viz/src/index.ts', OLD);
    touch(root, 'packages/bpf/src/deep/more.ts', NEWER);
    assert.equal(run(root).stdout, 'source ["profile","-F","99"]\n', 'a stale @bpfscope/bpf');
    touch(root, 'packages/bpf/src/deep/more.ts', OLD);
    touch(root, 'apps/collector/src/cli/main.ts', NEWER);
    assert.equal(run(root).stdout, 'source ["profile","-F","99"]\n', 'a stale collector');
    touch(root, 'apps/collector/src/cli/main.ts', OLD);
    assert.equal(run(root).stdout, 'built ["profile","-F","99"]\n');
    assert.equal(run(root, { BPFSCOPE_FROM_SOURCE: '1' }).stdout, 'source ["profile","-F","99"]\n');
    fs.rmSync(path.join(root, 'packages/viz/dist'), { recursive: true });
    assert.equal(run(root).stdout, 'source ["profile","-F","99"]\n', 'an unbuilt @bpfscope/viz');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('bin: BPF objects older than their C sources are rebuilt first (output kept off stdout); when that fails, what to run, exit 1', () => {
  const ok = standIn('ok');
  const fails = standIn('fails');
  try {
    touch(ok, 'packages/bpf/src/c/profile.bpf.c', NEWER);
    const r = run(ok);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'built ["profile","-F","99"]\n', 'the CLI output only');
    assert.equal(
      r.stderr,
      'bpfscope: the BPF objects of profile are older than their sources (packages/bpf/src/c/profile.bpf.c is newer than packages/bpf/build/profile.bpf.o): rebuilt them (packages/bpf/build-bpf.sh)\n',
    );
    assert.deepEqual(run(ok), { code: 0, stdout: 'built ["profile","-F","99"]\n', stderr: '' }, 'once');

    touch(fails, 'packages/bpf/src/c/common.h', NEWER);
    const f = run(fails);
    assert.equal(f.code, 1);
    assert.equal(f.stdout, '', 'the CLI did not run on stale objects');
    const script = path.relative(REPO, path.join(fails, 'packages/bpf/build-bpf.sh'));
    assert.equal(
      f.stderr,
      'bpfscope: the BPF objects of biolatency, profile are older than their sources (packages/bpf/src/c/common.h is newer than packages/bpf/build/biolatency.bpf.o) and rebuilding them failed:\n' +
        "build-bpf.sh: 'clang' not found; install it (apt-get install -y clang bpftool)\n" +
        `Run \`bash ${script}\` (needs clang, bpftool and libbpf-dev) or \`npm run build\`, then try again.\n`,
    );
  } finally {
    fs.rmSync(ok, { recursive: true, force: true });
    fs.rmSync(fails, { recursive: true, force: true });
  }
});
