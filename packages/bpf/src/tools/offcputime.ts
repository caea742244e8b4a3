/** offcputime: blocked time in µs per (pid, tid, comm, user stack, kernel stack). */
import type { Symbolizer } from '../symbolize/types.js';
import type { OffcpuOptions, StackDelta, ToolHandle } from './types.js';
import { OFFCPU_KEY_SIZE } from './layout.js';
import { decodeBlocked, openSwitchTool } from './offcpu-common.js';

export function openOffcputime(opts: OffcpuOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  return openSwitchTool('offcputime', opts, sym, OFFCPU_KEY_SIZE, decodeBlocked);
}
