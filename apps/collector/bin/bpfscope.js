#!/usr/bin/env node
// bpfscope CLI shim: runs the built CLI (dist/cli/main.js) when the package is built and the build
// is not older than the sources, else the TypeScript source through tsx with the "source" export
// condition (dev tree, no build step). BPFSCOPE_FROM_SOURCE=1 forces the source.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const built = join(pkg, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);

function newestSource(dir) {
  let newest = 0;
  try {
    for (const f of readdirSync(dir, { recursive: true })) {
      if (typeof f === 'string' && f.endsWith('.ts')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
    }
  } catch {
    return Infinity;
  }
  return newest;
}

// When the build ran last: `tsc -b` rewrites its build info on every build but leaves unchanged outputs
// (such as dist/cli/main.js) untouched, so the later of the two tells whether dist matches src.
function builtAt() {
  let t = statSync(built).mtimeMs;
  const info = join(pkg, 'tsconfig.tsbuildinfo');
  if (existsSync(info)) t = Math.max(t, statSync(info).mtimeMs);
  return t;
}

const useBuilt = !process.env.BPFSCOPE_FROM_SOURCE && existsSync(built) && builtAt() >= newestSource(join(pkg, 'src'));

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
