/**
 * Turns a drained StackRecord into the frames of one folded line, root first, the way bcc's tools
 * print them with -f (checked against bcc's tools/*.py):
 *
 *   profile, offcputime:  comm;user root..leaf[;-];kernel root..leaf
 *   wakeuptime:           waker comm;waker kernel root..leaf;target comm
 *   offwaketime:          target comm;target user root..leaf[;-];target kernel root..leaf;--;
 *                         waker kernel leaf..root[;-];waker user leaf..root;waker comm
 *
 * offwaketime puts the waker's stack after `--` upside down (leaf first) so the waker sits on top
 * of the blocked stack in a chain graph, as bcc does. wakeuptime (bcc) starts with the waker comm,
 * then the waker's kernel stack root first, and puts the blocked target's comm on top (the leaf):
 * the flame graph reads "who woke whom, through which kernel path".
 *
 * `-` (with -d) is only put between two stacks that were both collected and found, like bcc
 * (which tests both stack ids >= 0): never next to a missing or absent stack.
 */
import type { StackRecord } from '@bpfscope/bpf';
import type { ToolName } from '@bpfscope/viz/tools';
import type { FrameKind } from '@bpfscope/viz';

export interface FoldFrame {
  name: string;
  kind: FrameKind;
  /** source position, when the symbolizer knew it (DWARF lines, Python frames): not part of the folded text */
  file?: string;
  line?: number;
}

export interface FoldOptions {
  /** bcc -d: put `-` between user and kernel frames. */
  delimited?: boolean;
}

const MISSED_USER = '[Missed User Stack]';
const MISSED_KERNEL = '[Missed Kernel Stack]';

type Side = { user: StackRecord['user']; kernel: StackRecord['kernel']; userMissing?: boolean; kernelMissing?: boolean };

function userPart(s: Side): FoldFrame[] {
  if (s.userMissing) return [{ name: MISSED_USER, kind: 'unknown' }];
  return s.user.map((f) => (f.line !== undefined && f.file ? { name: f.name, kind: f.kind, file: f.file, line: f.line } : { name: f.name, kind: f.kind }));
}

function kernelPart(s: Side): FoldFrame[] {
  if (s.kernelMissing) return [{ name: MISSED_KERNEL, kind: 'unknown' }];
  return s.kernel.map((f) => (f.line !== undefined && f.file ? { name: f.name, kind: f.kind, file: f.file, line: f.line } : { name: f.name, kind: f.kind }));
}

/** user frames then kernel frames (both root first), with `-` between them when asked and both exist. */
function taskStack(s: Side, opts: FoldOptions): FoldFrame[] {
  const u = userPart(s);
  const k = kernelPart(s);
  const bothFound = s.user.length > 0 && s.kernel.length > 0 && !s.userMissing && !s.kernelMissing;
  if (opts.delimited && bothFound) return [...u, { name: '-', kind: 'separator' }, ...k];
  return [...u, ...k];
}

export function foldRecord(tool: ToolName, rec: StackRecord, opts: FoldOptions = {}): FoldFrame[] {
  const comm: FoldFrame = { name: rec.comm, kind: 'comm' };
  switch (tool) {
    case 'profile':
    case 'offcputime':
      return [comm, ...taskStack(rec, opts)];
    case 'wakeuptime': {
      const w = rec.waker;
      if (!w) return [comm];
      return [{ name: w.comm, kind: 'comm' }, ...taskStack(w, opts), comm];
    }
    case 'offwaketime': {
      const out: FoldFrame[] = [comm, ...taskStack(rec, opts)];
      const w = rec.waker;
      if (w) {
        out.push({ name: '--', kind: 'separator' });
        out.push(...taskStack(w, opts).reverse());
        out.push({ name: w.comm, kind: 'comm' });
      }
      return out;
    }
    case 'stackcount':
      return [comm, ...taskStack(rec, opts)];
    case 'funccount':
      // one frame per probe (see the engine's funccount opener): the function or tracepoint itself
      return taskStack(rec, opts);
    case 'biolatency':
    case 'funclatency':
    case 'runqlat':
      throw new Error(`${tool} has no stacks to fold`);
  }
}

/** A folded line's text: frames joined by `;`, a space, the value. `;` in names is replaced by `:` so the line stays parseable. */
export function foldedLine(frames: readonly FoldFrame[], value: number): string {
  return `${frames.map((f) => f.name.replace(/;/g, ':').replace(/[\r\n]/g, ' ')).join(';')} ${value}`;
}
