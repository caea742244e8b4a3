#!/usr/bin/env node
// bpfscope CLI shim: runs the built CLI (dist/cli/main.js) when the collector and every workspace
// package it imports (@bpfscope/bpf, @bpfscope/viz) are built and no build is older than its
// sources, else the TypeScript sources through tsx with the "source" export condition (dev tree, no
// build step: every package then runs from src). BPFSCOPE_FROM_SOURCE=1 forces the sources.
// BPF objects older than their C sources are rebuilt first (packages/bpf/build-bpf.sh, as a missing
// one is): running from source would still load them.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { staleBpfObjects, staleTypeScript, workspacePackages } from './freshness.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const root = join(pkg, '..', '..');
const built = join(pkg, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const packages = workspacePackages(pkg);

const bpfDir = packages.find((d) => existsSync(join(d, 'build-bpf.sh')));
const staleBpf = bpfDir && staleBpfObjects(bpfDir, root);
if (staleBpf) {
  const script = join(bpfDir, 'build-bpf.sh');
  // its progress lines would mix with the CLI's output on stdout: kept, shown only on failure
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const what = `the BPF objects of ${staleBpf.tools.join(', ')} are older than their sources (${staleBpf.why})`;
  // another bpfscope started at the same moment may have rebuilt them meanwhile
  if (r.status !== 0 && staleBpfObjects(bpfDir, root)) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim();
    process.stderr.write(
      `bpfscope: ${what} and rebuilding them failed${out ? `:\n${out}` : ''}\n` +
        `Run \`bash ${relative(process.cwd(), script) || script}\` (needs clang, bpftool and libbpf-dev) or \`npm run build\`, then try again.\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`bpfscope: ${what}: rebuilt them (${relative(root, script)})\n`);
}

const useBuilt = !process.env.BPFSCOPE_FROM_SOURCE && existsSync(built) && packages.every((d) => staleTypeScript(d, root) === undefined);

if (useBuilt) {
  const m = await import(pathToFileURL(built).href);
  await m.runAsProgram(args);
} else {
  const src = join(pkg, 'src', 'cli', 'main.ts');
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', src, ...args], {
    stdio: 'inherit',
    cwd: process.cwd(),
  });
  // forward stop requests; a terminal's Ctrl-C reaches both processes, the child treats repeats as one
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (child.exitCode === null) child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    // a child killed by a signal: exit like a shell reports it (our own handlers would swallow a re-raise)
    process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
  });
}
