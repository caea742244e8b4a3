/** offwaketime: the blocked thread's stacks plus its waker's stacks and comm, µs blocked. */
import type { Symbolizer } from '../symbolize/types.js';
import type { OffwaketimeOptions, StackDelta, ToolHandle } from './types.js';
import { OFFWAKE_KEY_SIZE, readComm, STACK_NOT_COLLECTED } from './layout.js';
import { decodeBlocked, openSwitchTool } from './offcpu-common.js';

export function openOffwaketime(opts: OffwaketimeOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  return openSwitchTool('offwaketime', opts, sym, OFFWAKE_KEY_SIZE, (k, o, value, stacks) => {
    const rec = decodeBlocked(k, o, value, stacks);
    const wpid = k.readUInt32LE(o + 32);
    const wcomm = readComm(k, o + 48);
    const wu = k.readInt32LE(o + 40);
    const wk = k.readInt32LE(o + 44);
    // waker not seen (e.g. woken before the capture, or by an interrupt with no task): no waker part
    if (wpid !== 0 || wcomm !== '' || wu !== STACK_NOT_COLLECTED || wk !== STACK_NOT_COLLECTED) {
      rec.waker = stacks.thread(wpid, k.readUInt32LE(o + 36), wcomm, wu, wk);
    }
    return rec;
  });
}
