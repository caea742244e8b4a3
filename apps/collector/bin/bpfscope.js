#!/usr/bin/env node
// bpfscope CLI shim: runs the built CLI (dist/cli/main.js) when the package is built, else the
// TypeScript source through tsx with the "source" export condition (dev tree, no build step).
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, '..', 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);

if (existsSync(built) && !process.env.BPFSCOPE_FROM_SOURCE) {
  const m = await import(pathToFileURL(built).href);
  await m.runAsProgram(args);
} else {
  const src = join(here, '..', 'src', 'cli', 'main.ts');
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
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
