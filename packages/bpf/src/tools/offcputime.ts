/** offcputime: blocked time in µs per (pid, tid, comm, user stack, kernel stack). */
import type { Symbolizer } from '../symbolize/types.js';
import type { OffcpuOptions, StackDelta, StackRecord, ToolHandle } from './types.js';
import { OFFCPU_KEY_SIZE, readComm } from './layout.js';
import { openSwitchTool } from './offcpu-common.js';

export function openOffcputime(opts: OffcpuOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  return openSwitchTool('offcputime', opts, sym, OFFCPU_KEY_SIZE, (k, o, value, stacks) => {
    const pid = k.readUInt32LE(o);
    const u = stacks.user(pid, k.readInt32LE(o + 8));
    const ks = stacks.kernel(k.readInt32LE(o + 12));
    const rec: StackRecord = { pid, tid: k.readUInt32LE(o + 4), comm: readComm(k, o + 16), user: u.frames, kernel: ks.frames, value };
    if (u.missing) rec.userMissing = true;
    if (ks.missing) rec.kernelMissing = true;
    return rec;
  });
}
