/** Stop handling shared by the CLI tools: SIGINT/SIGTERM (through CliIO.onStop) cut a wait short. */
import type { CliIO } from './run.js';

/** Waits until `ms` passed or a stop was requested; true when stopped. */
export function stopper(io: CliIO): { stopped: () => boolean; wait: (ms: number) => Promise<boolean>; dispose: () => void } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const unsub = io.onStop(() => {
    stopped = true;
    wake?.();
  });
  return {
    stopped: () => stopped,
    wait: (ms) =>
      stopped
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const t = setTimeout(() => {
              wake = undefined;
              resolve(stopped);
            }, ms);
            wake = () => {
              clearTimeout(t);
              wake = undefined;
              resolve(true);
            };
          }),
    dispose: unsub,
  };
}
