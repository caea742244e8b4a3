/**
 * drainAsync for every tool handle: the drainers' switch + wait run with the event loop going on
 * (prepareAsync), then the handle's own drain() reads and decodes in the same turn. Drains are
 * serialized, and close() during an in-flight drain is deferred until its read is done, so the
 * object is never destroyed between switch and read.
 */
import { BpfError } from '../errors.js';
import type { HashDrainer } from '../maps.js';

const EBADF = 9;

export function withDrainAsync<D, H extends { readonly tool: string; drain(): D; close(): void }>(
  handle: H,
  drainers: readonly HashDrainer[],
): H & { drainAsync(): Promise<D> } {
  const h = handle as H & { drainAsync(): Promise<D> };
  const closeNow = handle.close.bind(handle);
  const drainNow = handle.drain.bind(handle);
  let inflight: Promise<void> | undefined;
  let closeRequested = false;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeNow();
  };
  h.drainAsync = (): Promise<D> => {
    const run = async (): Promise<D> => {
      if (closeRequested) throw new BpfError({ errno: EBADF, message: `${handle.tool}: drain after close` });
      for (const d of drainers) await d.prepareAsync();
      // the same turn as the wait's end: nothing else drains or closes before this read
      return drainNow();
    };
    const p = inflight ? inflight.then(run) : run();
    const settled: Promise<void> = p.then(
      () => {},
      () => {},
    );
    inflight = settled;
    settled.then(() => {
      if (inflight !== settled) return;
      inflight = undefined;
      if (closeRequested) close();
    });
    return p;
  };
  h.close = (): void => {
    closeRequested = true;
    if (!inflight) close();
  };
  return h;
}
