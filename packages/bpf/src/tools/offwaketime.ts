/** offwaketime: the blocked thread's stacks plus its waker's stacks and comm, µs blocked. */
import type { Symbolizer } from '../symbolize/types.js';
import type { OffwaketimeOptions, StackDelta, StackRecord, ToolHandle } from './types.js';
import { OFFWAKE_KEY_SIZE, readComm, STACK_NOT_COLLECTED } from './layout.js';
import { openSwitchTool } from './offcpu-common.js';

export function openOffwaketime(opts: OffwaketimeOptions, sym: Symbolizer): ToolHandle<StackDelta> {
  return openSwitchTool('offwaketime', opts, sym, OFFWAKE_KEY_SIZE, (k, o, value, stacks) => {
    const pid = k.readUInt32LE(o);
    const u = stacks.user(pid, k.readInt32LE(o + 8));
    const ks = stacks.kernel(k.readInt32LE(o + 12));
    const rec: StackRecord = { pid, tid: k.readUInt32LE(o + 4), comm: readComm(k, o + 16), user: u.frames, kernel: ks.frames, value };
    if (u.missing) rec.userMissing = true;
    if (ks.missing) rec.kernelMissing = true;
    const wpid = k.readUInt32LE(o + 32);
    const wcomm = readComm(k, o + 48);
    const wu = k.readInt32LE(o + 40);
    const wk = k.readInt32LE(o + 44);
    // waker not seen (e.g. woken before the capture, or by an interrupt with no task): no waker part
    if (wpid !== 0 || wcomm !== '' || wu !== STACK_NOT_COLLECTED || wk !== STACK_NOT_COLLECTED) {
      const wus = stacks.user(wpid, wu);
      const wks = stacks.kernel(wk);
      rec.waker = { pid: wpid, tid: k.readUInt32LE(o + 36), comm: wcomm, user: wus.frames, kernel: wks.frames };
      if (wus.missing) rec.waker.userMissing = true;
      if (wks.missing) rec.waker.kernelMissing = true;
    }
    return rec;
  });
}
