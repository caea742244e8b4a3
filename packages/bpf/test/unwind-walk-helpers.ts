/** Helpers of the CFI walker's tests: workloads built without frame pointers, the table source. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir, sleep } from './helpers.js';
import { setUnwindTableSource } from '../src/unwind/session.js';
import { UnwindTables } from '../src/unwind/tables.js';
import type { ToolHandle, StackDelta } from '../src/index.js';

/** gcc -O2 -fomit-frame-pointer (how distributions build); returns the binary path. */
export function buildNoFp(name: string, source: string, extra: string[] = []): string {
  const dir = tmpDir();
  const src = path.join(dir, `${name}.c`);
  const bin = path.join(dir, name);
  fs.writeFileSync(src, source);
  execFileSync('gcc', ['-O2', '-g', '-fomit-frame-pointer', '-pthread', '-o', bin, src, ...extra], { stdio: 'pipe' });
  return bin;
}

/** The real table generator (worker thread), without a disk cache: every test run generates. */
export function useTestTables(): void {
  setUnwindTableSource(new UnwindTables({}));
}

/** Wait until the unwinder has loaded the tables of the processes it knows (≤ 20 s). */
export async function tablesReady(h: Pick<ToolHandle<StackDelta>, 'unwind'>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const u = h.unwind?.();
    if (!u || (u.pending === 0 && u.tables > 0)) return;
    await sleep(50);
  }
  throw new Error(`unwind tables not ready after 20 s: ${JSON.stringify(h.unwind?.())}`);
}
