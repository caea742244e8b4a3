/** Helpers of the CFI walker's tests: workloads built without frame pointers, the table source. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { drainUntil, tmpDir, sleep } from './helpers.js';
import { setUnwindTableSource } from '../src/unwind/session.js';
import { UnwindTables } from '../src/unwind/tables.js';
import { openProfile, type Symbolizer, type ToolHandle, type StackDelta, type UnwindInfo } from '../src/index.js';

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

/**
 * Wait until the unwinder has loaded the tables of the processes it knows (≤ 20 s) and the tool
 * records (`ready`: a stack tool attaches only once the tables are loaded, a moment after they show
 * here; a workload let go before that loses its first events).
 */
export async function tablesReady(h: Pick<ToolHandle<StackDelta>, 'unwind' | 'ready'>): Promise<void> {
  for (let i = 0; ; i++) {
    const u = h.unwind?.();
    if (!u || (u.pending === 0 && u.tables > 0)) break;
    if (i === 400) throw new Error(`unwind tables not ready after 20 s: ${JSON.stringify(u)}`);
    await sleep(50);
  }
  await h.ready;
}

/**
 * Profile a gated workload (from run(); its ready is awaited here) with the CFI walker, user stacks
 * only, at `frequency` Hz until it exits: the gate opens once the process's unwind tables are
 * loaded. Returns the drained delta, the unwinder's info from when the tables were loaded (`loaded`:
 * the workload's tables and their errors; once it has exited the unwinder soon forgets it) and the
 * open handle (the caller closes it); on a failure the handle is closed and the workload killed
 * before the error is thrown.
 */
export async function profileCfi(
  w: { child: ChildProcess; ready: Promise<void>; go: () => void; done: Promise<number> },
  sym: Symbolizer,
  frequency: number,
): Promise<{ h: ToolHandle<StackDelta>; d: StackDelta; loaded: UnwindInfo | undefined }> {
  await w.ready;
  const h = openProfile({ pid: [w.child.pid!], frequency, unwind: 'cfi', userStacksOnly: true }, sym);
  try {
    await tablesReady(h);
    const loaded = h.unwind?.();
    w.go();
    return { h, d: await drainUntil(h, w.done), loaded };
  } catch (e) {
    h.close();
    w.child.kill('SIGKILL');
    throw e;
  }
}
