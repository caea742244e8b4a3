/** wakeuptime: per blocked target, the waker's stacks and comm, with the time blocked in µs. */
import type { Symbolizer } from '../symbolize/types.js';
import type { StackDelta, ToolHandle, WakeuptimeOptions } from './types.js';
import { WAKEUP_KEY_SIZE, readComm } from './layout.js';
import { openSwitchTool } from './offcpu-common.js';

export function openWakeuptime(opts: WakeuptimeOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  return openSwitchTool('wakeuptime', opts, sym, WAKEUP_KEY_SIZE, (k, o, value, stacks) => {
    const waker = stacks.thread(k.readUInt32LE(o + 8), k.readUInt32LE(o + 12), readComm(k, o + 40), k.readInt32LE(o + 16), k.readInt32LE(o + 20));
    return { pid: k.readUInt32LE(o), tid: k.readUInt32LE(o + 4), comm: readComm(k, o + 24), user: [], kernel: [], waker, value };
  });
}
